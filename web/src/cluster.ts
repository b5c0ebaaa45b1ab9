// The Cluster tab: term, leader and every member's health and load, polled every second while the
// tab is on screen, and Pause / Restore of the member serving this page.

import { ApiError, call, describe, STATUS_TIMEOUT_MS } from "./api";
import { byId, say } from "./dom";

interface Member {
  id: string;
  ip: string;
  http_port: number;
  raft_port: number;
  role: string;
  healthy: boolean;
  cpu_pct: number;
  mem_pct: number;
  qps_1m: number;
  p95_ms: number;
}

interface ClusterStatus {
  term: number;
  leader_id: string | null;
  nodes: Member[];
}

/** The cells of one member's row that change from one poll to the next. */
interface Row {
  tr: HTMLTableRowElement;
  cells: Record<"role" | "health" | "cpu" | "mem" | "qps" | "p95", HTMLTableCellElement>;
}

const POLL_MS = 1000;
const KEY_STORAGE = "stego.adminKey";

const el = {
  term: byId("cluster-term", HTMLElement),
  leader: byId("cluster-leader", HTMLElement),
  body: byId("cluster-table", HTMLTableElement).tBodies[0]!,
  status: byId("cluster-status", HTMLElement),
  adminForm: byId("admin-form", HTMLFormElement),
  key: byId("admin-key", HTMLInputElement),
  adminStatus: byId("admin-status", HTMLElement),
};

const rows = new Map<string, Row>();
const decimal = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });
let selected = false;
let timer: number | undefined;
let polling = false;
let lastAnswer = "";

export function setUpCluster(): void {
  // sessionStorage, not localStorage: the key goes when the tab closes.
  el.key.value = sessionStorage.getItem(KEY_STORAGE) ?? "";
  el.key.addEventListener("input", () => sessionStorage.setItem(KEY_STORAGE, el.key.value));
  el.adminForm.addEventListener("submit", (event) => event.preventDefault());
  document.addEventListener("visibilitychange", schedule);
}

/** Called when the tab is selected or left: polling runs only while the tab is on screen. */
export function showCluster(isSelected: boolean): void {
  selected = isSelected;
  schedule();
}

function onScreen(): boolean {
  return selected && document.visibilityState === "visible";
}

function schedule(): void {
  if (!onScreen()) {
    clearTimeout(timer);
    timer = undefined;
  } else if (timer === undefined && !polling) {
    void poll();
  }
}

async function poll(): Promise<void> {
  timer = undefined;
  polling = true;
  try {
    const response = await call("/cluster/status", {}, STATUS_TIMEOUT_MS);
    render((await response.json()) as ClusterStatus);
    lastAnswer = new Date().toLocaleTimeString("en-GB");
    say(el.status, "");
  } catch (err) {
    const stale = lastAnswer ? ` The table shows the last answer, from ${lastAnswer}.` : "";
    say(el.status, `This member did not answer: ${describe(err)}${stale}`, true);
  } finally {
    polling = false;
  }
  if (onScreen()) timer = window.setTimeout(() => void poll(), POLL_MS);
}

function render(status: ClusterStatus): void {
  el.term.textContent = String(status.term);
  el.leader.textContent = status.leader_id ?? "none (an election is under way)";
  const members = [...status.nodes].sort((a, b) => a.id.localeCompare(b.id));
  if (members.map((m) => m.id).join() !== [...rows.keys()].join()) rebuild(members);
  for (const member of members) update(rows.get(member.id)!, member);
}

/** New rows only when the membership changed, so a focused button is not pulled from under the keyboard. */
function rebuild(members: Member[]): void {
  const kept = new Map(rows);
  rows.clear();
  el.body.replaceChildren();
  for (const member of members) {
    const row = kept.get(member.id) ?? newRow(member);
    rows.set(member.id, row);
    el.body.append(row.tr);
  }
}

function newRow(member: Member): Row {
  const tr = document.createElement("tr");
  tr.dataset["member"] = member.id;
  const cell = (label: string, text = "") => {
    const td = document.createElement("td");
    td.dataset["label"] = label;
    td.textContent = text;
    tr.append(td);
    return td;
  };
  const name = document.createElement("th");
  name.scope = "row";
  name.textContent = member.id;
  tr.append(name);
  const role = cell("Role");
  cell("Address").append(addressOf(member));
  const cells = { role, health: cell("Health"), cpu: cell("CPU %"), mem: cell("Memory %"), qps: cell("QPS"), p95: cell("p95 ms") };
  const buttons = document.createElement("span");
  buttons.append(...adminButtons(member));
  cell("Fault injection").append(buttons);
  return { tr, cells };
}

function update(row: Row, member: Member): void {
  const { cells } = row;
  cells.role.textContent = member.role;
  cells.health.textContent = member.healthy ? "healthy" : "unhealthy";
  cells.health.className = member.healthy ? "healthy" : "unhealthy";
  // An unhealthy member did not answer: its figures are 0 by convention, not measurements.
  const figure = (n: number) => (member.healthy ? decimal.format(n) : "–");
  cells.cpu.textContent = figure(member.cpu_pct);
  cells.mem.textContent = figure(member.mem_pct);
  cells.qps.textContent = figure(member.qps_1m);
  cells.p95.textContent = figure(member.p95_ms);
}

function hostOf(member: Member): string {
  const ip = member.ip.includes(":") ? `[${member.ip}]` : member.ip;
  return `${ip}:${member.http_port}`;
}

function isThisPage(member: Member): boolean {
  return `http://${hostOf(member)}` === location.origin;
}

/** The member's address: a link to its own console, where its admin buttons work. */
function addressOf(member: Member): Node {
  const host = hostOf(member);
  if (isThisPage(member)) return document.createTextNode(`${host} (this page)`);
  const link = document.createElement("a");
  link.href = `http://${host}/#cluster`;
  link.textContent = host;
  return link;
}

function adminButtons(member: Member): HTMLButtonElement[] {
  const here = isThisPage(member);
  return (["pause", "restore"] as const).map((action) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = action === "pause" ? "Pause" : "Restore";
    button.setAttribute("aria-label", `${button.textContent} ${member.id}`);
    // Another member's admin API is another origin, which this page may not call.
    button.disabled = !here;
    if (here) button.addEventListener("click", () => void act(member.id, action));
    else button.title = `open the console on ${hostOf(member)} to act on this member`;
    return button;
  });
}

async function act(id: string, action: "pause" | "restore"): Promise<void> {
  const key = el.key.value;
  if (!key) {
    say(el.adminStatus, "Enter the admin key first.", true);
    el.key.focus();
    return;
  }
  const init: RequestInit = { method: "POST", headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" } };
  if (action === "pause") init.body = JSON.stringify({ action: "pause" });
  say(el.adminStatus, action === "pause" ? `Pausing ${id}…` : `Restoring ${id}…`);
  try {
    await call(action === "pause" ? "/admin/fail" : "/admin/restore", init, STATUS_TIMEOUT_MS);
    say(el.adminStatus, action === "pause" ? `${id} is paused: it answers 503 until restored.` : `${id} is serving again.`);
  } catch (err) {
    const refused = err instanceof ApiError && (err.status === 401 || err.status === 403);
    say(el.adminStatus, refused ? "The admin key was refused." : describe(err), true);
  }
}
