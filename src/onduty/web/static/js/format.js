// How counts and lengths of time read on every page, as people say them:
// "1 supervisor", "2 supervisors", "30 days", "1 h 30 min", "45 s".

const GROUPED = new Intl.NumberFormat("en-US", { maximumFractionDigits: 3 });

// A number with its thousands grouped: 86400 -> "86,400".
export function count(n) {
  return GROUPED.format(n);
}

// "1 agent", "0 agents", "2 supervisors"; `pluralWord` for the words that do not take an s.
export function plural(n, word, pluralWord = `${word}s`) {
  return `${count(n)} ${n === 1 ? word : pluralWord}`;
}

// The units a length of time is said in, longest first.
export const UNITS = [
  { name: "day", seconds: 86400 },
  { name: "hour", seconds: 3600 },
  { name: "minute", seconds: 60 },
  { name: "second", seconds: 1 },
];

const SHORT = { hour: "h", minute: "min", second: "s" };

// A length of time in seconds, as people say it: "30 days", "1 day 2 h", "1 h 30 min", "1 min",
// "45 s", "0 s". Every part that is not zero is said, so that nothing is rounded away.
export function humanDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return "";
  let left = Math.abs(Number(seconds));
  const parts = [];
  for (const unit of UNITS) {
    const whole = unit.seconds === 1 ? Math.round(left * 1000) / 1000 : Math.floor(left / unit.seconds);
    if (!whole) continue;
    left -= whole * unit.seconds;
    parts.push(unit.name === "day" ? plural(whole, "day") : `${count(whole)} ${SHORT[unit.name]}`);
  }
  const said = parts.length ? parts.join(" ") : "0 s";
  return Number(seconds) < 0 ? `-${said}` : said;
}
