// How numbers and times read on the pages: counts with their noun, durations, times of day.

// "1 agent", "3 agents"; a word whose plural is not word + "s" names it.
export function plural(n, word, pluralWord = `${word}s`) {
  return `${n} ${n === 1 ? word : pluralWord}`;
}

// A running time, short: "42s", "3m 07s", "2h 05m".
export function duration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

// The time of day of an ISO instant in this browser's zone ("14:05", or "14:05:09"); "" for none.
export function timeOfDay(iso, { seconds = false } = {}) {
  if (!iso) return "";
  const parts = { hour: "2-digit", minute: "2-digit" };
  if (seconds) parts.second = "2-digit";
  return new Date(iso).toLocaleTimeString([], parts);
}
