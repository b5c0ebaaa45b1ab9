// Bundles the console into OUT_DIR: index.html, app.<hash>.js and app.<hash>.css. The hashes are
// of the content, so the worker may let browsers cache those two for good; index.html names them.
import { build } from "esbuild";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const outArg = process.argv[2];
if (!outArg) {
  console.error("usage: node build.mjs OUT_DIR");
  process.exit(2);
}
const out = path.resolve(outArg);
// OUT_DIR is wiped: refuse one that holds the sources (or is /).
if (!path.relative(out, here).startsWith("..")) {
  console.error(`build.mjs: refusing to wipe ${out}: it holds ${here}`);
  process.exit(2);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const result = await build({
  entryPoints: { app: path.join(here, "src/main.ts"), "app-style": path.join(here, "src/app.css") },
  outdir: out,
  entryNames: "app.[hash]",
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2020",
  legalComments: "none",
  metafile: true,
  logLevel: "error",
});

const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file));
const named = (ext) => {
  const found = outputs.filter((file) => file.endsWith(ext));
  if (found.length !== 1) throw new Error(`expected one ${ext} output, got ${found.join(", ")}`);
  return found[0];
};
const html = readFileSync(path.join(here, "src/index.html"), "utf8")
  .replace("__APP_JS__", named(".js"))
  .replace("__APP_CSS__", named(".css"));
writeFileSync(path.join(out, "index.html"), html);
