// The Cluster tab: term, leader and every member's health and load, polled every second while the
// tab is on screen; Pause, Isolate and Restore of the member serving this page, and Make leader.

import { adminFailure, adminHeaders } from "./admin";
import { ApiError, call, describe, STATUS_TIMEOUT_MS } from "./api";
import { byId, say, sayWithLink } from "./dom";

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
  makeLeader: HTMLButtonElement;
}

type FaultAction = "pause" | "isolate" | "restore";

/** What each fault injection button sends, and the words before and after. */
const FAULTS: Record<FaultAction, { label: string; path: string; body?: string; doing: string; done: string }> = {
  pause: {
    label: "Pause",
    path: "/admin/fail",
    body: JSON.stringify({ action: "pause" }),
    doing: "Pausing",
    done: "is paused: it answers 503 until restored.",
  },
  isolate: {
    label: "Isolate",
    path: "/admin/fail",
    body: JSON.stringify({ action: "isolate" }),
    doing: "Isolating",
    done: "is isolated: it still answers, but exchanges no Raft traffic with its peers until restored.",
  },
  restore: { label: "Restore", path: "/admin/restore", doing: "Restoring", done: "is serving again." },
};

const POLL_MS = 1000;

const el = {
  term: byId("cluster-term", HTMLElement),
  leader: byId("cluster-leader", HTMLElement),
  body: byId("cluster-table", HTMLTableElement).tBodies[0]!,
  status: byId("cluster-status", HTMLElement),
  adminStatus: byId("admin-status", HTMLElement),
};

const rows = new Map<string, Row>();
const decimal = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });
let selected = false;
let timer: number | undefined;
let polling = false;
let lastAnswer = "";
/** The last answer: who leads, as far as this page knows. */
let latest: ClusterStatus | null = null;

export function setUpCluster(): void {
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
  latest = status;
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
  const makeLeader = actionButton("Make leader", member, () => void moveLeadership(member));
  const buttons = document.createElement("span");
  buttons.append(...faultButtons(member), makeLeader);
  cell("Actions").append(buttons);
  return { tr, cells, makeLeader };
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
  // aria-disabled, not disabled: a disabled button would drop the keyboard focus when the member
  // it was just pressed for becomes the leader. A press says why nothing happens.
  row.makeLeader.setAttribute("aria-disabled", String(member.role === "Leader"));
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

function actionButton(text: string, member: Member, onClick: () => void): HTMLButtonElement {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = text;
  button.setAttribute("aria-label", `${text} ${member.id}`);
  button.addEventListener("click", onClick);
  return button;
}

function faultButtons(member: Member): HTMLButtonElement[] {
  const here = isThisPage(member);
  return (["pause", "isolate", "restore"] as const).map((action) => {
    const button = actionButton(FAULTS[action].label, member, () => void injectFault(member.id, action));
    // Another member's admin API is another origin, which this page may not call.
    button.disabled = !here;
    if (!here) button.title = `open the console on ${hostOf(member)} to act on this member`;
    return button;
  });
}

async function injectFault(id: string, action: FaultAction): Promise<void> {
  const fault = FAULTS[action];
  const init: RequestInit = { method: "POST", headers: adminHeaders(fault.body !== undefined) };
  if (fault.body !== undefined) init.body = fault.body;
  say(el.adminStatus, `${fault.doing} ${id}…`);
  try {
    await call(fault.path, init, STATUS_TIMEOUT_MS);
    say(el.adminStatus, `${id} ${fault.done}`);
  } catch (err) {
    say(el.adminStatus, adminFailure(err), true);
  }
}

/**
 * Hands the leadership to `target`. Only the leader can, and this page may call only its own
 * member: on a follower's page the words point to the leader's console instead.
 */
async function moveLeadership(target: Member): Promise<void> {
  const leader = latest?.nodes.find((m) => m.id === latest?.leader_id);
  if (leader?.id === target.id) {
    say(el.adminStatus, `${target.id} is the leader already.`);
    return;
  }
  if (leader && !isThisPage(leader)) {
    pointToLeader(hostOf(leader));
    return;
  }
  say(el.adminStatus, `Handing the leadership to ${target.id}…`);
  try {
    const init: RequestInit = { method: "POST", headers: adminHeaders(true), body: JSON.stringify({ target: target.id }) };
    const response = await call("/admin/transfer-leadership", init, STATUS_TIMEOUT_MS);
    const { leader_id } = (await response.json()) as { leader_id: string };
    say(el.adminStatus, `${leader_id} is the leader now.`);
  } catch (err) {
    // This page's view was out of date: the member says where the leader is.
    const address = err instanceof ApiError && err.code === "not_leader" ? err.body.leader_address : null;
    if (address) pointToLeader(address);
    else say(el.adminStatus, adminFailure(err), true);
  }
}

function pointToLeader(address: string): void {
  sayWithLink(el.adminStatus, "Open the console on the leader (", { text: address, href: `http://${address}/#cluster` }, ") to move the leadership.");
}
