// W3: the agent card, a dialog over the widget: who the agent is, their status and who
// set it, the status picker (S2), their pending request with Approve and Reject (W6
// asks first when unanswered threads would move), and their open threads (S4), each
// with View (read only, threadview.js), Transfer… and Close… (W6, actions.js).
//
// state.card is the open card ({id, threads, pickerTouched, busy, opener}) or null.
// An action calls the API, then catches up on the agent (catchUp) while the stream
// is away; while it is live, the stream's events bring the change.
import { threadButtons } from "./actions.js";
import { api, openThreads } from "./api.js";
import { BELL, icon, paintAvatar, prompted, statusChip } from "./badges.js";
import { chatPerson } from "./chat.js";
import { ticking } from "./clock.js";
import { $, focusIn, h, initials, keepFocus, put, toast } from "./dom.js";
import { plural, pluralWord } from "./format.js";
import { STATE_LABELS, reasonLabel } from "./status.js";

// S2: what a supervisor may set (never finishing or kicked_out; S3 decides finishing).
const PICK_STATES = [
  ["active", "Active"],
  ["active_own_clients", STATE_LABELS.active_own_clients],
  ["not_ready", STATE_LABELS.not_ready],
];
const THREAD_STATE = { queued: "queued", assigned: "waiting for an answer", in_progress: "in progress" };

const dialog = $("#card");
const confirmBox = $("#approve-confirm");

