// How numbers and times read on the pages, as people say them: counts with their noun
// ("1 supervisor", "2 supervisors"), shares ("87.5%"), lengths of time ("30 days",
// "1 h 30 min", "45 s"), running times, times of day; and text cut short.

const GROUPED = new Intl.NumberFormat("en-US", { maximumFractionDigits: 3 });

// A number with its thousands grouped: 86400 -> "86,400".
export function count(n) {
  return GROUPED.format(n);
}

// "1 agent", "0 agents", "3 agents"; a word whose plural is not word + "s" names it.
export function plural(n, word, many = `${word}s`) {
  return `${count(n)} ${pluralWord(n, word, many)}`;
}

// The word alone, agreeing with n: "minute" or "minutes", "it" or "them".
export function pluralWord(n, word, many = `${word}s`) {
  return n === 1 ? word : many;
}

// A share (0.875) as a percentage to a tenth: "87.5%", "100%"; "–" for none.
export function percent(share) {
  return share === null || share === undefined ? "–" : `${Math.round(share * 1000) / 10}%`;
}

// Text cut to at most `most` characters, an ellipsis marking the cut.
export function shorten(text, most) {
  return text.length > most ? `${text.slice(0, most - 1)}…` : text;
}

// A running time, short, for a clock that ticks: "42s", "3m 07s", "2h 05m".
export function duration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

// The units a length of time is said in, longest first.
export const UNITS = [
  { name: "day", seconds: 86400 },
  { name: "hour", seconds: 3600 },
  { name: "minute", seconds: 60 },
  { name: "second", seconds: 1 },
];

const SHORT = { hour: "h", minute: "min", second: "s" };

// `n` of one unit as humanDuration says it: "2 days", "1 h", "30 min", "45 s".
export function durationPart(n, unit) {
  return unit === "day" ? plural(n, "day") : `${count(n)} ${SHORT[unit]}`;
}

// A length of time in seconds (a setting, a limit), as people say it: "30 days",
// "1 day 2 h", "1 h 30 min", "1 min", "45 s", "0 s". Every part that is not zero is said,
// so that nothing is rounded away; "" for no number.
export function humanDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return "";
  let left = Math.abs(Number(seconds));
  const parts = [];
  for (const unit of UNITS) {
    const whole = unit.seconds === 1 ? Math.round(left * 1000) / 1000 : Math.floor(left / unit.seconds);
    if (!whole) continue;
    left -= whole * unit.seconds;
    parts.push(durationPart(whole, unit.name));
  }
  const said = parts.length ? parts.join(" ") : "0 s";
  return Number(seconds) < 0 ? `-${said}` : said;
}

// The time of day of an ISO instant in this browser's zone ("14:05", or "14:05:09"); "" for none.
export function timeOfDay(iso, { seconds = false } = {}) {
  if (!iso) return "";
  const parts = { hour: "2-digit", minute: "2-digit" };
  if (seconds) parts.second = "2-digit";
  return new Date(iso).toLocaleTimeString([], parts);
}
