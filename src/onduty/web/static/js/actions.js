// W6: the supervisor acts on their team's work: transfer a thread to an agent of the
// team (the picker in transfer.js, with presence, status and load, W4), assign a queued
// thread to a chosen agent (a transfer out of the queue, R3: whatever their status, and
// capacity does not block), and close a thread after a confirm. The server checks the
// same (a supervisor acts only on their team's threads and the queue, and hands them only
// to their team); what it refuses is said in words where the person acted.
//
// After an action the stream's events update the card, the rows and the queue; while the
// stream is away the page asks again itself.
import { api } from "./api.js";
import { $, h, itemButton, put, refocus, toast } from "./dom.js";
import { agentName } from "./status.js";
import { openThreadView } from "./threadview.js";
import { transferPicker } from "./transfer.js";

const closeBox = $("#close-confirm");

export function setUpActions(state, refresh) {
  state.picker = transferPicker({
    team: state.admin ? null : state.user.team,
    reasons: () => state.reasons,
    onDone: (thread, to) => {
      const how = thread.agent_id === null ? "assigned" : "transferred";
      toast(`Thread with ${thread.client_id} ${how} to ${to ? to.name : "the agent"}.`);
      if (!state.live) refresh();
    },
    onAsk: (person, thread) => state.chat.openWith(person, { thread }), // C1: "ask first"
  });
  closeBox.addEventListener("close", () => {
    const { opener } = state.closing || {};
    state.closing = null;
    refocus(opener);
  });
  $("#close-confirm-no").addEventListener("click", () => closeBox.close());
  $("#close-confirm-yes").addEventListener("click", () => closeThread(state, refresh));
}

// Admins read the floor but do not act on threads (API.md: close and transfer are for the
// holding agent and supervisors), so their page offers no such buttons.
function mayAct(state) {
  return !state.admin;
}

// W6: a thread's buttons on the card and in the queue: read it (read only), hand it on (a
// held one transferred, a queued one assigned: R3, whatever the agent's status or load),
// or close it, asked first; admins only read. A dialog gives the focus back to its button,
// or near it in `list` (else to `fallback`) when the thread has left the list meanwhile.
export function threadButtons(state, thread, { list, fallback, idPrefix }) {
  const [kind, text, title] =
    thread.agent_id === null
      ? ["assign", "Assign to…", "Assign thread"]
      : ["transfer", "Transfer…", "Transfer thread"];
  // Each button's name says which thread, for a screen reader going from button to button.
  const button = (kind, text, onClick) =>
    itemButton(
      { list, fallback, id: `${idPrefix}-${kind}`, kind, onClick },
      text,
      h("span", { class: "visually-hidden" }, ` thread #${thread.id} with ${thread.client_id}`),
    );
  return [
    button("view", "View", (b) => openThreadView(state, thread, b)),
    mayAct(state) ? button(kind, text, (b) => state.picker.open(thread, { title, opener: b })) : null,
    mayAct(state) ? button("close-thread", "Close…", (b) => askToClose(state, thread, b)) : null,
  ];
}

// The close asks first: the conversation ends for the client and the holder alike. The
// focus goes back to `opener` (refocus).
function askToClose(state, thread, opener) {
  state.closing = { thread, opener };
  put(
    $("#close-confirm-text"),
    h(
      "p",
      {},
      `Thread #${thread.id} with ${thread.client_id}, ${whereItIs(state, thread)}, ends for good: ` +
        "nobody can answer it any more.",
    ),
    thread.state === "assigned" ? h("p", {}, "It has not been answered yet.") : null,
  );
  $("#close-confirm-error").hidden = true;
  $("#close-confirm-yes").disabled = false;
  if (!closeBox.open) closeBox.showModal();
}

function whereItIs(state, thread) {
  if (thread.agent_id !== null) return `held by ${agentName(state.agents, thread.agent_id)}`;
  // R4: queued, but outside the general queue, for the client's own agent.
  if (thread.reserved_for) return `waiting for ${agentName(state.agents, thread.reserved_for)} (the client's own agent)`;
  return "waiting in the queue";
}

async function closeThread(state, refresh) {
  if (!state.closing) return;
  const { thread } = state.closing;
  const yes = $("#close-confirm-yes");
  const error = $("#close-confirm-error");
  yes.disabled = true;
  error.hidden = true;
  try {
    await api("POST", `/threads/${thread.id}/close`);
    closeBox.close();
    toast(`Thread with ${thread.client_id} closed.`);
    if (!state.live) refresh();
  } catch (failure) {
    error.textContent = `Not closed: ${failure.message}`;
    error.hidden = false;
    yes.disabled = false;
  }
}