export function setUpCard(state) {
  // C1: "message this agent": the card gives way to the chat with them.
  $("#card-message").addEventListener("click", () => {
    const agent = state.card && state.agents.get(state.card.id);
    if (!agent) return;
    const opener = state.card.opener;
    dialog.close();
    state.chat.openWith(chatPerson(agent), { opener });
  });
  dialog.addEventListener("close", () => {
    if (confirmBox.open) confirmBox.close();
    const opener = state.card && state.card.opener;
    state.card = null;
    if (opener && opener.isConnected) opener.focus();
  });
  $("#card-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });

  $("#card-picker").addEventListener("change", () => {
    if (!state.card) return;
    state.card.pickerTouched = true;
    const agent = state.agents.get(state.card.id);
    $("#card-change-button").disabled = agent.status.state === "offline" || !$("#card-picker").value;
  });
  $("#card-change").addEventListener("submit", (event) => {
    event.preventDefault();
    changeStatus(state);
  });

  $("#card-approve").addEventListener("click", () => {
    const agent = state.card && state.agents.get(state.card.id);
    if (agent && agent.unanswered_threads > 0) askToConfirm(state, agent);
    else decide(state, "approve");
  });
  $("#approve-confirm-yes").addEventListener("click", () => {
    confirmBox.close("approve");
    decide(state, "approve");
  });
  $("#approve-confirm-no").addEventListener("click", () => confirmBox.close());
  confirmBox.addEventListener("close", () => {
    // Not approved (Cancel, Escape): back to the button that asked.
    if (confirmBox.returnValue !== "approve" && state.card && dialog.open) $("#card-approve").focus();
  });
  $("#card-reject").addEventListener("click", () => decide(state, "reject"));
}

// `opener` gets the focus back when the card closes.
export function openCard(state, id, opener) {
  state.card = { id, threads: null, pickerTouched: false, opener };
  $("#card-error").hidden = true;
  renderCard(state);
  $("#card-threads").replaceChildren(h("li", { class: "muted" }, "Loading threads…"));
  if (!dialog.open) dialog.showModal();
  loadCardThreads(state);
}

export function closeCard() {
  dialog.close();
}

export function renderCard(state) {
  const agent = state.agents.get(state.card.id);
  if (!agent) return;
  const { status } = agent;
  const target = paintAvatar($("#card-avatar"), agent);
  target.textContent = initials(agent.name);
  $("#card-name").textContent = agent.name;
  $("#card-sub").textContent = `${agent.username} · team ${agent.team} · capacity ${agent.capacity}`;
  put(
    $("#card-status"),
    statusChip(agent),
    status.since ? ticking(h("span", { class: "muted", dataset: { since: status.since, prefix: "for " } })) : null,
    h("span", { class: "muted" }, setBy(state, status.set_by)),
    prompted(agent),
  );

  const request = agent.pending_request;
  const box = $("#card-request");
  box.hidden = !request;
  if (request) {
    put(
      $("#card-request-text"),
      icon(BELL),
      ` ${agent.name} asks for `,
      h("strong", {}, reasonLabel(state.reasons, request.requested.reason)),
      request.created_at
        ? ticking(
            h("span", {
              class: "muted sv-ago",
              dataset: { since: request.created_at, prefix: "asked ", suffix: " ago" },
            }),
          )
        : null,
    );
    box.dataset.requestId = request.id;
  }
  if (confirmBox.open) {
    if (request) renderConfirm(state, agent);
    else confirmBox.close(); // decided meanwhile (by someone else, or withdrawn)
  }

  renderPicker(state, agent);
}

function setBy(state, actor) {
  if (!actor) return "";
  if (actor.kind === "system") return `set by the system${actor.why ? ` (${actor.why.replace(/_/g, " ")})` : ""}`;
  if (actor.kind === "agent") return "set by the agent";
  if (actor.id === state.user.id) return "set by you";
  return `set by ${actor.kind === "admin" ? "an admin" : "a supervisor"}`;
}

// -- S2: the status picker ------------------------------------------------------------------

function currentPick(state, status) {
  if (status.state === "offline") return "offline";
  if (status.state === "inactive" || status.state === "finishing") {
    const reason = state.reasons.find((r) => r.code === status.reason && !r.retired);
    return reason ? `inactive:${reason.code}` : "";
  }
  return PICK_STATES.some(([value]) => value === status.state) ? status.state : "";
}

function renderPicker(state, agent) {
  const { card } = state;
  const picker = $("#card-picker");
  const button = $("#card-change-button");
  const note = $("#card-change-note");
  const offline = agent.status.state === "offline";
  const keep = card.pickerTouched ? picker.value : currentPick(state, agent.status);
  picker.replaceChildren(
    h("option", { value: "", disabled: true }, "Choose a status…"),
    h("optgroup", { label: "Working" }, PICK_STATES.map(([value, label]) => h("option", { value }, label))),
    h(
      "optgroup",
      { label: "Inactive" },
      state.reasons.filter((r) => !r.retired).map((r) => h("option", { value: `inactive:${r.code}` }, r.label)),
    ),
    h("optgroup", { label: "Log out" }, h("option", { value: "offline" }, "Offline (log the agent out)")),
  );
  picker.value = keep;
  if (picker.value !== keep) picker.value = "";
  picker.disabled = offline;
  button.disabled = offline || !picker.value || card.busy === true;
  if (offline) {
    note.textContent =
      `Change is not available: ${agent.name} is offline. ` +
      "A supervisor can change the status of a signed-in agent only; they need to sign in first.";
    note.hidden = false;
  } else if (agent.status.state === "inactive" && !currentPick(state, agent.status) && agent.status.reason) {
    note.textContent = `“${agent.status.label}” has been retired: it can no longer be chosen.`;
    note.hidden = false;
  } else note.hidden = true;
}

async function changeStatus(state) {
  if (!state.card) return;
  const value = $("#card-picker").value;
  if (!value) return;
  const [wanted, reason] = value.split(":");
  const id = state.card.id;
  const body = reason ? { state: wanted, reason } : { state: wanted };
  await act(state, async () => {
    const status = await api("PUT", `/agents/${id}/status`, body);
    toast(`${state.agents.get(id)?.name || "The agent"} is now ${status.label}.`);
    if (state.card && state.card.id === id) state.card.pickerTouched = false;
    await catchUp(state, id);
  });
}

// -- the pending request: approve (W6) or reject ----------------------------------------

// W6: approving sends the agent on a break; what becomes of the threads they have not
// answered yet depends on R5 and R6, so the supervisor reads it before it happens.
function askToConfirm(state, agent) {
  renderConfirm(state, agent);
  confirmBox.returnValue = "";
  confirmBox.showModal();
}

function renderConfirm(state, agent) {
  const n = agent.unanswered_threads;
  const request = agent.pending_request;
  const target = request ? reasonLabel(state.reasons, request.requested.reason) : "the break";
  const them = pluralWord(n, "it", "them");
  const listed = (state.card.threads || []).filter((thread) => thread.state === "assigned");
  const which =
    listed.length === n ? `: ${listed.map((thread) => `#${thread.id} (${thread.client_id})`).join(", ")}` : "";
  put(
    $("#approve-confirm-text"),
    h("p", {}, `${agent.name} still holds ${plural(n, "unanswered thread")}${which}.`),
    h(
      "p",
      {},
      `Approving ${target}: ${pluralWord(n, "it goes", "they go")} back to the queue if another agent ` +
        `is ready to take ${them}. If nobody is, ${agent.name} keeps ${them} and finishes ` +
        `${them} first, then goes to ${target}.`,
    ),
  );
}

async function decide(state, verb) {
  if (!state.card) return;
  const id = state.card.id;
  const requestId = $("#card-request").dataset.requestId;
  await act(state, async () => {
    await api("POST", `/approvals/${requestId}/${verb}`);
    toast(`${verb === "approve" ? "Approved" : "Rejected"}: ${state.agents.get(id)?.name || "the agent"}'s request.`);
    if (state.card && state.card.id === id) state.card.pickerTouched = false;
    await catchUp(state, id);
  });
}

// -- acting from the card -------------------------------------------------------------------

// Run a card action with its buttons off, and say what went wrong where it happened.
async function act(state, work) {
  const error = $("#card-error");
  error.hidden = true;
  const buttons = [$("#card-change-button"), $("#card-approve"), $("#card-reject")];
  for (const b of buttons) b.disabled = true;
  const card = state.card;
  card.busy = true;
  try {
    await work();
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
    if (state.card) await catchUp(state, state.card.id);
  } finally {
    card.busy = false;
    // The buttons are the dialog's, whichever agent it shows by now (or none: it may
    // have been closed meanwhile, and opened again for another agent).
    $("#card-approve").disabled = false;
    $("#card-reject").disabled = false;
    const agent = state.card && state.agents.get(state.card.id);
    if (agent) renderPicker(state, agent);
  }
}

// While the stream is live its events bring the change; while it is away, ask, and
// apply the answer as the stream would have.
export async function catchUp(state, id) {
  if (state.live) return;
  try {
    const agent = await api("GET", `/agents/${id}`);
    state.apply({ name: "agent.updated", data: { agent } });
  } catch {
    /* the stream brings it when it is back */
  }
}

// -- S4: the agent's open threads ---------------------------------------------------------

export async function loadCardThreads(state) {
  const id = state.card.id;
  const asked = ++state.threadsAsked;
  try {
    const threads = await openThreads(id);
    if (asked !== state.threadsAsked || !state.card || state.card.id !== id) return;
    state.card.threads = threads;
    renderCardThreads(state);
    if (confirmBox.open && state.agents.has(id)) renderConfirm(state, state.agents.get(id));
  } catch (failure) {
    if (state.card && state.card.id === id) {
      $("#card-threads").replaceChildren(h("li", { class: "error" }, failure.message));
    }
  }
}

function renderCardThreads(state) {
  const list = $("#card-threads");
  const { threads } = state.card;
  $("#card-threads-title").textContent = `Threads (${threads.length})`;
  const focus = focusIn(list);
  list.replaceChildren(
    ...(threads.length
      ? threads.map((thread) => threadItem(state, thread))
      : [h("li", { class: "muted" }, "No open threads.")]),
  );
  keepFocus(list, focus, $("#card-threads-title"));
}

function threadItem(state, thread) {
  const last = thread.messages[thread.messages.length - 1];
  const pins = thread.messages.filter((m) => m.pinned).length;
  return h(
    "li",
    { class: "thread", dataset: { state: thread.state, threadId: thread.id } },
    h(
      "div",
      { class: "row" },
      h("strong", {}, `#${thread.id}`),
      h("span", {}, thread.client_id),
      h("span", { class: "pill" }, THREAD_STATE[thread.state] || thread.state),
      pins ? h("span", { class: "pill sv-pins" }, `${pins} pinned`) : null,
      thread.created_at
        ? ticking(
            h("span", {
              class: "muted",
              dataset: { since: thread.created_at, prefix: "opened ", suffix: " ago" },
            }),
          )
        : null,
    ),
    last
      ? h(
          "p",
          { class: "sv-last" },
          h("span", { class: "muted" }, last.author === "client" ? "Client: " : "Agent: "),
          last.text,
        )
      : null,
    h(
      "div",
      { class: "row sv-thread-actions" },
      threadButtons(state, thread, {
        list: $("#card-threads"),
        fallback: $("#card-threads-title"),
        idPrefix: `card-thread-${thread.id}`,
      }),
    ),
  );
}

