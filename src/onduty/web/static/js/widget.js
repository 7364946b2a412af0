// The team's status widget: one row per agent (W1), the filter (W2) and the summary
// line over them. Rows are kept in state.rows (agent id -> <tr>) and filled in place,
// so a focused row keeps its focus.
import { avatar, bell, disconnected, prompted, statusChip } from "./badges.js";
import { openCard } from "./card.js";
import { ticking } from "./clock.js";
import { $, h, put } from "./dom.js";
import { plural } from "./format.js";
import { ACTIVE_FREE_LABEL, SHOWS_QUEUE, SHOWS_SINCE, STATE_LABELS } from "./status.js";

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

const tbody = $("#agents tbody");
const select = $("#filter");

// -- W2: the filter ---------------------------------------------------------------------

// The filter the page opens with, from its address (?status=…), so a filtered view can be shared.
export function filterFromLocation() {
  const param = new URLSearchParams(location.search).get("status");
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

export function setUpWidget(state) {
  if (state.admin) {
    $(".team-col").hidden = false;
  } else if (state.user.team) {
    $("#team-name").textContent = `· ${state.user.team}`;
  }
  select.addEventListener("change", () => {
    state.filter = select.value;
    const url = new URL(location.href);
    const param = toParam(state.filter);
    if (param === null) url.searchParams.delete("status");
    else url.searchParams.set("status", param);
    history.replaceState(null, "", url);
    applyFilter(state);
  });
}

export function renderFilter(state) {
  // Retired reasons are offered only while someone is in one (or it is the filter).
  const inUse = new Set([...state.agents.values()].map((a) => a.status.reason).filter(Boolean));
  const offered = state.reasons.filter(
    (r) => !r.retired || inUse.has(r.code) || state.filter === `reason:${r.code}`,
  );
  const key = JSON.stringify(offered.map((r) => [r.code, r.label, r.retired]));
  if (key === state.filterKey) return;
  state.filterKey = key;
  const known = new Set(["all", ...FILTER_STATES.map(([v]) => v), ...offered.map((r) => `reason:${r.code}`)]);
  if (!known.has(state.filter)) state.filter = "all";
  put(
    select,
    h("option", { value: "all" }, "All agents"),
    h("optgroup", { label: "Status" }, FILTER_STATES.map(([value, label]) => h("option", { value }, label))),
    offered.length
      ? h(
          "optgroup",
          { label: "Inactive reason" },
          offered.map((r) => h("option", { value: `reason:${r.code}` }, r.retired ? `${r.label} (retired)` : r.label)),
        )
      : null,
  );
  select.value = state.filter;
}

export function applyFilter(state) {
  for (const [id, tr] of state.rows) tr.hidden = !matches(state.agents.get(id), state.filter);
  renderSummary(state);
}

export function renderSummary(state) {
  const all = [...state.agents.values()];
  const shown = all.filter((a) => matches(a, state.filter)).length;
  const pending = all.filter((a) => a.pending_request).length;
  const parts = [state.filter === "all" ? plural(all.length, "agent") : `Showing ${shown} of ${all.length}`];
  if (pending) parts.push(plural(pending, "pending request"));
  $("#summary").textContent = parts.join(" · ");
  const empty = $("#empty");
  empty.hidden = shown > 0;
  if (!all.length) empty.textContent = state.admin ? "No agents yet." : "No agents in your team yet.";
  else empty.textContent = `Nobody is in “${select.selectedOptions[0]?.textContent || "this status"}” right now.`;
}

// -- W1: the rows -------------------------------------------------------------------------

// The table is busy (aria-busy) while the stream is away: what it shows may be behind.
export function showBusy(state) {
  $("#agents").setAttribute("aria-busy", state.live ? "false" : "true");
}

export function renderRows(state) {
  const sorted = [...state.agents.values()].sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id);
  for (const agent of sorted) {
    let tr = state.rows.get(agent.id);
    if (!tr) {
      tr = newRow(state, agent.id);
      state.rows.set(agent.id, tr);
    }
    fillRow(state, tr, agent);
  }
  // Move rows only when the order changed, so that a focused row keeps its focus.
  const order = sorted.map((a) => state.rows.get(a.id));
  if (order.some((tr, i) => tbody.children[i] !== tr)) tbody.replaceChildren(...order);
  showBusy(state);
  renderFilter(state);
  applyFilter(state);
}

function newRow(state, id) {
  const tr = h("tr", { tabindex: "0", "aria-haspopup": "dialog", dataset: { agentId: id } });
  tr.addEventListener("click", () => openCard(state, id, tr));
  tr.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      openCard(state, id, tr);
    }
  });
  return tr;
}

// One agent changed (`before` is what the row showed, if anything): a new agent or a
// new name may move rows; anything else fills the row where it is.
export function showAgent(state, agent, before) {
  if (!before || before.name !== agent.name) renderRows(state);
  else {
    fillRow(state, state.rows.get(agent.id), agent);
    renderFilter(state);
    renderSummary(state);
  }
}

// Rows of agents that are no longer in state.agents go.
export function dropRows(state) {
  for (const [id, tr] of state.rows) {
    if (!state.agents.has(id)) {
      tr.remove();
      state.rows.delete(id);
    }
  }
}

export function fillRow(state, tr, agent) {
  const { status } = agent;
  tr.dataset.state = status.state;
  tr.hidden = !matches(agent, state.filter);
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
    h(
      "td",
      { class: "st", "data-label": "Status" },
      statusChip(agent),
      bell(agent, state.reasons),
      prompted(agent),
      disconnected(agent),
    ),
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
    state.admin ? h("td", { class: "team", "data-label": "Team" }, agent.team) : null,
  );
}
