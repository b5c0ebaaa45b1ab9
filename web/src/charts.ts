// Charts for the Cluster and Stress test tabs: a thin wrapper over uPlot (small and fast: a canvas,
// no dependencies) that adds what uPlot leaves to its user: a width that follows the page's, a
// legend of our own (uPlot's is a table whose rows toggle a series on a mouse click only), an
// accessible name, and a text alternative that gives the latest figures.

import uPlot from "uplot";
import { formatCount, formatDecimal, formatShare } from "./format";

/**
 * One colour per series, each with at least 3:1 contrast on white (WCAG 1.4.11) and told apart by
 * the common colour-vision deficiencies (after Okabe and Ito's palette, darkened); each series has
 * a dash pattern as well, so that colour is not the only cue.
 */
const COLOURS = ["#0b5cad", "#c24e00", "#00795a", "#a8437f", "#5b6470", "#8a6d00"];
const DASHES: number[][] = [[], [9, 4], [2, 3], [12, 4, 2, 4]];
const INK = "#4a5568";
const GRID = "#e2e6ec";
const HEIGHT = 180;

/** Where a series' line is missing: null is a gap (no figure that second), undefined is no sample at that x (the line goes across). */
export type Value = number | null | undefined;

export interface LineChartOptions {
  /** The chart's accessible name: what it shows, over which span. */
  name: string;
  /** The values' unit, for the text alternative: "%", "ms", "requests/s". */
  unit: string;
  /** x in Unix seconds, drawn as times of day; else seconds since a start, drawn as "12 s". */
  time: boolean;
}

function styleOf(i: number): { colour: string; dash: number[] } {
  return { colour: COLOURS[i % COLOURS.length]!, dash: DASHES[i % DASHES.length]! };
}

/** A line chart of a few series sharing one x axis, filling the width of its figure. */
export class LineChart {
  private plot: uPlot | null = null;
  private labels: string[] = [];
  private data: uPlot.AlignedData = [[]];
  private readonly box = document.createElement("div");
  private readonly legend = document.createElement("ul");
  private readonly summary = document.createElement("p");

  constructor(figure: HTMLElement, private readonly options: LineChartOptions) {
    this.box.className = "chart-plot";
    // An image as far as assistive technology goes: its name says what it shows, the summary
    // (visually hidden) the latest figures, which is what a glance at the lines gives.
    this.box.setAttribute("role", "img");
    this.box.setAttribute("aria-label", options.name);
    this.summary.className = "visually-hidden";
    this.summary.id = `${figure.id}-summary`;
    this.box.setAttribute("aria-describedby", this.summary.id);
    this.legend.className = "legend";
    figure.append(this.box, this.legend, this.summary);
    // Hidden (another tab) the box is 0 wide: the chart is sized when it shows.
    new ResizeObserver(() => this.fit()).observe(this.box);
  }

  /** Shows `ys` (one array per label, each as long as `x`, which ascends). */
  show(labels: string[], x: number[], ys: Value[][]): void {
    this.data = [x, ...ys];
    if (labels.join("\n") !== this.labels.join("\n")) this.rebuild(labels);
    else this.plot?.setData(this.data);
    this.describe(x, ys);
  }

  private rebuild(labels: string[]): void {
    this.labels = labels;
    this.plot?.destroy();
    this.plot = null;
    this.legend.replaceChildren(...labels.map((label, i) => legendItem(label, i)));
    this.fit();
  }

  private fit(): void {
    const width = this.box.clientWidth;
    if (width === 0) return;
    if (this.plot) this.plot.setSize({ width, height: HEIGHT });
    else if (this.labels.length > 0) this.plot = new uPlot(this.plotOptions(width), this.data, this.box);
  }

