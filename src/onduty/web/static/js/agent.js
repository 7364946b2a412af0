// The agent's workspace: own status (S2-S6), own threads, transfer with presence (R3, W4),
// and a new thread announced (W7).
//
// One live stream: connect first, load over REST when it is ready (again after
// every reconnect), then apply events. Our own `agent.updated` carries the whole
// agent object (status, prompt, pending request), so it is rendered as it comes
// (a change of status alone comes as `agent.status_changed` with the new status);
// thread events reload the open threads; while the transfer picker is open, colleagues'
// presence (`presence.changed`, coalesced) refreshes its dots. A thread given to the
// agent (by the router, or transferred by someone else) is announced once the reload
// shows its client.
import { api, openThreads } from "./api.js";
import { chatPanel } from "./chat.js";
import { chrome } from "./chrome.js";
import { secondsSince, secondsUntil, syncClock } from "./clock.js";
import { $, h, placeInOrder, toast } from "./dom.js";
import { EventStream } from "./events.js";
import { duration, shorten, timeOfDay } from "./format.js";
import { announce, setTitle, setUpNotifications } from "./notify.js";
import { requireRole } from "./session.js";
import { STATE_LABELS, reasonLabel, statusClass } from "./status.js";
import { coalesced } from "./timing.js";
import { transferPicker } from "./transfer.js";

const user = requireRole("agent");

// What the stream carries: one's own events (and one's chat); colleagues' presence (W4)
// only while the transfer picker or the chat shows it (coalesced by the server into
// `presence.changed`).
const OWN = {};
const WITH_PRESENCE = { presence: "all" };
// Choices an agent can make themselves (S2): never finishing (S3 decides) or kicked_out.
const OWN_STATES = ["active", "active_own_clients", "not_ready"];

const state = {
  me: null, // the API's agent object
  reasons: [],
  threads: new Map(), // thread id -> {thread, el, parts}
  lastStatusKey: null,
  lastPending: null,
  news: [], // threads given to the agent, to announce: {threadId, how, seq}
  eventSeq: 0, // counts thread events, so a reload knows which news it can tell
  picker: null, // the transfer picker (transfer.js)
  chat: null, // the chat panel (chat.js)
  stream: null, // the event stream (events.js)
};

function start() {
  chrome(user);
  setUpNotifications(user);
  state.picker = transferPicker({
    ownTeam: user.team,
    reasons: () => state.reasons,
    onDone: (thread, to) => {
      toast(`Thread with ${thread.client_id} transferred to ${to ? to.name : "your colleague"}.`);
      refresh.threads();
    },
    onAsk: (person, thread) => state.chat.openWith(person, { thread }), // C1: "ask first"
  });
  state.chat = chatPanel({
    user,
    reasons: () => state.reasons,
    onShowing: () => state.stream.subscribe(subscription()),
    onThread: showThread,
  });
  state.stream = new EventStream(onEvent, { onReady });
  state.stream.subscribe(OWN);
  state.stream.start().reportInput(); // S8: the person is still here (idle_timeout)
  $("#transfer-dialog").addEventListener("close", () => state.stream.subscribe(subscription()));
  setInterval(tick, 500);
  $("#status-form").addEventListener("submit", setStatus);
  $("#status-choice").addEventListener("change", renderChoiceHint);
  $("#continue").addEventListener("click", continueWorking);
  $("#choose-status").addEventListener("click", () => {
    const choice = $("#status-choice");
    choice.value = "active";
    choice.focus();
  });
  $("#log-in").addEventListener("click", () => presence("login"));
}

function subscription() {
  return state.picker.thread() || state.chat.showing() ? WITH_PRESENCE : OWN;
}

// -- loading and live events ----------------------------------------------------

async function onReady({ first, at }) {
  syncClock(at);
  try {
    const [me, reasons] = await Promise.all([api("GET", "/me"), api("GET", "/reasons")]);
    state.reasons = reasons;
    let agent = me.agent;
    // Opening the workspace is the presence login (S5): it restores the last status.
    if (first && agent.status.state === "offline") agent = await api("POST", "/me/login");
    renderReasons();
    renderMe(agent);
  } catch (failure) {
    toast(`Could not load your status: ${failure.message}`);
  }
  refresh.threads();
  state.picker.reload();
  state.chat.reload();
}

