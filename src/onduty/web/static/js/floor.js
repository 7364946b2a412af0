// W5, the floor at a glance: a tile per status with its count, the general queue and
// today's service. One code path for the supervisor page's strip and the wallboard:
// the counts come from the rows the page holds (each equals `GET /agents?status=<key>`
// for the page's scope, as /floor's do), the queue and today from `GET /floor`, read
// every 30 s and soon after the queue moves, never once per event.
import { api } from "./api.js";
import { serverNow } from "./clock.js";
import { $, h, placeInOrder, say } from "./dom.js";
import { duration, percent } from "./format.js";
import { debounce } from "./timing.js";
import { ACTIVE_FREE_LABEL, STATE_LABELS } from "./status.js";

const POLL_MS = 30_000;
const AFTER_EVENTS_MS = 2_000;

// -- which agents a status key names (the widget's filter, W2) -------------------------------

// S10: overdue from `overdue_at` on, on the server's clock, without waiting for the
// event (which follows within the engine's tick).
export function isOverdue(agent, now = serverNow()) {
  return Boolean(agent.overdue || (agent.overdue_at && Date.parse(agent.overdue_at) <= now));
}

// The key is "all", "active_free", "overdue", "state:<state>" or "reason:<code>": the
// filters `GET /agents?status=` knows (a reason's is its code).
export function matches(agent, key, now = serverNow()) {
  const { state, reason } = agent.status;
  if (key === "all") return true;
  if (key === "active_free") return state === "active" && agent.threads === 0;
  if (key === "overdue") return isOverdue(agent, now);
  const [kind, code] = key.split(":");
  if (kind === "state") return state === code;
  return state === "inactive" && reason === code;
}

// The key as `GET /agents?status=` (and the page's address) writes it; null for all.
export function statusParam(key) {
  if (key === "all") return null;
  return key.includes(":") ? key.split(":")[1] : key;
}

export function keyFromParam(param) {
  if (!param || param === "all") return "all";
  if (param === "active_free" || param === "overdue") return param;
  if (param in STATE_LABELS) return `state:${param}`;
  return `reason:${param}`;
}

// -- the tiles ------------------------------------------------------------------------------

// Reasons offered: every one that can be chosen, and a retired one while someone is in it
// (or it is the filter), as /floor counts them.
export function offeredReasons(reasons, agents, selected = "all") {
  // In it: inactive for it (finishing towards it is not in it yet, as /floor counts).
  const inUse = new Set([...agents].filter((a) => a.status.state === "inactive").map((a) => a.status.reason));
  return reasons.filter((r) => !r.retired || inUse.has(r.code) || selected === `reason:${r.code}`);
}

// Each tile: [key, label, css class of its mark]. States in the order people think of
// them, then every reason, then overdue (S10).
export function tileList(reasons, agents, selected = "all") {
  return [
    ["all", "All", "tile-all"],
    ["active_free", ACTIVE_FREE_LABEL, "st-active-free"],
    ["state:active", "Active (all)", "st-active"],
    ["state:active_own_clients", "Own clients only", "st-active-own-clients"],
    ["state:finishing", "Finishing", "st-finishing"],
    ["state:not_ready", STATE_LABELS.not_ready, "st-not-ready"],
    ["state:inactive", "Inactive (any)", "st-inactive"],
    ...offeredReasons(reasons, agents, selected).map((r) => [
      `reason:${r.code}`,
      r.retired ? `${r.label} (retired)` : r.label,
      "st-inactive",
    ]),
    ["state:kicked_out", "Kicked out", "st-kicked-out"],
    ["state:offline", STATE_LABELS.offline, "st-offline"],
    ["overdue", "Overdue", "tile-overdue"],
  ];
}

export function countTiles(tiles, agents, now = serverNow()) {
  const counts = new Map(tiles.map(([key]) => [key, 0]));
  for (const agent of agents) for (const [key] of tiles) if (matches(agent, key, now)) counts.set(key, counts.get(key) + 1);
  return counts;
}

// Draws the tiles into `box`, reusing the elements it drew before (a focused tile keeps
// its focus). With `onPick`, each tile is a toggle button that is the filter for it
// (aria-pressed); without, a plain figure (the wallboard has no controls).
export function renderTiles(box, { reasons, agents, selected = "all", onPick = null }) {
  const list = [...agents];
  const tiles = tileList(reasons, list, selected);
  const counts = countTiles(tiles, list);
  const els = tiles.map(([key, label, mark]) => {
    let el = box.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (!el) {
      el = onPick
        ? h("button", { type: "button", class: "tile", dataset: { key } })
        : h("div", { class: "tile", role: "listitem", dataset: { key } });
      el.append(h("span", { class: "tile-count" }), h("span", { class: `tile-label ${mark}` }));
      // Pressing the chosen tile again clears the filter; the choice is read at the press.
      if (onPick) el.addEventListener("click", () => onPick(key === box.dataset.selected && key !== "all" ? "all" : key));
    }
    const n = counts.get(key);
    el.dataset.param = statusParam(key) ?? "";
    el.classList.toggle("tile-zero", n === 0);
    el.classList.toggle("tile-alert", key === "overdue" && n > 0);
    el.querySelector(".tile-count").textContent = String(n);
    el.querySelector(".tile-label").textContent = label;
    if (onPick) el.setAttribute("aria-pressed", String(key === selected));
    return el;
  });
  for (const el of [...box.children]) if (!els.includes(el)) el.remove();
  placeInOrder(box, els);
  box.dataset.selected = selected;
  return counts;
}

