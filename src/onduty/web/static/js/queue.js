// The general queue (R6): how many threads wait, the oldest wait, the first few, and
// how routing stands (W5): flowing, halted (nobody is Active), or waiting for room
// (every active agent is full), with a banner for the last two while threads wait. Each
// waiting thread can be assigned to a chosen agent (W6).
import { mayAct, transferThread } from "./actions.js";
import { api } from "./api.js";
import { $, h, refocus, say } from "./dom.js";
import { duration } from "./format.js";

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
    const answer = await api("GET", "/queue?limit=5");
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

// `queue.changed` says at once what the banner needs; the list follows from the API
// (the caller reads it again, soon).
export function queueChanged(state, data) {
  if (!state.queue) return;
  state.queue = { ...state.queue, length: data.length, routing: data.routing };
  renderQueue(state);
}

// Waits count on from when the queue was read (the server gave them in seconds then).
function queueWait(state, seconds) {
  return seconds + (Date.now() - state.queueAt) / 1000;
}

export function renderQueue(state) {
  const { queue } = state;
  if (!queue) return;
  $("#queue-length").textContent = String(queue.length);
  renderOldest(state);
  renderRouting(queue.routing, queue.length);
  const list = $("#queue-items");
  const focused = list.contains(document.activeElement) ? document.activeElement : null;
  list.replaceChildren(
    ...queue.items.map((item) =>
      h(
        "li",
        {},
        h("span", { class: "client" }, item.client_id),
        item.priority ? h("span", { class: "pill" }, `priority ${item.priority}`) : null,
        waitCell(state, item),
        mayAct(state) ? assignButton(state, item) : null,
      ),
    ),
  );
  if (focused) refocus(focused); // a keyboard user stays on their button
}

// W6, R3: a queued thread goes to the agent the supervisor chooses, whatever their status
// or load (while routing is halted, say: nobody is Active).
function assignButton(state, item) {
  const thread = { id: item.id, client_id: item.client_id, agent_id: null, state: "queued" };
  return h(
    "button",
    {
      type: "button",
      class: "assign",
      id: `queue-${item.id}-assign`, // found again after a redraw (refocus)
      onclick: (event) => transferThread(state, thread, event.currentTarget),
    },
    "Assign to…",
    h("span", { class: "visually-hidden" }, ` thread #${item.id} with ${item.client_id}`),
  );
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
  const waiting = `${n} thread${n === 1 ? " is" : "s are"} waiting in the queue`;
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
