// The supervisor's page: the team's status widget (W1), its filter (W2), the agent
// card with the status picker (S2), the agent's threads and their pending request
// (W3, S4), and the queue with why nothing is being routed, if so (W5): halted, nobody
// is active (R6), or every active agent is full.
//
// Live from one event stream (events.js): it connects first; each time it is
// ready (first connect, and after every reconnect) the page reads the state
// through the API, holding back the events that arrive meanwhile and applying
// them after, in order. `agent.updated` carries the whole row, so a row is
// replaced, never added twice; a change of status alone comes as
// `agent.status_changed` with the row's new `status` and `presence`. Timers
// ("in status for", the oldest wait) tick here every second, on the server's clock.
import { api, openThreads } from "./api.js";
import { chrome } from "./chrome.js";
import { syncClock, ticking, tickAll } from "./clock.js";
import { $, h, toast, initials, put, say } from "./dom.js";
import { EventStream } from "./events.js";
import { duration, plural, timeOfDay } from "./format.js";
import { requireRole } from "./session.js";
import { statusClass, ACTIVE_FREE_LABEL, SHOWS_QUEUE, SHOWS_SINCE, STATE_LABELS } from "./status.js";
import { coalesced, debounce } from "./timing.js";

// W2: the filter's states, in the order people think of them.
const FILTER_STATES = [
  ["active_free", ACTIVE_FREE_LABEL],
  ["state:active", "Active (all)"],
  ["state:active_own_clients", STATE_LABELS.active_own_clients],
  ["state:finishing", STATE_LABELS.finishing],
  ["state:not_ready", STATE_LABELS.not_ready],
  ["state:inactive", "Inactive (any reason)"],
  ["state:kicked_out", STATE_LABELS.kicked_out],
  ["state:offline", STATE_LABELS.offline],
];
// S2: what a supervisor may set (never finishing or kicked_out; S3 decides finishing).
const PICK_STATES = [
  ["active", "Active"],
  ["active_own_clients", STATE_LABELS.active_own_clients],
  ["not_ready", STATE_LABELS.not_ready],
];
// W5: how routing stands, in the queue panel (a thread that arrives now would…).
const ROUTING_LINE = {
  flowing: "Routing: flowing (an active agent has room).",
  halted: "Routing: halted (nobody is Active).",
  at_capacity: "Routing: waiting for room (every active agent is full).",
};
const THREAD_STATE = { queued: "queued", assigned: "waiting for an answer", in_progress: "in progress" };
const SVG = "http://www.w3.org/2000/svg";
const BELL =
  "M12 2a6 6 0 0 0-6 6v3.6L4.3 15a1 1 0 0 0 .9 1.5h13.6a1 1 0 0 0 .9-1.5L18 11.6V8a6 6 0 0 0-6-6z" +
  "m0 20a3 3 0 0 0 3-3H9a3 3 0 0 0 3 3z";

const user = requireRole("supervisor", "admin");
if (user) main(user);