function onEvent(event) {
  state.chat.event(event);
  const { name, data } = event;
  if (name === "agent.updated" && data.agent && data.agent.id === user.id) {
    renderMe(data.agent);
  } else if (name === "approval.decided" && data.agent_id === user.id) {
    const what = requestedLabel(state.lastPending);
    toast(`Your request${what ? ` for ${what}` : ""} was ${data.approved ? "approved" : "rejected"}.`);
  } else if (name === "approval.cancelled" && data.agent_id === user.id) {
    const why = { replaced: "replaced by a newer one", logged_out: "you logged out", reason_retired: "the reason was retired" };
    toast(`Your approval request was cancelled: ${why[data.why] || data.why}.`);
  } else if (name === "agent.prompted" && data.agent_id === user.id) {
    if (state.me) renderPrompt({ ...state.me, prompt_deadline: data.deadline });
  } else if (name === "agent.prompt_cleared" && data.agent_id === user.id) {
    if (state.me) renderPrompt({ ...state.me, prompt_deadline: null });
  } else if (name.startsWith("thread.")) {
    state.eventSeq += 1;
    const news = newForMe(name, data);
    if (news) state.news.push({ threadId: data.thread_id, how: news, seq: state.eventSeq });
    refresh.threads();
  } else if (name === "reason.saved") {
    refresh.reasons();
  } else if (name === "agent.status_changed") {
    // A change of status alone carries the new status (no `agent.updated` then).
    if (data.agent_id === user.id && data.status && state.me) {
      renderMe({ ...state.me, status: data.status, presence: data.presence });
    }
    state.picker.statusChanged(data);
  } else if (name === "presence.changed") {
    for (const change of data.changes) state.picker.statusChanged(change); // each colleague's latest
  } else if (name === "agent.registered" || name === "agent.changed") {
    state.picker.reload(); // a new colleague, or a new team: names and teams come from the API
  }
}

// W7: a thread the agent did not take by their own act: routed to them, or transferred
// to them by someone else.
function newForMe(name, data) {
  if (name === "thread.assigned" && data.agent_id === user.id) return "assigned";
  if (name === "thread.transferred" && data.to_agent_id === user.id) {
    const self = data.actor && data.actor.kind === "agent" && data.actor.id === user.id;
    return self ? null : "transferred";
  }
  return null;
}

// Reloads: one request at a time, once more if asked while it ran; a failure is told.
function reloader(load) {
  return coalesced(async () => {
    try {
      await load();
    } catch (failure) {
      toast(failure.message);
    }
  });
}

const refresh = {
  threads: reloader(async () => {
    const seen = state.eventSeq; // this reload shows every thread event up to here
    renderThreads(await openThreads(user.id));
    announceNews(seen);
  }),
  reasons: reloader(async () => {
    state.reasons = await api("GET", "/reasons");
    renderReasons();
  }),
};

// Told once the list shows the thread; one gone again already (requeued, closed) is not.
function announceNews(seen) {
  const told = state.news.filter((n) => n.seq <= seen);
  state.news = state.news.filter((n) => n.seq > seen);
  for (const { threadId, how } of told) {
    const entry = state.threads.get(threadId);
    if (!entry) continue;
    const { thread } = entry;
    const last = [...thread.messages].reverse().find((m) => m.author === "client");
    const text = last ? last.text : "";
    announce({
      title: how === "transferred" ? `Transferred to you: ${thread.client_id}` : `New thread: ${thread.client_id}`,
      body: shorten(text, 120),
      tag: `thread-${threadId}`,
    });
  }
}

// -- my status --------------------------------------------------------------------

function reasonOf(code) {
  return state.reasons.find((r) => r.code === code) || null;
}

function requestedLabel(request) {
  if (!request) return "";
  const { state: wanted, reason } = request.requested;
  if (wanted === "inactive") return reasonLabel(state.reasons, reason);
  return STATE_LABELS[wanted] || wanted;
}

