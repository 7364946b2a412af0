// A thread of the team, read only, for the supervisor who wants to see what is going on:
// its messages, its state and who holds it, with no answer box (answers come from the
// holder). It follows the thread live while open: every event on it reads it again. A
// thread that leaves the team (an agent handed it to another team's agent) or leaves the
// queue closed is no longer the supervisor's to read: the view says so.
import { api } from "./api.js";
import { $, h, put, refocus } from "./dom.js";
import { timeOfDay } from "./format.js";
import { agentName } from "./status.js";
import { debounce } from "./timing.js";

const dialog = $("#thread-view");
const STATE_WORDS = {
  queued: "In the queue",
  assigned: "Waiting for the holder's answer",
  in_progress: "In progress",
  closed: "Closed",
};

export function setUpThreadView(state) {
  state.viewing = null; // {id, opener, asked}
  dialog.addEventListener("close", () => {
    const { opener } = state.viewing || {};
    state.viewing = null;
    refocus(opener);
  });
  $("#thread-view-close").addEventListener("click", () => dialog.close());
  state.viewSoon = debounce(() => state.viewing && loadView(state), 200);
}

// The focus goes back to `opener` when the view closes (refocus).
export function openThreadView(state, thread, opener) {
  state.viewing = { id: thread.id, opener, asked: 0 };
  $("#thread-view-title").textContent = `Thread #${thread.id} with ${thread.client_id}`;
  put($("#thread-view-state"), h("span", { class: "muted" }, "Loading…"));
  $("#thread-view-messages").replaceChildren();
  $("#thread-view-error").hidden = true;
  if (!dialog.open) dialog.showModal();
  loadView(state);
}

// An event on the thread shown: read it again (soon: one read for a burst of events).
export function threadEvent(state, data) {
  if (state.viewing && data && data.thread_id === state.viewing.id) state.viewSoon();
}

async function loadView(state) {
  const viewing = state.viewing;
  const asked = ++viewing.asked;
  try {
    const thread = await api("GET", `/threads/${viewing.id}`);
    if (state.viewing !== viewing || asked !== viewing.asked) return;
    renderView(state, thread);
  } catch (failure) {
    if (state.viewing !== viewing || asked !== viewing.asked) return;
    const error = $("#thread-view-error");
    error.textContent =
      failure.status === 404
        ? `Thread #${viewing.id} is no longer your team's to see: it went to another team, or out of the queue closed.`
        : `Could not read the thread: ${failure.message}`;
    error.hidden = false;
  }
}

function holderName(state, agentId) {
  return agentId === null ? null : agentName(state.agents, agentId);
}

function renderView(state, thread) {
  $("#thread-view-error").hidden = true;
  const holder = holderName(state, thread.agent_id);
  put(
    $("#thread-view-state"),
    h("span", { class: `pill state-${thread.state}` }, STATE_WORDS[thread.state] || thread.state),
    h("span", {}, holder ? `Held by ${holder}` : thread.state === "queued" ? "Nobody holds it yet" : ""),
    thread.created_at ? h("span", { class: "muted" }, `opened at ${timeOfDay(thread.created_at)}`) : null,
  );
  const list = $("#thread-view-messages");
  const atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.replaceChildren(
    ...thread.messages.map((message) =>
      h(
        "li",
        { class: `message ${message.author}${message.pinned ? " pinned" : ""}`, dataset: { messageId: String(message.id) } },
        h(
          "div",
          { class: "meta" },
          h("span", { class: "author" }, message.author === "client" ? thread.client_id : holderName(state, message.agent_id) || "Agent"),
          h("time", { datetime: message.at || "" }, timeOfDay(message.at)),
          message.pinned ? h("span", { class: "pin-badge" }, "Pinned") : null,
        ),
        h("p", { class: "text" }, message.text),
      ),
    ),
  );
  if (atEnd) list.scrollTop = list.scrollHeight; // follow the conversation unless scrolled back
}
