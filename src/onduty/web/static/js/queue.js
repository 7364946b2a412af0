// The general queue (R6): how many threads wait, the oldest wait, the next few to be
// routed (or all of them, on request), and how routing stands (W5): flowing, halted
// (nobody is Active), or waiting for room (every active agent is full), with a banner for
// the last two while threads wait. Each waiting thread can be read (read only), assigned
// to a chosen agent, or closed after a confirm (W6).
import { threadButtons } from "./actions.js";
import { api } from "./api.js";
import { $, focusIn, h, keepFocus, say } from "./dom.js";
import { count, duration, plural, pluralWord } from "./format.js";
import { agentName } from "./status.js";

// The panel lists the next few threads; "Show all" lists as many as GET /queue gives at
// most (its `limit`, 1 to 1000).
const FEW = 5;
const MOST = 1000;

// W5: how routing stands, in the queue panel (a thread that arrives now would…).
const ROUTING_LINE = {
  flowing: "Routing: flowing (an active agent has room).",
  halted: "Routing: halted (nobody is Active).",
  at_capacity: "Routing: waiting for room (every active agent is full).",
};

// Reads the queue; an answer that a later request overtook is dropped.
export async function refreshQueue(state) {
  const asked = ++state.queueAsked;
  try {
    const limit = state.queueAll ? MOST : FEW;
    const answer = await api("GET", `/queue?limit=${limit}`);
    if (asked !== state.queueAsked) return; // a later answer is on its way
    state.queue = answer;
    state.queueAt = Date.now();
    renderQueue(state);
  } catch (failure) {
    if (asked !== state.queueAsked) return;
    const line = $("#queue-routing");
    delete line.dataset.routing;
    line.textContent = `Could not read the queue: ${failure.message}`;
  }
}

// `queue.changed` says at once what the banner and the figures need; the list follows from
// the API (the caller reads it again, soon), so it is not drawn again until then.
export function queueChanged(state, data) {
  if (!state.queue) return;
  state.queue = { ...state.queue, length: data.length, routing: data.routing };
  renderFigures(state);
}

// Waits count on from when the queue was read (the server gave them in seconds then).
function queueWait(state, seconds) {
  return seconds + (Date.now() - state.queueAt) / 1000;
}

// "Show all" and "Show fewer": the choice holds while the page is open, and every read of
// the queue after it (each move of the queue reads it again) lists that many.
export function setUpQueue(state) {
  $("#queue-more").addEventListener("click", () => {
    state.queueAll = !state.queueAll;
    renderQueue(state); // fewer at once; all once the read comes
    refreshQueue(state);
  });
}

export function renderQueue(state) {
  const { queue } = state;
  if (!queue) return;
  const list = $("#queue-items");
  const fallback = $("#queue-title");
  const focus = focusIn(list);
  const items = state.queueAll ? queue.items : queue.items.slice(0, FEW);
  list.replaceChildren(
    ...items.map((item) =>
      h(
        "li",
        {},
        h("span", { class: "client" }, item.client_id),
        item.priority ? h("span", { class: "pill" }, `priority ${item.priority}`) : null,
        ownerPill(state, item),
        waitCell(state, item),
        h(
          "div",
          { class: "sv-queue-actions" },
          threadButtons(state, { ...item, agent_id: null, state: "queued" }, { list, fallback, idPrefix: `queue-${item.id}` }),
        ),
      ),
    ),
  );
  renderFigures(state);
  keepFocus(list, focus, fallback);
}

// The length, the oldest wait, how routing stands and the list's toggle.
function renderFigures(state) {
  const { queue } = state;
  $("#queue-length").textContent = String(queue.length);
  renderOldest(state);
  renderRouting(queue.routing, queue.length);
  renderMore(state, $("#queue-items").children.length);
}

// The toggle shows once more threads wait than the panel lists by default. The count is
// the list's: the general queue and the threads waiting for their own agent of the team
// (R4), which GET /queue lists after it.
function renderMore(state, shown) {
  const { queue } = state;
  const total = queue.length + queue.waiting_for_owner;
  const more = $("#queue-more");
  const hadFocus = document.activeElement === more;
  more.hidden = total <= FEW;
  if (hadFocus && more.hidden) $("#queue-title").focus(); // not lost to the page's top
  more.textContent = state.queueAll ? "Show fewer" : `Show all ${count(total)}`;
  // Past what GET /queue lists at most: said, not left to be guessed. Only then: a count
  // told live runs ahead of the list until it is read again.
  const rest = total - shown;
  const note = $("#queue-rest");
  note.hidden = shown < MOST || rest <= 0; // a full list of MOST was read with "Show all"
  note.textContent = note.hidden ? "" : `…and ${plural(rest, "more thread")}, not listed.`;
}

// R4: a thread on its way to its own agent, listed after the general queue.
function ownerPill(state, item) {
  if (item.reserved_for === null) return null;
  return h("span", { class: "pill" }, `waits for ${agentName(state.agents, item.reserved_for)}`);
}

function waitCell(state, item) {
  const wait = item.waiting_seconds;
  return h("span", { class: "wait", dataset: { wait } }, duration(queueWait(state, wait)));
}

function renderOldest(state) {
  const oldest = state.queue.oldest_wait_seconds;
  $("#queue-oldest").textContent = oldest === null ? "–" : duration(queueWait(state, oldest));
}

// Every second: the waits count on.
export function tickQueue(state) {
  if (!state.queue) return;
  renderOldest(state);
  for (const el of document.querySelectorAll("#queue-items [data-wait]")) {
    el.textContent = duration(queueWait(state, Number(el.dataset.wait)));
  }
}

// W5: halted (R6, nobody is active) and at capacity (every active agent is full) are two
// different problems for a supervisor, so each has its own words and colour. A banner
// shows only while threads wait; the queue panel always says how routing stands.
function renderRouting(routing, n) {
  const waiting = `${plural(n, "thread")} ${pluralWord(n, "is", "are")} waiting in the queue`;
  const halted = $("#r6-banner");
  const full = $("#capacity-banner");
  halted.hidden = !(routing === "halted" && n > 0);
  full.hidden = !(routing === "at_capacity" && n > 0);
  if (!halted.hidden) {
    say(
      halted,
      `Nobody is active: routing is halted. ${waiting} and will be handed out ` +
        "the moment an agent becomes Active.",
    );
  }
  if (!full.hidden) {
    say(
      full,
      `Every active agent is at capacity. ${waiting} for room, and will be handed out ` +
        "as soon as an agent has room again or another agent becomes Active.",
    );
  }
  const line = $("#queue-routing");
  line.dataset.routing = routing;
  line.textContent = ROUTING_LINE[routing] || `Routing: ${routing}`;
}
