// The web console in a real browser (Debian's Chromium through playwright-core) against three
// running members: hide and reveal a message and a password-protected file, the capacity meter,
// the cluster table and its load charts with a pause seen from another member, the cover library
// (upload, hide in a library cover, delete with and without the admin key), the jobs ledger, a
// leadership transfer, an isolation, stress tests with their downloads, a crash seen from another
// member, an axe audit of each tab, and no console error or warning.
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
 * Console errors and warnings, and uncaught exceptions. Chromium also logs every 4xx/5xx answer,
 * and every call that got no answer, as "Failed to load resource"; the ones this test provokes on
 * purpose are allowed: `allowed` says which (status, URL) pairs, the status a number or, without
 * an answer, Chromium's error ("net::ERR_CONNECTION_REFUSED").
 */
function watchConsole(page, problems, allowed) {
  page.on("console", (message) => {
    if (message.type() !== "error" && message.type() !== "warning") return;
    const failed = /^Failed to load resource: (?:the server responded with a status of (\d+)|(net::\w+))/.exec(message.text());
    if (failed && allowed(failed[1] ? Number(failed[1]) : failed[2], message.location().url)) return;
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

async function assertNoSidewaysScroll(page, what) {
  await page.setViewportSize(PHONE);
  const [scrollWidth, clientWidth] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  assert.ok(scrollWidth <= clientWidth, `${what} scrolls sideways at 375 px: ${scrollWidth} > ${clientWidth}`);
}

/** Each chart's points per series (its data-points: "12 12 11") and the seconds it spans. */
async function chartData(page, figure) {
  const plot = page.locator(`#${figure} .chart-plot`);
  const points = ((await plot.getAttribute("data-points")) ?? "").split(" ").filter(Boolean).map(Number);
  return { points, span: Number(await plot.getAttribute("data-span")) };
}

/** The rows of a table's body as { key (the row's data-key): [cells' text] }. */
async function tableRows(page, selector) {
  return page.locator(`${selector} tbody tr`).evaluateAll((trs) =>
    Object.fromEntries(trs.map((tr) => [tr.dataset.key, [...tr.querySelectorAll("td")].map((td) => td.textContent.trim())])));
}

function parseCsv(csv) {
  // The test's CSV has no quoted fields (members are nodeN, errors are codes).
  const [header, ...rows] = csv.trimEnd().split("\r\n").map((line) => line.split(","));
  return rows.map((row) => Object.fromEntries(header.map((name, i) => [name, row[i]])));
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
  const [first, second, third] = urls;

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
    await assertNoSidewaysScroll(page, "the hide tab");
    await screenshot(page, "hide-phone.png");
    await page.setViewportSize(DESKTOP);
  });

  it("charts each member's load, backfilled from their history, and shows Applied and Lag", async () => {
    const shown = Date.now();
    await page.click("#tab-cluster");
    const charts = ["load-cpu", "load-mem", "load-rps", "load-p95"];
    const before = await eventually(async () => {
      const data = await Promise.all(charts.map((chart) => chartData(page, chart)));
      for (const [i, { points, span }] of data.entries()) {
        assert.equal(points.length, 3, `${charts[i]}: ${points.length} series`);
        assert.ok(points.every((n) => n >= 5), `${charts[i]}: points per member ${points}`);
        // The members have run since before this test began: polls alone could not span that long yet.
        assert.ok(span >= (Date.now() - shown) / 1000 + 3, `${charts[i]} spans ${span} s: no backfill from /cluster/history`);
      }
      return data;
    });
    // Each poll adds a point per member.
    await eventually(async () => {
      const { points } = await chartData(page, "load-cpu");
      assert.ok(points.every((n, i) => n >= Math.min(before[0].points[i] + 2, 300)), `points ${points}, before ${before[0].points}`);
    });
    for (const chart of charts) {
      assert.deepEqual(await page.locator(`#${chart} .legend li`).allTextContents(), ["node1", "node2", "node3"]);
      assert.match(await page.getAttribute(`#${chart} .chart-plot`, "aria-label"), /of each member, last 5 minutes$/);
      assert.match(await text(page.locator(`#${chart}-summary`)), /^Latest: node1 [\d.,]+ \S+, node2 [\d.,]+ \S+, node3 [\d.,]+ \S+; [\d,]+ s shown\.$/);
    }
    await eventually(async () => {
      for (const column of ["Applied", "Lag"]) {
        const cells = await page.locator(`#cluster-table tbody td[data-label="${column}"]`).allTextContents();
        assert.equal(cells.length, 3);
        assert.ok(cells.every((cell) => /^\d[\d,]*$/.test(cell)), `${column}: ${cells}`);
      }
    });
    await assertNoSidewaysScroll(page, "the cluster tab");
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
    // Pause, Isolate, Restore and Crash act only on this page's member (Make leader is on every row).
    assert.equal(await page.locator("#cluster-table tbody button:disabled").count(), 8, "other members' buttons are not disabled");

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
    await assertNoSidewaysScroll(page, "the library");
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

  /** Runs a stress test with the form as it is and checks what it shows and offers: answers the JSON download. */
  async function stressRun(expected) {
    const sent = [];
    const onRequest = (r) => r.method() === "POST" && /\/api\/v1\/(embed|extract)$/.test(r.url()) && sent.push(r.url());
    page.on("request", onRequest);
    await page.click("#stress-start");
    await eventually(async () => assert.match(await text(page.locator("#stress-status")), /^Started: /));
    const finished = await eventually(async () => {
      const status = await text(page.locator("#stress-status"));
      assert.match(status, /^(Finished|Stopped): /);
      return status;
    }, 60_000);
    page.off("request", onRequest);
    assert.ok(sent.every((url) => url.startsWith(`${first}/`)), "a request went to another origin");

    const summary = await tableRows(page, "#stress-summary");
    const requests = Number(summary.requests[0].replaceAll(",", ""));
    if (expected.requests) assert.equal(requests, expected.requests);
    assert.match(finished, new RegExp(`^(Finished|Stopped): ${requests.toLocaleString("en")} requests in `));
    assert.equal(Number(summary.ok[0]) + Number(summary.errors[0]), requests);
    const latencyKeys = ["p50", "p90", "p95", "p99", "p99.9", "max"];
    for (const key of latencyKeys) assert.match(summary[key][0], /^[\d,.]+ ms$/, key);
    const shownLatency = Object.fromEntries(latencyKeys.map((key) => [key, Number(summary[key][0].replace(/[, ms]/g, ""))]));

    const members = await tableRows(page, "#stress-member-table");
    const counts = Object.fromEntries(Object.entries(members).map(([member, [count]]) => [member, Number(count.replaceAll(",", ""))]));
    assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), requests, `per member ${JSON.stringify(counts)}`);
    assert.ok(Object.keys(counts).every((member) => /^node\d$/.test(member)), `members ${Object.keys(counts)}`);
    // The live bars show the same counts.
    const bars = await page.locator("#stress-members li .bar-figure").allTextContents();
    assert.equal(bars.map((bar) => Number(bar.split(" ")[0].replaceAll(",", ""))).reduce((a, b) => a + b, 0), requests);
    const throughput = await chartData(page, "stress-throughput");
    assert.ok(throughput.points.length === 1 && throughput.points[0] >= 1, `throughput points ${throughput.points}`);
    const latencies = await chartData(page, "stress-latency");
    assert.ok(latencies.points.length === 3 && latencies.points.every((n) => n >= 1), `latency points ${latencies.points}`);

    const json = JSON.parse((await download(page, "#stress-download-json", work)).bytes.toString("utf8"));
    assert.equal(json.summary.requests, requests);
    assert.equal(json.requests.length, requests);
    // Exact order statistics (the nearest rank) over every request's latency, shown to a tenth.
    const sorted = json.requests.map((r) => r.latencyMs).sort((a, b) => a - b);
    const nearestRank = (p) => sorted[Math.max(1, Math.ceil((p / 100) * sorted.length - 1e-9)) - 1];
    const exact = { p50: nearestRank(50), p90: nearestRank(90), p95: nearestRank(95), p99: nearestRank(99), "p99.9": nearestRank(99.9), max: sorted.at(-1) };
    assert.deepEqual(json.summary.latencyMs, exact);
    for (const key of latencyKeys) assert.ok(Math.abs(shownLatency[key] - exact[key]) <= 0.05 + 1e-9, `${key}: shown ${shownLatency[key]}, exact ${exact[key]}`);
    assert.deepEqual(json.requests.map((r) => r.index), [...Array(requests).keys()]);
    assert.deepEqual(Object.fromEntries(json.summary.members.map((m) => [m.member, m.count])), counts);
    const csvFile = await download(page, "#stress-download-csv", work);
    assert.match(csvFile.name, /^stress-.*\.csv$/);
    const rows = parseCsv(csvFile.bytes.toString("utf8"));
    assert.equal(rows.length, requests);
    const csvCounts = {};
    for (const row of rows) csvCounts[row.member] = (csvCounts[row.member] ?? 0) + 1;
    assert.deepEqual(csvCounts, counts);
    assert.equal(rows.filter((row) => row.error === "").length, Number(summary.ok[0]));
    for (const [i, row] of rows.entries()) {
      assert.equal(Number(row.index), i);
      assert.ok(Number(row.latency_ms) > 0 && Number(row.start_ms) >= 0, `row ${i}: ${JSON.stringify(row)}`);
      assert.equal(Number(row.latency_ms).toFixed(3), json.requests[i].latencyMs.toFixed(3));
    }
    return { json, rows, sent };
  }

  it("refuses a stress test's settings out of bounds, next to the field", async () => {
    await page.click("#tab-stress");
    const sent = [];
    const onRequest = (r) => r.url().includes("/api/v1/") && sent.push(r.url());
    page.on("request", onRequest);
    await page.fill("#stress-clients", "17");
    await page.fill("#stress-count", "0");
    await page.click("#stress-start");
    assert.equal(await text(page.locator("#stress-clients-error")), "Enter a whole number from 1 to 16.");
    assert.equal(await text(page.locator("#stress-count-error")), "Enter a whole number from 1 to 2,000.");
    assert.equal(await page.getAttribute("#stress-clients", "aria-invalid"), "true");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "stress-clients");
    await page.check("#stress-limit-duration");
    await page.fill("#stress-duration", "61");
    await page.fill("#stress-payload", "65537");
    await page.click("#stress-start");
    assert.equal(await text(page.locator("#stress-duration-error")), "Enter a whole number from 1 to 60.");
    assert.equal(await text(page.locator("#stress-payload-error")), "Enter a whole number from 1 to 65,536.");
    page.off("request", onRequest);
    assert.deepEqual(sent, [], "a refused run sent requests");
    assert.equal(await text(page.locator("#stress-status")), "");
  });

  it("runs an embed stress test: every request accounted for, per member, in the charts and the downloads", async () => {
    await page.check("#stress-mode-embed");
    await page.fill("#stress-clients", "2");
    await page.fill("#stress-payload", "512");
    await page.check("#stress-limit-count");
    await page.fill("#stress-count", "20");
    assert.equal(await page.getAttribute("#stress-clients", "aria-invalid"), null, "the error stays after a correction");
    const { json, rows, sent } = await stressRun({ requests: 20 });
    assert.equal(sent.length, 20);
    assert.ok(sent.every((url) => url.endsWith("/api/v1/embed")));
    assert.ok(rows.every((row) => row.op === "embed"));
    assert.deepEqual(json.settings, { mode: "embed", clients: 2, payloadBytes: 512, limit: { requests: 20 } });
    const seconds = (json.summary.durationMs / 1000).toFixed(1).replace(/\.0$/, "");
    assert.equal(await text(page.locator("#stress-progress-text")), `20 of 20 requests answered, ${seconds} s.`);
  });

  it("runs a mixed stress test for a time, and stops one early", async () => {
    await page.check("#stress-mode-mixed");
    await page.fill("#stress-clients", "3");
    await page.check("#stress-limit-duration");
    await page.fill("#stress-duration", "2");
    const { json, rows, sent } = await stressRun({});
    assert.ok(rows.length >= 4, `only ${rows.length} requests in 2 s`);
    for (const row of rows) assert.equal(row.op, Number(row.index) % 2 === 0 ? "embed" : "extract");
    assert.ok(rows.every((row) => row.status === "200" && row.error === ""), "a mixed run's request failed");
    // The image the extracts read was made by one more embed, before the run.
    assert.equal(sent.filter((url) => url.endsWith("/api/v1/extract")).length, rows.filter((row) => row.op === "extract").length);
    assert.equal(sent.filter((url) => url.endsWith("/api/v1/embed")).length, rows.filter((row) => row.op === "embed").length + 1);
    assert.ok(rows.every((row) => Number(row.start_ms) < 2000), "a request started after the 2 s");
    assert.equal(json.stopped, false);

    await audit(page, "stress test");
    await screenshot(page, "stress.png");
    await assertNoSidewaysScroll(page, "the stress test tab");
    await page.setViewportSize(DESKTOP);

    await page.fill("#stress-duration", "60");
    await page.click("#stress-start");
    await eventually(async () => assert.match(await text(page.locator("#stress-progress-text")), /[1-9]\d* requests answered\.$/));
    assert.equal(await page.isDisabled("#stress-start"), true, "a second run could start");
    await page.click("#stress-stop");
    await eventually(async () => assert.match(await text(page.locator("#stress-status")), /^Stopped: /), 10_000);
    assert.equal(await page.isDisabled("#stress-start"), false);
    const summary = await tableRows(page, "#stress-summary");
    assert.ok(Number(summary.duration[0].replace(" s", "")) < 30, `stopped after ${summary.duration[0]}`);
  });

  it("crashes a member from its own page, after asking, which another member's page sees", async () => {
    const victimPage = await context.newPage();
    // The crashed member answers nothing more: its page's calls fail.
    watchConsole(victimPage, problems, (status, url) => typeof status === "string" && url.startsWith(third));
    await victimPage.goto(`${third}/#cluster`);
    await victimPage.fill("#admin-key", adminKey);
    const victim = await eventually(async () => {
      const id = await victimPage.locator("#cluster-table tbody tr", { hasText: "(this page)" }).getAttribute("data-member", { timeout: 1000 });
      assert.ok(id && id !== servingMember);
      return id;
    });
    const fails = [];
    victimPage.on("request", (r) => r.url().endsWith("/admin/fail") && fails.push(r.postData()));
    const crash = () => victimPage.getByRole("button", { name: `Crash ${victim}` }).click();

    await crash();
    await victimPage.waitForSelector("#crash-dialog", { state: "visible" });
    assert.equal(await victimPage.evaluate(() => document.activeElement?.id), "crash-cancel");
    assert.equal(await text(victimPage.locator("#crash-title")), `Crash ${victim}?`);
    await audit(victimPage, "cluster, crash dialog");
    await victimPage.click("#crash-cancel");
    await victimPage.waitForSelector("#crash-dialog", { state: "hidden" });
    assert.deepEqual(fails, [], "kept running, yet the crash was sent");

    await crash();
    await victimPage.click("#crash-confirm");
    const words = `${victim} exited. This page's own member no longer answers until it is restarted.`;
    await eventually(async () => assert.ok((await text(victimPage.locator("#admin-status"))).startsWith(words)));
    assert.deepEqual(fails, [JSON.stringify({ action: "crash" })]);
    const links = await victimPage.locator("#admin-status a").evaluateAll((as) => as.map((a) => new URL(a.href).origin));
    assert.deepEqual(links.sort(), [first, second].sort());

    const health = page.locator(`#cluster-table tr[data-member="${victim}"] td[data-label="Health"]`);
    await page.click("#tab-cluster");
    await eventually(async () => assert.equal(await text(health), "unhealthy"));
    assert.equal(await text(page.locator(`#cluster-table tr[data-member="${victim}"] td[data-label="Applied"]`)), "—");
    await victimPage.close();
  });

  it("logged no console error or warning", () => {
    assert.deepEqual(problems, []);
  });
});
