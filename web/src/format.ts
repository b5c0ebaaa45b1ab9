// Numbers as a person reads them, the same whatever the browser's locale (the tests read them too).

const COUNT = new Intl.NumberFormat("en");
const DECIMAL = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });

/** "1,234 bytes", "2.8 MB": sizes as a person reads them. */
export function formatBytes(n: number): string {
  if (n < 10_000) return `${COUNT.format(n)} ${n === 1 ? "byte" : "bytes"}`;
  const units = ["kB", "MB", "GB"];
  let value = n / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export function formatCount(n: number): string {
  return COUNT.format(n);
}

/** "3.1", "1,234.5": a measurement, to a tenth. */
export function formatDecimal(n: number): string {
  return DECIMAL.format(n);
}

/** "42.5 %": a count's share of a total. */
export function formatShare(count: number, total: number): string {
  return `${total ? ((100 * count) / total).toFixed(1) : "0.0"} %`;
}

/** A job's start: the time of day, with the date when it was not today (by this browser's clock). */
export function formatTime(ms: number): string {
  const when = new Date(ms);
  const time = when.toLocaleTimeString("en-GB");
  return when.toDateString() === new Date().toDateString() ? time : `${when.toLocaleDateString("en-GB")} ${time}`;
}
