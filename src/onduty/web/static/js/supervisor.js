// The supervisor's page: the team's status widget (W1) and its filter (W2) in
// widget.js, the agent card with the status picker (S2), the agent's threads and
// their pending request (W3, S4) in card.js, and the queue with why nothing is being
// routed, if so (W5), in queue.js; acting on threads (W6) in actions.js, and a thread
// read (read only) in threadview.js. A new approval request is announced (W7, notify.js).
// This module holds the page's one state object, loads it, and applies every event to
// it (apply): each module's functions take it.
//
// Live from one event stream (events.js): it connects first; each time it is
// ready (first connect, and after every reconnect) the page reads the state
// through the API, holding back the events that arrive meanwhile and applying
// them after, in order. `agent.updated` carries the whole row, so a row is
// replaced, never added twice; a change of status alone comes as
// `agent.status_changed` with the row's new `status` and `presence`. Timers
// ("in status for", the oldest wait, a prompt's countdown, an overdue mark) tick here
// every second, on the server's clock. The strip's queue and today's figures come from
// GET /floor (floor.js): every 30 s, and once after a burst of thread and queue events.
import { setUpActions } from "./actions.js";
import { api } from "./api.js";
import { closeCard, loadCardThreads, renderCard, setUpCard } from "./card.js";
import { chatPanel } from "./chat.js";
import { chrome } from "./chrome.js";
import { syncClock, tickAll } from "./clock.js";
import { $, toast } from "./dom.js";
import { EventStream } from "./events.js";
import { figuresBox, floorFeed, renderFigures, tickFigures } from "./floor.js";
import { announce, setUpNotifications } from "./notify.js";
import { queueChanged, refreshQueue, setUpQueue, tickQueue } from "./queue.js";
import { requireRole } from "./session.js";
import { reasonLabel, rowAfterStatusChange } from "./status.js";
import { openThreadView, setUpThreadView, threadEvent } from "./threadview.js";
import { debounce, loadHolding } from "./timing.js";
import {
  dropRows,
  renderFilter,
  renderRows,
  renderSummary,
  setUpWidget,
  showAgent,
  showBusy,
  tickWidget,
  viewFromLocation,
} from "./widget.js";

const user = requireRole("supervisor", "admin");

const state = {
  user,
  admin: user?.role === "admin",
  agents: new Map(), // id -> the API's agent object (the row)
  reasons: [], // the reason catalogue, retired ones too
  live: false, // the stream is connected: its events bring every change
  // widget.js
  rows: new Map(), // id -> <tr>
  groupRows: new Map(), // team -> its heading <tr>, while grouped by team
  rover: null, // the row in the tab order
  // filter: "all", "active_free", "overdue", "state:<state>" or "reason:<code>"; search,
  // sort, descending, pendingFirst, group
  view: viewFromLocation(),
  filterKey: "", // the reasons the filter offers now, to rebuild it only when they change
  // floor.js: GET /floor's queue and today, for the strip
  floor: null,
  // queue.js
  queue: null, // the API's answer to GET /queue
  queueAt: 0, // when it came (browser clock): waits count on from then
  queueAsked: 0,
  queueAll: false, // the supervisor asked to see every waiting thread, not the next few
  // card.js
  card: null, // the open card: {id, threads, pickerTouched, busy, opener}
  threadsAsked: 0,
  // actions.js, threadview.js
  picker: null, // the transfer picker (transfer.js)
  closing: null, // the thread a close is asked for: {thread, opener}
  viewing: null, // the thread read in the view: {id, opener, asked}
  chat: null, // the chat panel (chat.js): "message this agent" on a row, "ask first" in the picker
  // Applies an event now, as the stream's are: for what a module reads from the API itself.
  apply: (event) => apply(event),
};

const figures = figuresBox();

function start() {
  chrome(user);
  setUpNotifications(user);
  $("#figures").replaceWith(figures);
  state.floor = floorFeed({ onFloor: (feed) => renderFigures(figures, feed) }).start();
  setUpWidget(state);
  setUpCard(state);
  setUpThreadView(state);
  setUpQueue(state);
  setUpActions(state, () => {
    refreshQueue(state);
    if (state.card) loadCardThreads(state);
  });
  state.chat = chatPanel({
    user,
    reasons: () => state.reasons,
    onShowing: () => stream.subscribe(subscription()),
    onThread: (thread, opener) => openThreadView(state, thread, opener),
  });
  const stream = new EventStream(onEvent, {
    onReady: ({ at }) => {
      syncClock(at);
      load();
      state.chat.reload();
      state.floor.soon(); // what changed while the stream was away
    },
    onState: (connection) => {
      state.live = connection === "live";
      showBusy(state);
    },
  });
  stream.subscribe(subscription());
  setInterval(tick, 1000);
  stream.start();
}

