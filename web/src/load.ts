// The Cluster tab's load charts: each member's CPU, memory, requests per second and p95 latency
// over the last five minutes. Backfilled from GET /cluster/history whenever the tab starts
// polling (so a tab left for a while comes back without a hole), then one point per member from
// each /cluster/status poll (cluster.ts).

import { call, STATUS_TIMEOUT_MS } from "./api";
import { LineChart, type Value } from "./charts";
import { byId } from "./dom";

/** One second of a member's load, as GET /cluster/history gives it. */
interface HistorySample {
  /** Unix milliseconds, by the member's clock. */
  t: number;
  cpu_pct: number;
  mem_pct: number;
  /** Requests answered in that one second. */
  rps: number;
  p95_ms: number;
}

interface History {
  interval_ms: number;
  /** A member that did not answer has healthy false and no samples. */
  nodes: Array<{ id: string; healthy: boolean; samples: HistorySample[] }>;
}

/** A member's figures from one /cluster/status poll (cluster.ts's Member has these and more). */
export interface LoadFigures {
  id: string;
  healthy: boolean;
  cpu_pct: number;
  mem_pct: number;
  /** Requests per second over the last minute. */
  qps_1m: number;
  p95_ms: number;
}

type Metric = "cpu" | "mem" | "rps" | "p95";

interface Point {
  /** Whole Unix seconds, by this browser's clock: members' points at the same second line up. */
  x: number;
  /** null: the member did not answer (the line has a gap there). */
  figures: Record<Metric, number> | null;
}

const WINDOW_S = 300;
const MAX_POINTS = 300;

const el = { note: byId("load-note", HTMLElement) };

const charts: Record<Metric, LineChart> = {
  cpu: new LineChart(byId("load-cpu", HTMLElement), { name: "CPU % of each member, last 5 minutes", unit: "%", time: true }),
  mem: new LineChart(byId("load-mem", HTMLElement), { name: "Memory % of each member, last 5 minutes", unit: "%", time: true }),
  rps: new LineChart(byId("load-rps", HTMLElement), { name: "Requests per second of each member, last 5 minutes", unit: "requests/s", time: true }),
  p95: new LineChart(byId("load-p95", HTMLElement), { name: "p95 latency in ms of each member, last 5 minutes", unit: "ms", time: true }),
};

/** Each member's points, oldest first. */
const points = new Map<string, Point[]>();

/**
 * Reads the members' last minutes. A member without the endpoint (404), or no answer, leaves the
 * charts as they are: they fill from the polls.
 */
export async function backfillLoad(): Promise<void> {
  let history: History;
  try {
    const response = await call("/cluster/history", {}, STATUS_TIMEOUT_MS);
    history = (await response.json()) as History;
  } catch {
    el.note.textContent = "This member gave no record of the past minutes: the charts start now.";
    return;
  }
  el.note.textContent = "";
  // The members' clocks may differ from this browser's: the newest sample (at most a second old)
  // is taken as now, so the backfill joins the points the polls add.
  const newest = Math.max(...history.nodes.flatMap((node) => node.samples.map((s) => s.t)));
  const shift = Number.isFinite(newest) ? Date.now() - newest : 0;
  for (const node of history.nodes) {
    if (node.samples.length === 0) continue;
    const filled: Point[] = [];
    for (const s of node.samples) {
      add(filled, { x: Math.round((s.t + shift) / 1000), figures: { cpu: s.cpu_pct, mem: s.mem_pct, rps: s.rps, p95: s.p95_ms } });
    }
    // Points a poll added while the history was on its way stay, after the history's.
    const last = filled[filled.length - 1]!.x;
    for (const p of points.get(node.id) ?? []) if (p.x > last) filled.push(p);
    points.set(node.id, filled);
  }
  draw();
}

/** Adds this poll's figures: a point for each member (a gap for one that did not answer). */
export function recordLoad(members: LoadFigures[]): void {
  const x = Math.round(Date.now() / 1000);
  for (const m of members) {
    let list = points.get(m.id);
    if (!list) points.set(m.id, (list = []));
    // The poll has the last minute's average only; the history's per-second figure replaces it
    // when the tab next backfills.
    add(list, { x, figures: m.healthy ? { cpu: m.cpu_pct, mem: m.mem_pct, rps: m.qps_1m, p95: m.p95_ms } : null });
  }
  draw();
}

/** Appends a point, or replaces the last one when it is of the same second. */
function add(list: Point[], point: Point): void {
  const last = list[list.length - 1];
  if (last && last.x > point.x) return;
  if (last?.x === point.x) list[list.length - 1] = point;
  else list.push(point);
}

function draw(): void {
  const now = Math.round(Date.now() / 1000);
  // Old points go: by age (a member that left the cluster gets no new ones) and by count.
  for (const [id, list] of points) {
    const kept = list.filter((p) => p.x > now - WINDOW_S).slice(-MAX_POINTS);
    if (kept.length) points.set(id, kept);
    else points.delete(id);
  }
  const ids = [...points.keys()].sort((a, b) => a.localeCompare(b));
  const x = [...new Set(ids.flatMap((id) => points.get(id)!.map((p) => p.x)))].sort((a, b) => a - b);
  const column = new Map(x.map((value, i) => [value, i]));
  for (const metric of Object.keys(charts) as Metric[]) {
    const ys = ids.map((id) => {
      const values: Value[] = new Array<Value>(x.length).fill(undefined);
      for (const p of points.get(id)!) values[column.get(p.x)!] = p.figures ? p.figures[metric] : null;
      return values;
    });
    charts[metric].show(ids, x, ys);
  }
}