// Each option reads just its label, so a closed picker shows it whole on a narrow card:
// the reasons that need approval (S4) are grouped under a heading that says so.
function renderReasons() {
  const select = $("#status-choice");
  const kept = select.value;
  const open = state.reasons.filter((r) => !r.retired);
  const group = (label, reasons) =>
    reasons.length &&
    h(
      "optgroup",
      { label },
      reasons.map((r) => h("option", { value: `inactive:${r.code}`, dataset: { approval: String(r.requires_approval) } }, r.label)),
    );
  select.replaceChildren(
    ...OWN_STATES.map((s) => h("option", { value: s }, STATE_LABELS[s])),
    ...[
      group("Inactive", open.filter((r) => !r.requires_approval)),
      group("Inactive — needs approval", open.filter((r) => r.requires_approval)),
    ].filter(Boolean),
  );
  if (kept && [...select.options].some((o) => o.value === kept)) select.value = kept;
  else if (state.me) selectCurrent(state.me.status);
  renderChoiceHint();
}

// Says under the picker whether the chosen status needs a supervisor first (S4).
function renderChoiceHint() {
  const select = $("#status-choice");
  const chosen = select.selectedOptions[0];
  const needs = Boolean(chosen && chosen.dataset.approval === "true");
  const some = state.reasons.some((r) => r.requires_approval && !r.retired);
  const hint = $("#status-hint");
  hint.classList.toggle("needs-approval", needs); // on a phone only this one shows
  hint.hidden = !needs && !some;
  hint.textContent = needs
    ? `${chosen.textContent} needs a supervisor's approval: you keep your status until they decide.`
    : "Reasons under “needs approval” go to a supervisor first.";
}

function statusValue(status) {
  if (status.state === "inactive" || status.state === "finishing") return `inactive:${status.reason}`;
  return status.state;
}

function selectCurrent(status) {
  const select = $("#status-choice");
  const value = statusValue(status);
  if ([...select.options].some((o) => o.value === value)) select.value = value;
  renderChoiceHint();
}

function renderMe(agent) {
  state.me = agent;
  const { status } = agent;
  const chip = $("#my-status");
  chip.className = `status ${statusClass(status, agent.threads)}`;
  chip.textContent = status.label;
  document.body.dataset.agentState = status.state;

  // The select follows the status when the status changes, unless the agent is choosing.
  const key = `${status.state}:${status.reason}`;
  const select = $("#status-choice");
  if (key !== state.lastStatusKey && document.activeElement !== select) selectCurrent(status);
  state.lastStatusKey = key;

  $("#my-load").textContent = `${agent.threads} of ${agent.capacity}`;
  $("#my-pins").textContent = String(agent.pinned_messages);
  $("#kicked").hidden = status.state !== "kicked_out";
  $("#logged-out").hidden = status.state !== "offline";
  renderPending(agent.pending_request);
  renderPrompt(agent);
  tick();
}

function renderPending(request) {
  const box = $("#pending");
  if (request) state.lastPending = request;
  box.hidden = !request;
  if (!request) return box.replaceChildren();
  const at = timeOfDay(request.created_at);
  box.replaceChildren(
    h("strong", {}, "Waiting for approval: "),
    h("span", { class: "pending-what" }, requestedLabel(request)),
    h("span", { class: "hint" }, ` — asked at ${at}. You keep your current status until a supervisor decides.`),
  );
}

const TITLE = document.title;

function renderPrompt(agent) {
  const prompt = $("#prompt");
  const show = Boolean(agent.prompt_deadline);
  const wasHidden = prompt.hidden;
  prompt.hidden = !show;
  setTitle(show ? `Continue working? · ${TITLE}` : TITLE); // seen from another tab too
  prompt.dataset.deadline = agent.prompt_deadline || "";
  if (show && wasHidden) {
    $("#continue").disabled = false;
    tick();
  }
}