// What the page shows (W1, W5): its team's rows and the general queue (an admin's, every
// team); and, while the chat is open, everyone's presence (C1, W4), coalesced.
function subscription() {
  const shown = { teams: state.admin ? "all" : user.team ? [user.team] : [], queue: true };
  return state.chat && state.chat.showing() ? { ...shown, presence: "all" } : shown;
}

// -- the state, from the API, then from events --------------------------------------------

// The team and the catalogue, read again; events meanwhile wait for it (timing.js).
const { load, onEvent } = loadHolding(async () => {
  try {
    const [list, catalogue] = await Promise.all([api("GET", "/agents"), api("GET", "/reasons")]);
    state.reasons = catalogue;
    state.agents.clear();
    for (const agent of list) state.agents.set(agent.id, agent);
    dropRows(state);
    renderFilter(state);
    renderRows(state);
    refreshQueue(state);
    if (state.card) {
      if (state.agents.has(state.card.id)) {
        renderCard(state);
        loadCardThreads(state);
      } else closeCard();
    }
  } catch (failure) {
    toast(`Could not load the team: ${failure.message}`);
  }
}, (event) => apply(event));

const reloadSoon = debounce(load, 300);
const queueSoon = debounce(() => refreshQueue(state), 250);
const cardThreadsSoon = debounce(() => state.card && loadCardThreads(state), 300);

// Every event, in order: what each one changes on the page.
function apply(event) {
  state.chat.event(event);
  const { name, data } = event;
  if (name === "agent.updated") {
    upsert(data.agent);
    state.picker.rowChanged(data.agent);
  } else if (name === "agent.status_changed") {
    if (data.status && state.agents.has(data.agent_id)) {
      upsert(rowAfterStatusChange(state.agents.get(data.agent_id), data));
    }
    state.picker.statusChanged(data);
  } else if (name === "approval.requested") announceRequest(data);
  else if (name === "agent.registered" || name === "agent.changed" || name === "reason.saved") reloadSoon();
  // Every move of the queue and every change of routing comes as `queue.changed`.
  if (name === "queue.changed") {
    queueChanged(state, data);
    queueSoon();
    state.floor.queueChanged(data);
  }
  // Today's figures move with the threads: one read of /floor after a burst.
  if (name === "queue.changed" || name.startsWith("thread.")) state.floor.soon();
  if (name.startsWith("thread.")) {
    if (state.card) cardThreadsSoon();
    threadEvent(state, data);
  }
}

// W7: a new approval request for one of the page's agents. Only an agent asks for
// their own break (S4), so it is never the supervisor's own act.
function announceRequest(data) {
  const agent = state.agents.get(data.agent_id);
  if (!agent) return;
  const what = data.state === "inactive" ? reasonLabel(state.reasons, data.reason) : data.state;
  announce({
    title: `${agent.name} asks for ${what}`,
    body: "Approve or reject it on their card.",
    tag: `approval-${data.request_id}`,
  });
}

// One agent's new row: shown in the widget and on their open card, or gone from both
// when they moved to another team.
function upsert(agent) {
  if (!state.admin && agent.team !== user.team) {
    // Moved to another team: no longer ours to show.
    if (state.rows.has(agent.id)) {
      state.agents.delete(agent.id);
      dropRows(state);
      if (state.card && state.card.id === agent.id) closeCard();
      renderSummary(state);
    }
    return;
  }
  const before = state.agents.get(agent.id);
  state.agents.set(agent.id, agent);
  showAgent(state, agent, before);
  if (state.card && state.card.id === agent.id) {
    renderCard(state);
    if (!before || before.threads !== agent.threads || before.pinned_messages !== agent.pinned_messages) {
      cardThreadsSoon();
    }
  }
}

// Every second: the timers, on the server's clock.
function tick() {
  tickAll();
  tickQueue(state);
  tickWidget(state);
  tickFigures(figures, state.floor);
}

if (user) start();