// -- the queue and today's service (GET /floor) -------------------------------------------

// W5: why nothing is routed, if so; halted and at capacity are different problems.
const ROUTING_WORDS = {
  flowing: "Flowing",
  halted: "Halted: nobody is Active",
  at_capacity: "At capacity: every active agent is full",
};

// Reads /floor for `team` (null: the caller's scope) every 30 s, and soon after `soon()`
// (a burst of events makes one read); `queueChanged` applies what `queue.changed` says
// at once. `onFloor(floor, at)` gets each answer and when it came (browser clock).
export function floorFeed({ team = null, onFloor, onError = () => {} }) {
  const path = team ? `/floor?team=${encodeURIComponent(team)}` : "/floor";
  let asked = 0;
  const feed = {
    floor: null,
    at: 0,
    async read() {
      const mine = ++asked;
      try {
        const answer = await api("GET", path);
        if (mine !== asked) return;
        feed.floor = answer;
        feed.at = Date.now();
        onFloor(feed);
      } catch (failure) {
        if (mine === asked) onError(failure);
      }
    },
    soon: null,
    queueChanged(data) {
      if (!feed.floor) return;
      const queue = { ...feed.floor.queue, length: data.length, routing: data.routing };
      if (data.length === 0) queue.oldest_wait_seconds = null;
      feed.floor = { ...feed.floor, queue };
      onFloor(feed);
    },
    start() {
      feed.read();
      setInterval(() => feed.read(), POLL_MS);
      return feed;
    },
  };
  feed.soon = debounce(() => feed.read(), AFTER_EVENTS_MS);
  return feed;
}

// The longest wait counts on from when the floor was read.
function oldestWait(feed) {
  const oldest = feed.floor.queue.oldest_wait_seconds;
  return oldest === null ? "–" : duration(oldest + (Date.now() - feed.at) / 1000);
}

// The figures, into a box made by figuresBox(): filled in place, so a screen reader's
// place stays.
export function renderFigures(box, feed) {
  if (!feed.floor) return;
  const { queue, today } = feed.floor;
  const set = (name, text) => say($(`[data-figure="${name}"]`, box), text);
  set("queue-length", String(queue.length));
  set("queue-oldest", oldestWait(feed));
  set("routing", ROUTING_WORDS[queue.routing] || queue.routing);
  $('[data-figure="routing"]', box).dataset.routing = queue.routing;
  set("received", String(today.received));
  set("answered", String(today.answered));
  set(
    "mean-first-answer",
    today.mean_first_answer_seconds === null ? "–" : duration(today.mean_first_answer_seconds),
  );
  set("service-level", percent(today.service_level));
  set("service-level-target", `within ${duration(today.service_level_target)}`);
}

// Every second: the longest wait counts on.
export function tickFigures(box, feed) {
  if (feed.floor) say($('[data-figure="queue-oldest"]', box), oldestWait(feed));
}

// The figures' markup: two groups, the queue and today.
export function figuresBox() {
  const figure = (name, label, note = null) =>
    h(
      "div",
      { class: "figure" },
      h("dt", {}, label),
      h("dd", {}, h("span", { class: "figure-value", dataset: { figure: name } }, "–"), note),
    );
  return h(
    "div",
    { class: "figures" },
    h(
      "section",
      { class: "figure-group", "aria-label": "Queue" },
      h("h3", {}, "Queue"),
      h(
        "dl",
        {},
        figure("queue-length", "Waiting"),
        figure("queue-oldest", "Longest wait"),
        figure("routing", "Routing"),
      ),
    ),
    h(
      "section",
      { class: "figure-group", "aria-label": "Today" },
      h("h3", {}, "Today"),
      h(
        "dl",
        {},
        figure("received", "Received"),
        figure("answered", "Answered"),
        figure("mean-first-answer", "Mean first answer"),
        figure(
          "service-level",
          "Service level",
          h("span", { class: "figure-note", dataset: { figure: "service-level-target" } }, ""),
        ),
      ),
    ),
  );
}
