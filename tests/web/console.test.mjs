// The web console in a real browser (Debian's Chromium through playwright-core) against three
// running members: hide and reveal a message and a password-protected file, the capacity meter,
// the cluster table with a pause seen from another member, the cover library (upload, hide in a
// library cover, delete with and without the admin key), the jobs ledger, a leadership transfer,
// an isolation, an axe audit of each tab, and no console error or warning.
//
//   CONSOLE_URLS=http://127.0.0.1:8081,http://127.0.0.1:8082,http://127.0.0.1:8083 \
//   ADMIN_KEY=... [SCREENSHOT_DIR=dir] node tests/web/console.test.mjs
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";

const webRequire = createRequire(new URL("../../web/package.json", import.meta.url));
const { chromium } = webRequire("playwright-core");
const axeSource = await readFile(webRequire.resolve("axe-core/axe.min.js"), "utf8");

const urls = (process.env.CONSOLE_URLS ?? "").split(",").map((u) => u.trim().replace(/\/+$/, "")).filter(Boolean);
const adminKey = process.env.ADMIN_KEY ?? "";
const screenshotDir = process.env.SCREENSHOT_DIR ?? "";
if (urls.length !== 3 || !adminKey) {
  console.error("needs CONSOLE_URLS (three members' base URLs, comma-separated) and ADMIN_KEY");
  process.exit(2);
}

const WAIT_MS = 30_000;
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 375, height: 812 };
const CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Retries an assertion until it holds or WAIT_MS passes: cluster events take their time. */
async function eventually(check, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await delay(250);
    }
  }
}

/**
 * Console errors and warnings, and uncaught exceptions. Chromium also logs every 4xx/5xx answer as
 * "Failed to load resource"; the ones this test provokes on purpose are allowed: `allowed` says
 * which (status, URL) pairs.
 */