function main(user) {
  chrome(user);
  const admin = user.role === "admin";
  const agents = new Map(); // id -> the API's agent object (the row)
  const rows = new Map(); // id -> <tr>
  let reasons = [];
  let filter = fromParam(new URLSearchParams(location.search).get("status"));
  let loading = false;
  let held = []; // events that arrived while the state was loading
  let queue = null;
  let queueAt = 0;
  let card = null; // {id, threads, pickerTouched, opener}
  let filterKey = "";
  let live = false;

  const tbody = $("#agents tbody");
  const select = $("#filter");
  const dialog = $("#card");
  const confirmBox = $("#approve-confirm");
  if (admin) {
    $(".team-col").hidden = false;
  } else if (user.team) {
    $("#team-name").textContent = `· ${user.team}`;
  }

  // -- the state, from the API, then from events ---------------------------------------

  // Started at the end of main(), once everything it calls is defined.
  const stream = new EventStream(onEvent, {
    onReady: ({ at }) => {
      syncClock(at);
      load();
    },
    onState: (state) => {
      live = state === "live";
      $("#agents").setAttribute("aria-busy", live ? "false" : "true");
    },
  });

  // One load at a time; a load asked for meanwhile runs right after it.
  const load = coalesced(loadOnce);

  async function loadOnce() {
    loading = true;
    held = [];
    try {
      const [list, catalogue] = await Promise.all([api("GET", "/agents"), api("GET", "/reasons")]);
      reasons = catalogue;
      agents.clear();
      for (const agent of list) agents.set(agent.id, agent);
      for (const [id, tr] of rows) {
        if (!agents.has(id)) {
          tr.remove();
          rows.delete(id);
        }
      }
      renderFilter();
      renderRows();
      refreshQueue();
      if (card) {
        if (agents.has(card.id)) {
          renderCard();
          loadCardThreads();
        } else dialog.close();
      }
    } catch (failure) {
      toast(`Could not load the team: ${failure.message}`);
    } finally {
      loading = false;
      const later = held;
      held = [];
      for (const event of later) apply(event);
    }
  }

  function onEvent(event) {
    if (loading) held.push(event);
    else apply(event);
  }

  function apply(event) {
    const { name, data } = event;
    if (name === "agent.updated") upsert(data.agent);
    else if (name === "agent.status_changed" && data.status && agents.has(data.agent_id)) {
      const { status, presence, disconnect_deadline } = data;
      upsert({ ...agents.get(data.agent_id), status, presence, disconnect_deadline });
    }
    else if (name === "agent.registered" || name === "agent.changed" || name === "reason.saved") reloadSoon();
    // Every move of the queue and every change of routing comes as `queue.changed`.
    if (name === "queue.changed") queueChanged(data);
    if (card && name.startsWith("thread.")) cardThreadsSoon();
  }

  function upsert(agent) {
    if (!admin && agent.team !== user.team) {
      // Moved to another team: no longer ours to show.
      if (rows.has(agent.id)) {
        rows.get(agent.id).remove();
        rows.delete(agent.id);
        agents.delete(agent.id);
        if (card && card.id === agent.id) dialog.close();
        renderSummary();
      }
      return;
    }
    const before = agents.get(agent.id);
    agents.set(agent.id, agent);
    if (!before || before.name !== agent.name) renderRows();
    else {
      fillRow(rows.get(agent.id), agent);
      renderFilter();
      renderSummary();
    }
    if (card && card.id === agent.id) {
      renderCard();
      if (!before || before.threads !== agent.threads || before.pinned_messages !== agent.pinned_messages) {
        cardThreadsSoon();
      }
    }
  }

  const reloadSoon = debounce(load, 300);
  const queueSoon = debounce(refreshQueue, 250);
  const cardThreadsSoon = debounce(() => card && loadCardThreads(), 300);

  // -- W2: the filter -------------------------------------------------------------------

  function fromParam(param) {
    if (!param || param === "all") return "all";
    if (param === "active_free") return param;
    if (param in STATE_LABELS) return `state:${param}`;
    return `reason:${param}`;
  }

  function toParam(value) {
    if (value === "all") return null;
    return value.includes(":") ? value.split(":")[1] : value;
  }

  function matches(agent, value) {
    const { state, reason } = agent.status;
    if (value === "all") return true;
    if (value === "active_free") return state === "active" && agent.threads === 0;
    const [kind, code] = value.split(":");
    if (kind === "state") return state === code;
    return state === "inactive" && reason === code;
  }

  function reasonLabel(code) {
    const found = reasons.find((r) => r.code === code);
    return found ? found.label : code;
  }

  function renderFilter() {
    // Retired reasons are offered only while someone is in one (or it is the filter).
    const inUse = new Set([...agents.values()].map((a) => a.status.reason).filter(Boolean));
    const offered = reasons.filter((r) => !r.retired || inUse.has(r.code) || filter === `reason:${r.code}`);
    const key = JSON.stringify(offered.map((r) => [r.code, r.label, r.retired]));
    if (key === filterKey) return;
    filterKey = key;
    const known = new Set(["all", ...FILTER_STATES.map(([v]) => v), ...offered.map((r) => `reason:${r.code}`)]);
    if (!known.has(filter)) filter = "all";
    put(
      select,
      h("option", { value: "all" }, "All agents"),
      h("optgroup", { label: "Status" }, FILTER_STATES.map(([value, label]) => h("option", { value }, label))),
      offered.length
        ? h(
            "optgroup",
            { label: "Inactive reason" },
            offered.map((r) =>
              h("option", { value: `reason:${r.code}` }, r.retired ? `${r.label} (retired)` : r.label),
            ),
          )
        : null,
    );
    select.value = filter;
  }

  select.addEventListener("change", () => {
    filter = select.value;
    const url = new URL(location.href);
    const param = toParam(filter);
    if (param === null) url.searchParams.delete("status");
    else url.searchParams.set("status", param);
    history.replaceState(null, "", url);
    applyFilter();
  });

  function applyFilter() {
    for (const [id, tr] of rows) tr.hidden = !matches(agents.get(id), filter);
    renderSummary();
  }

  function renderSummary() {
    const all = [...agents.values()];
    const shown = all.filter((a) => matches(a, filter)).length;
    const pending = all.filter((a) => a.pending_request).length;
    const parts = [filter === "all" ? plural(all.length, "agent") : `Showing ${shown} of ${all.length}`];
    if (pending) parts.push(plural(pending, "pending request"));
    $("#summary").textContent = parts.join(" · ");
    const empty = $("#empty");
    empty.hidden = shown > 0;
    if (!all.length) empty.textContent = admin ? "No agents yet." : "No agents in your team yet.";
    else empty.textContent = `Nobody is in “${select.selectedOptions[0]?.textContent || "this status"}” right now.`;
  }

  // -- W1: the rows ---------------------------------------------------------------------

  function renderRows() {
    const sorted = [...agents.values()].sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id);
    for (const agent of sorted) {
      let tr = rows.get(agent.id);
      if (!tr) {
        tr = h("tr", { tabindex: "0", "aria-haspopup": "dialog", dataset: { agentId: agent.id } });
        tr.addEventListener("click", () => openCard(agent.id, tr));
        tr.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            openCard(agent.id, tr);
          }
        });
        rows.set(agent.id, tr);
      }
      fillRow(tr, agent);
    }
    // Move rows only when the order changed, so that a focused row keeps its focus.
    const order = sorted.map((a) => rows.get(a.id));
    if (order.some((tr, i) => tbody.children[i] !== tr)) tbody.replaceChildren(...order);
    $("#agents").setAttribute("aria-busy", live ? "false" : "true");
    renderFilter();
    applyFilter();
  }

  function fillRow(tr, agent) {
    const { status } = agent;
    tr.dataset.state = status.state;
    tr.hidden = !matches(agent, filter);
    const holds = SHOWS_QUEUE.has(status.state) || agent.threads > 0;
    const showSince = SHOWS_SINCE.has(status.state) && status.since;
    put(
      tr,
      h(
        "td",
        { class: "who", "data-label": "Agent" },
        avatar(agent),
        h(
          "span",
          { class: "who-text" },
          h("span", { class: "name" }, agent.name),
          h("span", { class: "user muted" }, agent.username),
        ),
      ),
      h("td", { class: "st", "data-label": "Status" }, statusChip(agent), bell(agent), prompted(agent), disconnected(agent)),
      h(
        "td",
        {
          class: `num${holds ? "" : " sv-none"}`,
          "data-label": "Threads",
          title: `${agent.threads} of capacity ${agent.capacity}`,
        },
        holds ? `${agent.threads} / ${agent.capacity}` : "–",
      ),
      h(
        "td",
        { class: `num${agent.pinned_messages ? "" : " sv-none"}`, "data-label": "Pinned" },
        String(agent.pinned_messages),
      ),
      showSince
        ? ticking(h("td", { class: "since", "data-label": "In status for", dataset: { since: status.since } }))
        : h("td", { class: "since sv-none", "data-label": "In status for" }, "–"),
      admin ? h("td", { class: "team", "data-label": "Team" }, agent.team) : null,
    );
  }

  function avatar(agent) {
    return paintAvatar(h("span", { class: "avatar", "aria-hidden": "true" }, initials(agent.name)), agent);
  }

  // Each agent's own colour, through the CSSOM (the policy refuses style="" attributes).
  function paintAvatar(el, agent) {
    el.classList.add("hued");
    el.style.setProperty("--hue", String((agent.id * 67) % 360));
    return el;
  }

  function statusChip(agent) {
    return h("span", { class: `status ${statusClass(agent.status, agent.threads)}` }, agent.status.label);
  }

  function bell(agent) {
    const request = agent.pending_request;
    if (!request) return null;
    const label = reasonLabel(request.requested.reason);
    return h(
      "span",
      { class: "bell", title: `Pending request: ${label}` },
      icon(BELL),
      h("span", { class: "bell-text" }, `asks ${label}`),
    );
  }

  function prompted(agent) {
    return agent.prompt_deadline ? h("span", { class: "pill sv-prompted" }, "asked to continue") : null;
  }

  // S8: every page of theirs is closed or cut off; the grace is running.
  function disconnected(agent) {
    if (!agent.disconnect_deadline) return null;
    const at = timeOfDay(agent.disconnect_deadline, { seconds: true });
    return h("span", { class: "pill sv-disconnected", title: `No connection: their status changes at ${at} unless they come back` }, "connection lost");
  }

  function icon(path) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", "sv-icon");
    const shape = document.createElementNS(SVG, "path");
    shape.setAttribute("d", path);
    svg.append(shape);
    return svg;
  }

  // -- the queue (R6) --------------------------------------------------------------------

  let queueAsked = 0;
  async function refreshQueue() {
    const asked = ++queueAsked;
    try {
      const answer = await api("GET", "/queue?limit=5");
      if (asked !== queueAsked) return; // a later answer is on its way
      queue = answer;
      queueAt = Date.now();
      renderQueue();
    } catch (failure) {
      if (asked !== queueAsked) return;
      const line = $("#queue-routing");
      delete line.dataset.routing;
      line.textContent = `Could not read the queue: ${failure.message}`;
    }
  }

  function queueWait(seconds) {
    return seconds + (Date.now() - queueAt) / 1000;
  }

  function waitCell(item) {
    const wait = item.waiting_seconds;
    return h("span", { class: "wait", dataset: { wait } }, duration(queueWait(wait)));
  }

  function renderOldest() {
    const oldest = queue.oldest_wait_seconds;
    $("#queue-oldest").textContent = oldest === null ? "–" : duration(queueWait(oldest));
  }

  // The event says at once what the banner needs; the list follows from the API.
  function queueChanged(data) {
    if (queue) {
      queue = { ...queue, length: data.length, routing: data.routing };
      renderQueue();
    }
    queueSoon();
  }

  function renderQueue() {
    if (!queue) return;
    $("#queue-length").textContent = String(queue.length);
    renderOldest();
    renderRouting(queue.routing, queue.length);
    $("#queue-items").replaceChildren(
      ...queue.items.map((item) =>
        h(
          "li",
          {},
          h("span", { class: "client" }, item.client_id),
          item.priority ? h("span", { class: "pill" }, `priority ${item.priority}`) : null,
          waitCell(item),
        ),
      ),
    );
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

  // -- W3: the agent card ----------------------------------------------------------------

  function openCard(id, opener) {
    card = { id, threads: null, pickerTouched: false, opener };
    $("#card-error").hidden = true;
    renderCard();
    $("#card-threads").replaceChildren(h("li", { class: "muted" }, "Loading threads…"));
    if (!dialog.open) dialog.showModal();
    loadCardThreads();
  }

  dialog.addEventListener("close", () => {
    if (confirmBox.open) confirmBox.close();
    const opener = card && card.opener;
    card = null;
    if (opener && opener.isConnected) opener.focus();
  });
  $("#card-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });

  function renderCard() {
    const agent = agents.get(card.id);
    if (!agent) return;
    const { status } = agent;
    const target = paintAvatar($("#card-avatar"), agent);
    target.textContent = initials(agent.name);
    $("#card-name").textContent = agent.name;
    $("#card-sub").textContent = `${agent.username} · team ${agent.team} · capacity ${agent.capacity}`;
    put(
      $("#card-status"),
      statusChip(agent),
      status.since
        ? ticking(h("span", { class: "muted", dataset: { since: status.since, prefix: "for " } }))
        : null,
      h("span", { class: "muted" }, setBy(status.set_by)),
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
        h("strong", {}, reasonLabel(request.requested.reason)),
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
      if (request) renderConfirm(agent);
      else confirmBox.close(); // decided meanwhile (by someone else, or withdrawn)
    }

    renderPicker(agent);
  }

  function setBy(actor) {
    if (!actor) return "";
    if (actor.kind === "system") return `set by the system${actor.why ? ` (${actor.why.replace(/_/g, " ")})` : ""}`;
    if (actor.kind === "agent") return "set by the agent";
    if (actor.id === user.id) return "set by you";
    return `set by ${actor.kind === "admin" ? "an admin" : "a supervisor"}`;
  }

  function currentPick(status) {
    if (status.state === "offline") return "offline";
    if (status.state === "inactive" || status.state === "finishing") {
      const reason = reasons.find((r) => r.code === status.reason && !r.retired);
      return reason ? `inactive:${reason.code}` : "";
    }
    return PICK_STATES.some(([value]) => value === status.state) ? status.state : "";
  }

  function renderPicker(agent) {
    const picker = $("#card-picker");
    const button = $("#card-change-button");
    const note = $("#card-change-note");
    const offline = agent.status.state === "offline";
    const keep = card.pickerTouched ? picker.value : currentPick(agent.status);
    picker.replaceChildren(
      h("option", { value: "", disabled: true }, "Choose a status…"),
      h("optgroup", { label: "Working" }, PICK_STATES.map(([value, label]) => h("option", { value }, label))),
      h(
        "optgroup",
        { label: "Inactive" },
        reasons
          .filter((r) => !r.retired)
          .map((r) => h("option", { value: `inactive:${r.code}` }, r.label)),
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
    } else if (agent.status.state === "inactive" && !currentPick(agent.status) && agent.status.reason) {
      note.textContent = `“${agent.status.label}” has been retired: it can no longer be chosen.`;
      note.hidden = false;
    } else note.hidden = true;
  }

  $("#card-picker").addEventListener("change", () => {
    if (!card) return;
    card.pickerTouched = true;
    const agent = agents.get(card.id);
    $("#card-change-button").disabled = agent.status.state === "offline" || !$("#card-picker").value;
  });

  $("#card-change").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!card) return;
    const value = $("#card-picker").value;
    if (!value) return;
    const [state, reason] = value.split(":");
    const id = card.id;
    const body = reason ? { state, reason } : { state };
    await act(async () => {
      const status = await api("PUT", `/agents/${id}/status`, body);
      toast(`${agents.get(id)?.name || "The agent"} is now ${status.label}.`);
      if (card && card.id === id) card.pickerTouched = false;
      await catchUp(id);
    });
  });

  $("#card-approve").addEventListener("click", () => {
    const agent = card && agents.get(card.id);
    if (agent && agent.unanswered_threads > 0) askToConfirm(agent);
    else decide("approve");
  });

  // W6: approving sends the agent on a break; what becomes of the threads they have not
  // answered yet depends on R5 and R6, so the supervisor reads it before it happens.
  function askToConfirm(agent) {
    renderConfirm(agent);
    confirmBox.returnValue = "";
    confirmBox.showModal();
  }

  function renderConfirm(agent) {
    const n = agent.unanswered_threads;
    const request = agent.pending_request;
    const target = request ? reasonLabel(request.requested.reason) : "the break";
    const them = n === 1 ? "it" : "them";
    const listed = (card.threads || []).filter((thread) => thread.state === "assigned");
    const which =
      listed.length === n ? `: ${listed.map((thread) => `#${thread.id} (${thread.client_id})`).join(", ")}` : "";
    put(
      $("#approve-confirm-text"),
      h("p", {}, `${agent.name} still holds ${plural(n, "unanswered thread")}${which}.`),
      h(
        "p",
        {},
        `Approving ${target}: ${n === 1 ? "it goes" : "they go"} back to the queue if another agent ` +
          `is ready to take ${them}. If nobody is, ${agent.name} keeps ${them} and finishes ` +
          `${them} first, then goes to ${target}.`,
      ),
    );
  }

  $("#approve-confirm-yes").addEventListener("click", () => {
    confirmBox.close("approve");
    decide("approve");
  });
  $("#approve-confirm-no").addEventListener("click", () => confirmBox.close());
  confirmBox.addEventListener("close", () => {
    // Not approved (Cancel, Escape): back to the button that asked.
    if (confirmBox.returnValue !== "approve" && card && dialog.open) $("#card-approve").focus();
  });
  $("#card-reject").addEventListener("click", () => decide("reject"));

  async function decide(verb) {
    if (!card) return;
    const id = card.id;
    const requestId = $("#card-request").dataset.requestId;
    await act(async () => {
      await api("POST", `/approvals/${requestId}/${verb}`);
      toast(`${verb === "approve" ? "Approved" : "Rejected"}: ${agents.get(id)?.name || "the agent"}'s request.`);
      if (card && card.id === id) card.pickerTouched = false;
      await catchUp(id);
    });
  }

  // Run a card action with its buttons off, and say what went wrong where it happened.
  async function act(work) {
    const error = $("#card-error");
    error.hidden = true;
    const buttons = [$("#card-change-button"), $("#card-approve"), $("#card-reject")];
    for (const b of buttons) b.disabled = true;
    card.busy = true;
    try {
      await work();
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
      if (card) await catchUp(card.id);
    } finally {
      if (card) {
        card.busy = false;
        $("#card-approve").disabled = false;
        $("#card-reject").disabled = false;
        const agent = agents.get(card.id);
        if (agent) renderPicker(agent);
      }
    }
  }

  // While the stream is live its events bring the change; while it is away, ask.
  async function catchUp(id) {
    if (live) return;
    try {
      upsert(await api("GET", `/agents/${id}`));
    } catch {
      /* the stream brings it when it is back */
    }
  }

  let threadsAsked = 0;
  async function loadCardThreads() {
    const id = card.id;
    const asked = ++threadsAsked;
    try {
      const threads = await openThreads(id);
      if (asked !== threadsAsked || !card || card.id !== id) return;
      card.threads = threads;
      renderCardThreads();
      if (confirmBox.open && agents.has(id)) renderConfirm(agents.get(id));
    } catch (failure) {
      if (card && card.id === id) $("#card-threads").replaceChildren(h("li", { class: "error" }, failure.message));
    }
  }

  function renderCardThreads() {
    const list = $("#card-threads");
    const threads = card.threads;
    $("#card-threads-title").textContent = `Threads (${threads.length})`;
    if (!threads.length) {
      list.replaceChildren(h("li", { class: "muted" }, "No open threads."));
      return;
    }
    list.replaceChildren(
      ...threads.map((thread) => {
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
        );
      }),
    );
  }

  // -- every second: the timers ------------------------------------------------------------

  setInterval(() => {
    tickAll();
    if (queue) {
      renderOldest();
      for (const el of document.querySelectorAll("#queue-items [data-wait]")) {
        el.textContent = duration(queueWait(Number(el.dataset.wait)));
      }
    }
  }, 1000);

  stream.start();
}
