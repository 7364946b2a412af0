// The server's clock, as this page reads it. Timers ("in status for", a prompt's
// countdown) count on the server's time, not this browser's, which may be off by
// minutes: the event stream's ready message carries the server's time (`at`), and
// the difference is kept until the next one (after every reconnect).
import { duration } from "./format.js";

let skew = 0; // server time minus browser time (ms)

// Call with each stream.ready's `at`.
export function syncClock(at) {
  if (at) skew = Date.parse(at) - Date.now();
}

export function serverNow() {
  return Date.now() + skew;
}

// Seconds from an ISO instant until now on the server's clock (0 for none).
export function secondsSince(iso) {
  return iso ? (serverNow() - Date.parse(iso)) / 1000 : 0;
}

// Seconds from now on the server's clock until an ISO instant (negative once past).
export function secondsUntil(iso) {
  return (Date.parse(iso) - serverNow()) / 1000;
}

// An element that counts up from its data-since ("for 3m 10s", with data-prefix and
// data-suffix around it); tickAll() moves every such element on the page on.
export function ticking(el) {
  const { since, prefix = "", suffix = "" } = el.dataset;
  el.textContent = `${prefix}${duration(secondsSince(since))}${suffix}`;
  return el;
}

// An element that counts down to its data-until ("25s left", with data-prefix and
// data-suffix around it), never below zero; tickAll() moves it on too.
export function countingDown(el) {
  const { until, prefix = "", suffix = "" } = el.dataset;
  el.textContent = `${prefix}${duration(secondsUntil(until))}${suffix}`;
  return el;
}

export function tickAll(root = document) {
  for (const el of root.querySelectorAll("[data-since]")) ticking(el);
  for (const el of root.querySelectorAll("[data-until]")) countingDown(el);
}