function watchConsole(page, problems, allowed) {
  page.on("console", (message) => {
    if (message.type() !== "error" && message.type() !== "warning") return;
    const failed = /^Failed to load resource: the server responded with a status of (\d+)/.exec(message.text());
    if (failed && allowed(Number(failed[1]), message.location().url)) return;
    problems.push(`${message.type()}: ${message.text()} (${message.location().url})`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
}

async function audit(page, tab) {
  // Evaluated through DevTools, so the page's CSP (which would block an injected script) applies
  // to the page alone, as it does for a person.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(`${axeSource}\n;0`);
  const { violations } = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(serious.map((v) => `${tab}: ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`), []);
}

async function screenshot(page, name) {
  if (!screenshotDir) return;
  await mkdir(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, name), fullPage: true });
}

async function text(locator) {
  return ((await locator.textContent()) ?? "").trim();
}

let downloads = 0;

/** Clicks a download link and answers the download's name and bytes (saved under its own name). */
async function download(page, selector, dir) {
  const [file] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  const folder = path.join(dir, `download-${++downloads}`);
  await mkdir(folder);
  const saved = path.join(folder, file.suggestedFilename());
  await file.saveAs(saved);
  return { name: file.suggestedFilename(), path: saved, bytes: await readFile(saved) };
}

/** Submits the Hide form and waits for a result newer than the one on screen. */
async function hideAndWait(page) {
  const before = await page.getAttribute("#hide-download", "href");
  await page.click("#hide-submit");
  await eventually(async () => {
    assert.match(await text(page.locator("#hide-status")), /^Done: /);
    assert.notEqual(await page.getAttribute("#hide-download", "href"), before);
  }, 60_000);
}

async function reveal(page, image, password) {
  await page.click("#tab-reveal");
  await page.setInputFiles("#reveal-file", image);
  await page.fill("#reveal-password", password);
  await page.click("#reveal-submit");
}

describe("web console", { timeout: 5 * 60_000 }, () => {
  let browser;
  let context;
  let page;
  let work;
  let hidden;
  let servingMember;
  let libraryCover;
  let libraryEmbed;
  const problems = [];
  const [first, second] = urls;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), "console-test-"));
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
    context.setDefaultTimeout(WAIT_MS);
    page = await context.newPage();
    // Wrong passwords answer 422 on purpose; a paused member answers 503 to everything; a cover
    // deleted without the admin key, 401.
    watchConsole(page, problems, (status, url) =>
      (status === 422 && url.endsWith("/api/v1/extract")) || (status === 503 && url.startsWith(first)) ||
      (status === 401 && new RegExp(`^${first}/api/v1/covers/[0-9a-f]{64}$`).test(url)));
    await page.goto(`${first}/`);
    await eventually(async () => assert.match(await text(page.locator("#hide-capacity")), /bytes used of/));
  });

  after(async () => {
    // Whatever failed, leave no member paused.
    await fetch(`${first}/admin/restore`, { method: "POST", headers: { Authorization: `Bearer ${adminKey}` } }).catch(() => {});
    await browser?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("hides a message in the default cover", async () => {
    await page.fill("#hide-message", "meet at noon");
    await hideAndWait(page);
    await page.waitForFunction(() => document.querySelector("#hide-result-img")?.naturalWidth > 0);
    assert.match(await page.getAttribute("#hide-download", "download"), /\.png$/);
    assert.match(await text(page.locator("#hide-diff-note")), /default cover/);
    hidden = await download(page, "#hide-download", work);
    assert.match(hidden.name, /\.png$/);
    assert.deepEqual([...hidden.bytes.subarray(1, 4)], [...Buffer.from("PNG")]);
  });

  it("reveals the message", async () => {
    await reveal(page, hidden.path, "");
    await eventually(async () => assert.equal(await text(page.locator("#reveal-text")), "meet at noon"));
    assert.ok(await page.isVisible("#reveal-text"));
  });

  it("hides a file with a password and gives it back only with that password", async () => {
    const notes = path.join(work, "notes.txt");
    const content = "line one\nline two: ünïcödé\n";
    await writeFile(notes, content);
    await page.click("#tab-hide");
    await page.check("#hide-kind-file");
    await page.setInputFiles("#hide-file", notes);
    await page.fill("#hide-password", "s3cret");
    await hideAndWait(page);
    const stego = await download(page, "#hide-download", work);

    await reveal(page, stego.path, "wrong");
    await eventually(async () => assert.equal(await text(page.locator("#reveal-status")), "Wrong password."));
    await page.fill("#reveal-password", "s3cret");
    await page.click("#reveal-submit");
    await page.waitForSelector("#reveal-file-result", { state: "visible" });
    const recovered = await download(page, "#reveal-download", work);
    assert.equal(recovered.name, "notes.txt");
    assert.equal(recovered.bytes.toString("utf8"), content);

    await audit(page, "reveal");
    await screenshot(page, "reveal.png");
  });

  it("measures an uploaded cover and draws the difference", async () => {
    const image = await fetch(`${first}/api/v1/dataset/1`);
    assert.equal(image.status, 200);
    const coverBytes = Buffer.from(await image.arrayBuffer());
    const cover = path.join(work, "cover.png");
    await writeFile(cover, coverBytes);
    const form = new FormData();
    form.append("cover", new Blob([coverBytes], { type: "image/png" }), "cover.png");
    const capacity = await (await fetch(`${first}/api/v1/capacity`, { method: "POST", body: form })).json();
    const available = capacity.cover_info.capacity_bytes;

    await page.click("#tab-hide");
    await page.check("#hide-kind-message");
    await page.fill("#hide-password", "");
    await page.selectOption("#hide-lsb", "");
    await page.setInputFiles("#hide-cover", cover);
    await eventually(async () => {
      const shown = /^([\d,]+) bytes used of ([\d,]+) available/.exec(await text(page.locator("#hide-capacity")));
      assert.ok(shown, "no capacity figures shown");
      assert.equal(Number(shown[1].replaceAll(",", "")), Buffer.byteLength("meet at noon"));
      assert.equal(Number(shown[2].replaceAll(",", "")), available);
    });
    assert.equal(await page.$eval("#hide-meter", (m) => m.max), available);

    await hideAndWait(page);
    await page.waitForSelector("#hide-result-diff", { state: "visible" });
    const size = await page.$eval("#hide-diff", (c) => [c.width, c.height]);
    assert.deepEqual(size, [capacity.cover_info.width, capacity.cover_info.height]);

    await audit(page, "hide");
    await screenshot(page, "hide.png");
    await page.setViewportSize(PHONE);
    const [scrollWidth, clientWidth] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(scrollWidth <= clientWidth, `scrolls sideways at 375 px: ${scrollWidth} > ${clientWidth}`);
    await screenshot(page, "hide-phone.png");
    await page.setViewportSize(DESKTOP);
  });

  it("shows the cluster, and a paused member turns unhealthy then healthy again", async () => {
    await page.click("#tab-cluster");
    const rows = page.locator("#cluster-table tbody tr");
    await eventually(async () => {
      assert.equal(await rows.count(), 3);
      const roles = await page.locator('#cluster-table tbody td[data-label="Role"]').allTextContents();
      assert.equal(roles.filter((r) => r === "Leader").length, 1, `roles: ${roles}`);
    });
    servingMember = await page.locator("#cluster-table tbody tr", { hasText: "(this page)" }).getAttribute("data-member");
    assert.ok(servingMember, "no row is marked as this page's member");
    // Pause, Isolate and Restore act only on this page's member (Make leader is on every row).
    assert.equal(await page.locator("#cluster-table tbody button:disabled").count(), 6, "other members' buttons are not disabled");

    await page.fill("#admin-key", adminKey);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("stego.adminKey")), adminKey);
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    await page.getByRole("button", { name: `Pause ${servingMember}` }).click();
    await eventually(async () => assert.match(await text(page.locator("#admin-status")), /is paused/));

    // The paused member answers 503 to everything: watch from another member's console.
    const watcher = await context.newPage();
    watchConsole(watcher, problems, () => false);
    await watcher.goto(`${second}/#cluster`);
    const health = (p) => p.locator(`#cluster-table tr[data-member="${servingMember}"] td[data-label="Health"]`);
    await eventually(async () => assert.equal(await text(health(watcher)), "unhealthy"));

    const restored = await fetch(`${first}/admin/restore`, { method: "POST", headers: { Authorization: `Bearer ${adminKey}` } });
    assert.equal(restored.status, 200);
    await eventually(async () => assert.equal(await text(health(watcher)), "healthy"));
    await eventually(async () => {
      assert.equal(await text(health(page)), "healthy");
      assert.equal(await text(page.locator("#cluster-status")), "");
    });

    await audit(page, "cluster");
    await screenshot(page, "cluster.png");
    await watcher.close();
  });

  it("adds a cover to the library and hides a message in it", async () => {
    const image = await fetch(`${first}/api/v1/dataset/2`);
    assert.equal(image.status, 200);
    const bytes = Buffer.from(await image.arrayBuffer());
    const file = path.join(work, "harbour.png");
    await writeFile(file, bytes);
    const id = createHash("sha256").update(bytes).digest("hex");

    await page.click("#tab-library");
    const [upload] = await Promise.all([
      page.waitForRequest((r) => r.method() === "POST" && r.url().endsWith("/api/v1/covers")),
      page.setInputFiles("#cover-upload-file", file),
    ]);
    assert.match(upload.headers()["idempotency-key"] ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal((await upload.response())?.status(), 201);
    await eventually(async () => assert.equal(await text(page.locator("#cover-status")), "Added harbour.png to the library."));
    const card = page.locator(`#cover-list li[data-cover="${id}"]`);
    await eventually(async () => assert.equal(await text(card.locator("h3")), "harbour.png"));
    assert.equal(await card.locator("img").getAttribute("loading"), "lazy");
    assert.equal(await card.locator("img").getAttribute("alt"), "Thumbnail of harbour.png");
    await page.waitForFunction((cover) => document.querySelector(`li[data-cover="${cover}"] img`)?.naturalWidth > 0, id);

    const listed = await (await fetch(`${first}/api/v1/covers?consistent=true`)).json();
    libraryCover = listed.covers.find((c) => c.id === id);
    assert.ok(libraryCover, "the uploaded cover is not in the API's listing");
    assert.match(await text(card), new RegExp(`${libraryCover.capacity_bytes.toLocaleString("en")} bytes at 1 bit per channel`));

    await card.getByRole("button", { name: "Use as cover: harbour.png" }).click();
    assert.equal(await page.getAttribute("#tab-hide", "aria-selected"), "true");
    assert.match(await text(page.locator("#hide-cover-name")), /^Library cover: harbour\.png /);
    // At 1 bit per channel the meter's room is the listing's figure.
    await page.check("#hide-kind-message");
    await page.fill("#hide-password", "");
    await page.selectOption("#hide-lsb", "1");
    await page.fill("#hide-message", "under the harbour lights");
    await eventually(async () => {
      const shown = /^([\d,]+) bytes used of ([\d,]+) available/.exec(await text(page.locator("#hide-capacity")));
      assert.ok(shown, "no capacity figures shown");
      assert.equal(Number(shown[2].replaceAll(",", "")), libraryCover.capacity_bytes);
    });

    const [embed] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/api/v1/embed")),
      hideAndWait(page),
    ]);
    const form = embed.request().postData() ?? "";
    assert.match(form, new RegExp(`name="cover_id"\r\n\r\n${id}\r\n`));
    assert.doesNotMatch(form, /name="cover"/);
    libraryEmbed = { id: embed.headers()["x-request-id"], member: embed.headers()["x-stego-member"] };
    await page.waitForSelector("#hide-result-diff", { state: "visible" });
    const stego = await download(page, "#hide-download", work);
    assert.ok(stego.name.startsWith("harbour"), `download named ${stego.name}`);
    assert.equal(stego.name, "harbour-stego.png");

    await reveal(page, stego.path, "");
    await eventually(async () => assert.equal(await text(page.locator("#reveal-text")), "under the harbour lights"));
  });

  it("lists that embed in the jobs ledger", async () => {
    assert.ok(libraryEmbed?.id, "the embed's answer had no X-Request-Id");
    await page.click("#tab-library");
    const row = page.locator(`#jobs-table tbody tr[data-job="${libraryEmbed.id}"]`);
    // A job reaches the replicated ledger a moment after its answer.
    await eventually(async () => {
      if ((await row.count()) === 0) await page.click("#jobs-refresh");
      assert.equal(await row.count(), 1);
    });
    assert.equal(await text(row.locator('td[data-label="Kind"]')), "embed");
    const member = await text(row.locator('td[data-label="Member"]'));
    assert.match(member, /^node\d+$/);
    if (libraryEmbed.member) assert.equal(member, libraryEmbed.member);
    assert.equal(await text(row.locator('td[data-label="Result"]')), "ok");
    assert.match(await text(page.locator("#jobs-status")), /^\d+ jobs?, as of /);

    await audit(page, "library");
    await screenshot(page, "library.png");
    await page.setViewportSize(PHONE);
    const [scrollWidth, clientWidth] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(scrollWidth <= clientWidth, `the library scrolls sideways at 375 px: ${scrollWidth} > ${clientWidth}`);
    await page.setViewportSize(DESKTOP);
  });

  it("deletes a cover only with the admin key, after asking", async () => {
    const card = page.locator(`#cover-list li[data-cover="${libraryCover.id}"]`);
    const deletes = [];
    page.on("request", (r) => r.method() === "DELETE" && deletes.push(r.url()));
    const remove = () => card.getByRole("button", { name: "Delete harbour.png" }).click();

    await remove();
    await page.waitForSelector("#cover-delete-dialog", { state: "visible" });
    assert.equal(await page.evaluate(() => document.activeElement?.id), "cover-delete-cancel");
    await audit(page, "library, delete dialog");
    await page.click("#cover-delete-cancel");
    await page.waitForSelector("#cover-delete-dialog", { state: "hidden" });
    assert.deepEqual(deletes, [], "kept, yet a DELETE went out");

    await page.fill("#admin-key", "");
    await remove();
    await page.click("#cover-delete-confirm");
    await eventually(async () => assert.equal(await text(page.locator("#cover-status")), "The admin key is missing or wrong."));
    assert.equal(deletes.length, 1);
    assert.equal(await card.count(), 1);

    await page.fill("#admin-key", adminKey);
    await remove();
    await page.click("#cover-delete-confirm");
    await eventually(async () => {
      assert.equal(await text(page.locator("#cover-status")), "Deleted harbour.png from the library.");
      assert.equal(await card.count(), 0);
    });
    assert.equal(await page.evaluate(() => document.activeElement?.id), "covers-heading");
    const listed = await (await fetch(`${second}/api/v1/covers?consistent=true`)).json();
    assert.ok(!listed.covers.some((c) => c.id === libraryCover.id), "still listed by another member");
  });

  it("makes another member the leader from the leader's page, and points a follower's page to it", async () => {
    await page.click("#tab-cluster");
    const role = (p, id) => text(p.locator(`#cluster-table tr[data-member="${id}"] td[data-label="Role"]`));
    const leader = await eventually(async () => {
      const name = await text(page.locator("#cluster-leader"));
      assert.equal(await role(page, name), "Leader");
      return name;
    });
    const ids = await page.locator("#cluster-table tbody tr").evaluateAll((trs) => trs.map((tr) => tr.dataset.member));
    // Not this page's member: this page is then a follower's, whichever member led before.
    const target = ids.find((id) => id !== leader && id !== servingMember);
    const addressOf = async (id) => {
      const link = page.locator(`#cluster-table tr[data-member="${id}"] td[data-label="Address"] a`);
      return (await link.count()) ? new URL(await link.getAttribute("href")).origin : first;
    };

    let leaderPage = page;
    if (leader !== servingMember) {
      leaderPage = await context.newPage();
      watchConsole(leaderPage, problems, () => false);
      await leaderPage.goto(`${await addressOf(leader)}/#cluster`);
      // Another origin: another session storage, so the key is entered again.
      await leaderPage.fill("#admin-key", adminKey);
    }
    await eventually(async () => assert.equal(await role(leaderPage, target), "Follower"));
    await leaderPage.getByRole("button", { name: `Make leader ${target}` }).click();
    await eventually(async () => assert.equal(await role(leaderPage, target), "Leader"));
    assert.equal(await text(leaderPage.locator("#admin-status")), `${target} is the leader now.`);

    await eventually(async () => assert.equal(await role(page, target), "Leader"));
    const other = ids.find((id) => id !== target);
    await page.getByRole("button", { name: `Make leader ${other}` }).click();
    const targetAddress = new URL(await addressOf(target)).host;
    assert.equal(await text(page.locator("#admin-status")), `Open the console on the leader (${targetAddress}) to move the leadership.`);
    assert.equal(await page.getAttribute("#admin-status a", "href"), `http://${targetAddress}/#cluster`);
    if (leaderPage !== page) await leaderPage.close();
  });

  it("isolates this page's member and restores it", async () => {
    await page.getByRole("button", { name: `Isolate ${servingMember}` }).click();
    await eventually(async () => assert.match(await text(page.locator("#admin-status")), new RegExp(`^${servingMember} is isolated`)));
    await page.getByRole("button", { name: `Restore ${servingMember}` }).click();
    await eventually(async () => assert.equal(await text(page.locator("#admin-status")), `${servingMember} is serving again.`));
  });

  it("logged no console error or warning", () => {
    assert.deepEqual(problems, []);
  });
});
