// The Cluster tab: term, leader and every member's health, load and Raft progress, polled every
// second while the tab is on screen, with charts of the load (load.ts); Pause, Isolate, Restore and
// Crash of the member serving this page, and Make leader.

import { adminFailure, adminHeaders } from "./admin";
import { ApiError, call, describe, STATUS_TIMEOUT_MS } from "./api";
import { byId, confirmation, type Link, say, sayWithLinks } from "./dom";
import { formatCount, formatDecimal } from "./format";
import { backfillLoad, type LoadFigures, recordLoad } from "./load";

interface Member extends LoadFigures {
  ip: string;
  http_port: number;
  raft_port: number;
  role: string;
  /** The member's applied log index; null when it did not answer. */
  applied: number | null;
  /** How far `applied` trails the highest applied index among the members that answered. */
  lag: number | null;
}

interface ClusterStatus {
  term: number;
  leader_id: string | null;
  nodes: Member[];
}

/** The cells of one member's row that change from one poll to the next. */
interface Row {
  tr: HTMLTableRowElement;
  cells: Record<"role" | "health" | "cpu" | "mem" | "qps" | "p95" | "applied" | "lag", HTMLTableCellElement>;
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
  crashDialog: byId("crash-dialog", HTMLDialogElement),
  crashTitle: byId("crash-title", HTMLElement),
  crashText: byId("crash-text", HTMLElement),
  crashCancel: byId("crash-cancel", HTMLButtonElement),
  crashConfirm: byId("crash-confirm", HTMLButtonElement),
};
const confirmCrash = confirmation(el.crashDialog, el.crashCancel, el.crashConfirm);

const rows = new Map<string, Row>();
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
    // Polling (re)starts: the charts' past comes from the members' own record.
    void backfillLoad();
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
  recordLoad(members);
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
  const cells = {
    role, health: cell("Health"), cpu: cell("CPU %"), mem: cell("Memory %"), qps: cell("QPS"), p95: cell("p95 ms"),
    applied: cell("Applied"), lag: cell("Lag"),
  };
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
  const figure = (n: number) => (member.healthy ? formatDecimal(n) : "–");
  cells.cpu.textContent = figure(member.cpu_pct);
  cells.mem.textContent = figure(member.mem_pct);
  cells.qps.textContent = figure(member.qps_1m);
  cells.p95.textContent = figure(member.p95_ms);
  // null when the member did not answer (and missing from a member too old to report them).
  const index = (n: number | null | undefined) => (typeof n === "number" ? formatCount(n) : "—");
  cells.applied.textContent = index(member.applied);
  cells.lag.textContent = index(member.lag);
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
  const actions = [
    ...(["pause", "isolate", "restore"] as const).map((action) => ({ label: FAULTS[action].label, run: () => injectFault(member.id, action) })),
    { label: "Crash", run: () => crash(member.id) },
  ];
  return actions.map(({ label, run }) => {
    const button = actionButton(label, member, () => void run());
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
  sayWithLinks(el.adminStatus, ["Open the console on the leader (", consoleLink(address), ") to move the leadership."]);
}

function consoleLink(host: string): Link {
  return { text: host, href: `http://${host}/#cluster` };
}

/**
 * Makes this page's member exit at once, as a crash would, after asking. It gives no answer: the
 * connection's end is the sign that it went. This page then has no member to ask, so the words
 * point to the other members' consoles.
 */
async function crash(id: string): Promise<void> {
  el.crashTitle.textContent = `Crash ${id}?`;
  el.crashText.textContent = `${id} exits at once, as a crashed process would: the requests it is serving get no answer, and it ` +
    `stays down until it is started again. This page is served by ${id}: it stops working too.`;
  if (!(await confirmCrash())) return;
  say(el.adminStatus, `Crashing ${id}…`);
  try {
    await call("/admin/fail", { method: "POST", headers: adminHeaders(true), body: JSON.stringify({ action: "crash" }) }, STATUS_TIMEOUT_MS);
    say(el.adminStatus, `${id} answered instead of exiting: it is still running.`, true);
  } catch (err) {
    if (!(err instanceof ApiError && err.code === "network")) {
      say(el.adminStatus, adminFailure(err), true);
      return;
    }
    const others = (latest?.nodes ?? []).filter((m) => m.id !== id && !isThisPage(m)).map((m) => consoleLink(hostOf(m)));
    const parts: Array<string | Link> = [`${id} exited. This page's own member no longer answers until it is restarted.`];
    if (others.length) {
      parts.push(" Watch the cluster from another member's console: ", ...others.flatMap((link, i) => (i ? [", ", link] : [link])), ".");
    }
    sayWithLinks(el.adminStatus, parts);
  }
}