function tick() {
  if (!state.me) return;
  const { status } = state.me;
  const more = $("#my-status-more");
  const parts = [];
  if (status.state === "finishing") {
    const next = reasonOf(status.reason);
    parts.push(`Finishing your threads, then ${next ? next.label : "inactive"}.`);
  }
  if (status.since) parts.push(`For ${duration(secondsSince(status.since))}.`);
  more.textContent = parts.join(" ");

  const deadline = $("#prompt").dataset.deadline;
  if (deadline) {
    const left = secondsUntil(deadline);
    // Whole seconds, truncated: the skew estimate runs a little low (delivery takes time),
    // and a countdown must never show more time than the rule gives.
    $("#prompt-left").textContent = left > 0 ? `${Math.floor(left)} s` : "0 s";
  }
}

async function setStatus(event) {
  event.preventDefault();
  const error = $("#status-error");
  error.hidden = true;
  const [wanted, reason] = $("#status-choice").value.split(":");
  const body = reason ? { state: wanted, reason } : { state: wanted };
  const button = event.submitter || $("#status-form button");
  button.disabled = true;
  try {
    const answer = await api("PUT", "/me/status", body);
    if (answer && answer.requested) toast(`Asked for ${requestedLabel(answer)}: a supervisor decides.`);
    renderMe(await api("GET", `/agents/${user.id}`));
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

async function continueWorking() {
  const button = $("#continue");
  button.disabled = true;
  try {
    renderMe(await api("POST", "/me/continue"));
  } catch (failure) {
    button.disabled = false;
    toast(failure.message);
  }
}

async function presence(action) {
  try {
    renderMe(await api("POST", `/me/${action}`));
    refresh.threads();
  } catch (failure) {
    toast(failure.message);
  }
}

// -- threads ----------------------------------------------------------------------

const THREAD_STATE = { assigned: "Waiting for your answer", in_progress: "In progress" };

function renderThreads(threads) {
  const list = $("#threads");
  const keep = new Set(threads.map((t) => t.id));
  for (const [id, entry] of state.threads) {
    if (!keep.has(id)) {
      entry.el.remove();
      state.threads.delete(id);
    }
  }
  for (const thread of threads) {
    let entry = state.threads.get(thread.id);
    if (!entry) {
      entry = buildThread(thread);
      state.threads.set(thread.id, entry);
    }
    updateThread(entry, thread);
  }
  placeInOrder(list, threads.map((t) => state.threads.get(t.id).el));
  $("#thread-count").textContent = String(threads.length);
  $("#no-threads").hidden = threads.length > 0;
  const moving = state.picker.thread();
  if (moving && !keep.has(moving.id)) state.picker.close();
}

function buildThread(thread) {
  const id = thread.id;
  const parts = {
    state: h("span", { class: "pill" }),
    pins: h("span", { class: "pill pinned-count" }),
    messages: h("ol", { class: "messages", "aria-label": `Messages with ${thread.client_id}` }),
    error: h("p", { class: "error", role: "alert", hidden: true }),
    reply: h("textarea", { id: `reply-${id}`, name: "text", rows: 2, required: true }),
    messageEls: new Map(),
  };
  const form = h(
    "form",
    { class: "reply", novalidate: true },
    h("label", { for: `reply-${id}` }, `Answer ${thread.client_id}`),
    parts.reply,
    parts.error,
    h(
      "div",
      { class: "row" },
      h("button", { type: "submit", class: "primary" }, "Send"),
      h("button", { type: "button", class: "transfer", onclick: (event) => openTransfer(id, event.currentTarget) }, "Transfer…"),
      h("button", { type: "button", class: "close-thread", onclick: () => closeThread(id, parts) }, "Close thread"),
      h("span", { class: "hint hide-narrow" }, "Ctrl+Enter sends"),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    answer(id, parts);
  });
  parts.reply.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      answer(id, parts);
    }
  });
  const el = h(
    "article",
    { class: "thread", dataset: { threadId: String(id) }, "aria-labelledby": `thread-${id}-title` },
    h(
      "header",
      { class: "thread-head" },
      h("h3", { id: `thread-${id}-title` }, thread.client_id),
      parts.state,
      parts.pins,
      h("span", { class: "muted small" }, `#${id} · since ${timeOfDay(thread.created_at)}`),
    ),
    parts.messages,
    form,
  );
  return { el, parts, thread };
}