  private plotOptions(width: number): uPlot.Options {
    const axis: uPlot.Axis = { stroke: INK, font: "12px system-ui, sans-serif", grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1 } };
    // Times of day as 13:05:09 (uPlot's default adds the date, and a 12-hour clock).
    const xAxis: uPlot.Axis = {
      ...axis,
      space: 70,
      values: (_u, values) => values.map((v) => (this.options.time ? new Date(v * 1000).toLocaleTimeString("en-GB") : `${formatDecimal(v)} s`)),
    };
    return {
      width,
      height: HEIGHT,
      legend: { show: false },
      // No hover read-out (the legend is ours, and a figure for the mouse alone helps no one else)
      // and no drag-to-zoom (the next second's data would undo it).
      cursor: { show: false },
      scales: {
        // A single point (the first poll, a run shorter than a second) still gets an axis of some width.
        x: { time: this.options.time, range: (_u, min, max) => [min, max > min ? max : min + 1] },
        // From 0: a load of 3 % drawn as a full-height line would read as a crisis.
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [xAxis, { ...axis, size: 56 }],
      series: [{}, ...this.labels.map((label, i): uPlot.Series => {
        const { colour, dash } = styleOf(i);
        return { label, stroke: colour, width: 2, dash, points: { size: 5, fill: colour } };
      })],
    };
  }

  /** The text alternative: each series' latest figure, and the span shown. */
  private describe(x: number[], ys: Value[][]): void {
    const latest = ys.map((values, i) => {
      let last: Value;
      for (let j = values.length - 1; j >= 0 && last === undefined; j--) last = values[j];
      const figure = typeof last === "number" ? `${formatDecimal(last)} ${this.options.unit}` : "no figure";
      return `${this.labels[i]} ${figure}`;
    });
    const span = x.length > 1 ? x[x.length - 1]! - x[0]! : 0;
    this.summary.textContent = x.length ? `Latest: ${latest.join(", ")}; ${formatCount(Math.round(span))} s shown.` : "No data yet.";
    // Read by the browser test: the points each series has, and the seconds the chart spans.
    this.box.dataset["points"] = ys.map((values) => values.filter((v) => typeof v === "number").length).join(" ");
    this.box.dataset["span"] = String(span);
  }
}

/** A legend entry: a sample of the series' line (its colour and dashes) and its name. */
function legendItem(label: string, i: number): HTMLLIElement {
  const { colour, dash } = styleOf(i);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", "28");
  svg.setAttribute("height", "10");
  svg.setAttribute("aria-hidden", "true");
  const line = document.createElementNS("http://www.w3.org/2000/svg", "line");
  // Attributes, not a style: the page's CSP forbids inline style attributes.
  const attributes = { x1: "0", y1: "5", x2: "28", y2: "5", stroke: colour, "stroke-width": "3", "stroke-dasharray": dash.join(" ") || "none" };
  for (const [name, value] of Object.entries(attributes)) line.setAttribute(name, value);
  svg.append(line);
  const item = document.createElement("li");
  item.append(svg, label);
  return item;
}

/** A bar chart in plain HTML (a list: each bar's label and figure are text): shares of a total. */
export class BarList {
  constructor(private readonly list: HTMLElement) {}

  show(bars: Array<{ label: string; count: number }>): void {
    const total = bars.reduce((sum, bar) => sum + bar.count, 0);
    this.list.replaceChildren(...bars.map(({ label, count }) => {
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.className = "bar-label";
      name.textContent = label;
      const track = document.createElement("span");
      track.className = "bar-track";
      track.setAttribute("aria-hidden", "true");
      const bar = document.createElement("span");
      bar.className = "bar";
      // Setting a property of element.style is not an inline style attribute: the CSP allows it.
      bar.style.width = `${total ? (100 * count) / total : 0}%`;
      track.append(bar);
      const figure = document.createElement("span");
      figure.className = "bar-figure";
      figure.textContent = `${formatCount(count)} (${formatShare(count, total)})`;
      item.append(name, track, figure);
      return item;
    }));
  }
}