function updateThread(entry, thread) {
  entry.thread = thread;
  const { parts } = entry;
  entry.el.dataset.state = thread.state;
  parts.state.textContent = THREAD_STATE[thread.state] || thread.state;
  parts.state.className = `pill state-${thread.state}`;
  const pinned = thread.messages.filter((m) => m.pinned).length;
  parts.pins.hidden = pinned === 0;
  parts.pins.textContent = `${pinned} pinned`;
  let added = false;
  for (const message of thread.messages) {
    let el = parts.messageEls.get(message.id);
    if (!el) {
      el = buildMessage(thread.id, message);
      parts.messageEls.set(message.id, el);
      parts.messages.append(el);
      added = true;
    }
    updateMessage(el, message);
  }
  if (added) parts.messages.scrollTop = parts.messages.scrollHeight;
}

function authorOf(message) {
  if (message.author === "client") return "Client";
  if (message.agent_id === user.id) return "You";
  const colleague = state.picker.people.get(message.agent_id);
  return colleague ? colleague.name : `Agent ${message.agent_id}`;
}

function buildMessage(threadId, message) {
  const pin = h("button", { type: "button", class: "pin", "aria-pressed": "false" }, "Pin");
  pin.addEventListener("click", () => togglePin(threadId, message.id, pin));
  return h(
    "li",
    { class: `message ${message.author}`, dataset: { messageId: String(message.id) } },
    h(
      "div",
      { class: "meta" },
      h("span", { class: "author" }, authorOf(message)),
      h("time", { datetime: message.at || "" }, timeOfDay(message.at)),
      h("span", { class: "pin-badge" }, "Pinned"),
      pin,
    ),
    h("p", { class: "text" }, message.text),
  );
}

function updateMessage(el, message) {
  el.classList.toggle("pinned", message.pinned);
  const pin = $(".pin", el);
  pin.setAttribute("aria-pressed", String(message.pinned));
  pin.textContent = message.pinned ? "Unpin" : "Pin";
  pin.setAttribute("aria-label", `${message.pinned ? "Unpin" : "Pin"} this message`);
}

async function act(parts, work) {
  parts.error.hidden = true;
  try {
    const thread = await work();
    return thread;
  } catch (failure) {
    parts.error.textContent = failure.message;
    parts.error.hidden = false;
    return null;
  }
}

function applyThread(thread) {
  const entry = state.threads.get(thread.id);
  if (entry && thread.agent_id === user.id && thread.state !== "closed") updateThread(entry, thread);
}

async function answer(id, parts) {
  const text = parts.reply.value.trim();
  if (!text) {
    parts.error.textContent = "Write an answer first.";
    parts.error.hidden = false;
    parts.reply.focus();
    return;
  }
  const thread = await act(parts, () => api("POST", `/threads/${id}/messages`, { text }));
  if (thread) {
    parts.reply.value = "";
    applyThread(thread);
  }
}

async function closeThread(id, parts) {
  if ((await act(parts, () => api("POST", `/threads/${id}/close`))) !== null) {
    toast("Thread closed.");
    refresh.threads();
  }
}

// A consultation's thread (C1), when it is one of the agent's: its card, ready to answer.
function showThread(thread) {
  const entry = state.threads.get(thread.id);
  if (!entry) return toast(`Thread #${thread.id} with ${thread.client_id} is not one of yours now.`);
  entry.el.scrollIntoView({ block: "nearest" });
  entry.parts.reply.focus();
  return null;
}

function openTransfer(id, opener) {
  const entry = state.threads.get(id);
  if (!entry) return;
  state.picker.open(entry.thread, { opener });
  state.stream.subscribe(WITH_PRESENCE).then(state.picker.reload); // loaded once no change can be missed
}

async function togglePin(threadId, messageId, button) {
  const entry = state.threads.get(threadId);
  const pinned = button.getAttribute("aria-pressed") === "true";
  const thread = await act(entry.parts, () =>
    api(pinned ? "DELETE" : "POST", `/threads/${threadId}/messages/${messageId}/pin`),
  );
  if (thread) applyThread(thread);
}

if (user) start();
