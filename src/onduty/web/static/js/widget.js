// The team's status widget: one row per agent (W1), the filter (W2), the strip of
// tiles over it (W5, floor.js: each tile is the filter for its status), and the
// view's controls: sort by any column, search by name, pending requests first, group
// by team (admins). Rows are kept in state.rows (agent id -> <tr>), filled and moved in
// place, so a focused row keeps its focus; one row at a time is in the tab order
// (roving tabindex) and the arrow keys move between them.
import { avatar, bell, disconnected, overCapacity, overdue, prompted, statusChip } from "./badges.js";
import { openCard } from "./card.js";
import { chatPerson } from "./chat.js";
import { serverNow, ticking } from "./clock.js";
import { $, h, placeInOrder, put } from "./dom.js";
import { isOverdue, keyFromParam, matches, offeredReasons, renderTiles, statusParam } from "./floor.js";
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
  ["overdue", "Overdue (over the break's limit)"],
];

// Sorting: each column's order, ascending; ties go by name, then id.
const SORTS = {
  name: (a, b) => a.name.localeCompare(b.name),
  status: (a, b) => a.status.label.localeCompare(b.status.label),
  threads: (a, b) => a.threads - b.threads,
  pinned: (a, b) => a.pinned_messages - b.pinned_messages,
  since: (a, b) => Date.parse(b.status.since) - Date.parse(a.status.since), // the shortest time first
  team: (a, b) => a.team.localeCompare(b.team),
};
const VIEW_KEY = "onduty.widget"; // sort, pending first, group by team: this browser's preferences

const tbody = $("#agents tbody");
const select = $("#filter");
const search = $("#search");

// -- the view: filter and search in the address (shareable), the rest in this browser ------

// The view the page opens with: ?status= and ?q= from the address, the rest as last left.
export function viewFromLocation() {
  const params = new URLSearchParams(location.search);
  let saved = {};
  try {
    saved = JSON.parse(localStorage.getItem(VIEW_KEY)) || {};
  } catch {
    saved = {};
  }
  return {
    filter: keyFromParam(params.get("status")),
    search: params.get("q") || "",
    sort: saved.sort in SORTS ? saved.sort : "name",
    descending: Boolean(saved.descending),
    pendingFirst: Boolean(saved.pendingFirst),
    group: Boolean(saved.group),
  };
}

function saveView(state) {
  const { view } = state;
  const url = new URL(location.href);
  const param = statusParam(view.filter);
  if (param === null) url.searchParams.delete("status");
  else url.searchParams.set("status", param);
  if (view.search) url.searchParams.set("q", view.search);
  else url.searchParams.delete("q");
  history.replaceState(null, "", url);
  const { sort, descending, pendingFirst, group } = view;
  try {
    localStorage.setItem(VIEW_KEY, JSON.stringify({ sort, descending, pendingFirst, group }));
  } catch {
    // Storage refused (a private window): the view lasts as long as the page.
  }
}

export function setUpWidget(state) {
  const { view } = state;
  if (state.admin) {
    for (const el of document.querySelectorAll(".team-col, .admin-only")) el.hidden = false;
  } else if (state.user.team) {
    $("#team-name").textContent = `· ${state.user.team}`;
  }
  select.addEventListener("change", () => setFilter(state, select.value));
  search.value = view.search;
  search.addEventListener("input", () => {
    view.search = search.value.trim();
    saveView(state);
    applyFilter(state);
  });
  const pending = $("#pending-first");
  pending.checked = view.pendingFirst;
  pending.addEventListener("change", () => {
    view.pendingFirst = pending.checked;
    saveView(state);
    orderRows(state);
  });
  const group = $("#group-teams");
  group.checked = view.group;
  group.addEventListener("change", () => {
    view.group = group.checked;
    saveView(state);
    orderRows(state);
  });
  for (const th of document.querySelectorAll("#agents th[data-sort]")) {
    th.querySelector("button").addEventListener("click", () => {
      const key = th.dataset.sort;
      view.descending = view.sort === key ? !view.descending : false;
      view.sort = key;
      saveView(state);
      orderRows(state);
    });
  }
  tbody.addEventListener("keydown", (event) => moveFocus(state, event));
  tbody.addEventListener("focusin", (event) => {
    const tr = event.target.closest("tr[data-agent-id]");
    if (tr) rove(state, tr);
  });
}

// W2, W5: the filter, from the select or a tile: one place sets it.
export function setFilter(state, value) {
  state.view.filter = value;
  select.value = value;
  saveView(state);
  applyFilter(state);
}

export function renderFilter(state) {
  const offered = offeredReasons(state.reasons, state.agents.values(), state.view.filter);
  const key = JSON.stringify(offered.map((r) => [r.code, r.label, r.retired]));
  if (key !== state.filterKey) {
    state.filterKey = key;
    const known = new Set(["all", ...FILTER_STATES.map(([v]) => v), ...offered.map((r) => `reason:${r.code}`)]);
    if (!known.has(state.view.filter)) state.view.filter = "all";
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
  }
  select.value = state.view.filter;
}

function searched(agent, words) {
  if (!words) return true;
  const text = `${agent.name} ${agent.username}`.toLocaleLowerCase();
  return words.toLocaleLowerCase().split(/\s+/).every((word) => text.includes(word));
}

function shows(state, agent, now) {
  return matches(agent, state.view.filter, now) && searched(agent, state.view.search);
}

export function applyFilter(state) {
  const now = serverNow();
  for (const [id, tr] of state.rows) tr.hidden = !shows(state, state.agents.get(id), now);
  showGroups(state);
  keepRover(state);
  renderSummary(state);
}

// The summary line and the strip: both count the rows the page holds.
export function renderSummary(state) {
  const now = serverNow();
  const all = [...state.agents.values()];
  const shown = all.filter((a) => shows(state, a, now)).length;
  const pending = all.filter((a) => a.pending_request).length;
  const narrowed = state.view.filter !== "all" || state.view.search;
  const parts = [narrowed ? `Showing ${shown} of ${all.length}` : plural(all.length, "agent")];
  if (pending) parts.push(plural(pending, "pending request"));
  $("#summary").textContent = parts.join(" · ");
  const empty = $("#empty");
  empty.hidden = shown > 0;
  if (!all.length) empty.textContent = state.admin ? "No agents yet." : "No agents in your team yet.";
  else if (state.view.search && all.some((a) => matches(a, state.view.filter, now))) {
    empty.textContent = `Nobody matches “${state.view.search}”.`;
  } else empty.textContent = `Nobody is in “${select.selectedOptions[0]?.textContent || "this status"}” right now.`;
  renderTiles($("#tiles"), {
    reasons: state.reasons,
    agents: state.agents.values(),
    selected: state.view.filter,
    onPick: (key) => setFilter(state, key),
  });
}

// -- W1: the rows -------------------------------------------------------------------------

// The table is busy (aria-busy) while the stream is away: what it shows may be behind.
export function showBusy(state) {
  $("#agents").setAttribute("aria-busy", state.live ? "false" : "true");
}

export function renderRows(state) {
  for (const agent of state.agents.values()) {
    let tr = state.rows.get(agent.id);
    if (!tr) {
      tr = newRow(state, agent.id);
      state.rows.set(agent.id, tr);
    }
    fillRow(state, tr, agent);
  }
  showBusy(state);
  renderFilter(state);
  orderRows(state);
}

function compare(state) {
  const { sort, descending, pendingFirst, group } = state.view;
  const byColumn = SORTS[sort];
  const sign = descending ? -1 : 1;
  return (a, b) =>
    (state.admin && group ? a.team.localeCompare(b.team) : 0) ||
    (pendingFirst ? Number(Boolean(b.pending_request)) - Number(Boolean(a.pending_request)) : 0) ||
    sign * byColumn(a, b) ||
    a.name.localeCompare(b.name) ||
    a.id - b.id;
}

// Puts the rows in the view's order, under team headings when grouped; moves only what is
// out of place, so that a focused row keeps its focus.
export function orderRows(state) {
  const sorted = [...state.agents.values()].sort(compare(state));
  const grouped = state.admin && state.view.group;
  const order = [];
  let team = null;
  for (const agent of sorted) {
    if (grouped && agent.team !== team) {
      team = agent.team;
      order.push(groupRow(state, team));
    }
    order.push(state.rows.get(agent.id));
  }
  for (const [name, tr] of state.groupRows) {
    if (!order.includes(tr)) {
      tr.remove();
      state.groupRows.delete(name);
    }
  }
  placeInOrder(tbody, order);
  for (const th of document.querySelectorAll("#agents th[data-sort]")) {
    if (th.dataset.sort === state.view.sort) th.setAttribute("aria-sort", state.view.descending ? "descending" : "ascending");
    else th.removeAttribute("aria-sort");
  }
  applyFilter(state);
}

function groupRow(state, team) {
  let tr = state.groupRows.get(team);
  if (!tr) {
    tr = h("tr", { class: "sv-group", dataset: { team } }, h("th", { scope: "colgroup", colspan: "6" }));
    state.groupRows.set(team, tr);
  }
  return tr;
}

// A team's heading shows while any of its rows does, with how many it shows.
function showGroups(state) {
  for (const [team, tr] of state.groupRows) {
    let shown = 0;
    for (let row = tr.nextElementSibling; row && !row.classList.contains("sv-group"); row = row.nextElementSibling) {
      shown += !row.hidden;
    }
    tr.hidden = shown === 0;
    tr.firstChild.textContent = `${team} · ${plural(shown, "agent")}`;
  }
}

function newRow(state, id) {
  const tr = h("tr", { tabindex: "-1", "aria-haspopup": "dialog", dataset: { agentId: id } });
  tr.addEventListener("click", () => openCard(state, id, tr));
  tr.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      openCard(state, id, tr);
    }
  });
  return tr;
}

// -- the keyboard: one row in the tab order, the arrows move it -------------------------------

function visibleRows() {
  return [...tbody.querySelectorAll("tr[data-agent-id]")].filter((tr) => !tr.hidden);
}

function rove(state, tr) {
  if (state.rover === tr) return;
  if (state.rover) state.rover.tabIndex = -1;
  state.rover = tr;
  tr.tabIndex = 0;
}

// The row in the tab order stays a shown one: the first, when it was filtered out.
function keepRover(state) {
  const rover = state.rover;
  if (rover && rover.isConnected && !rover.hidden) return;
  const first = visibleRows()[0];
  if (first) rove(state, first);
}

const MOVES = {
  ArrowDown: (i) => i + 1,
  ArrowUp: (i) => i - 1,
  Home: () => 0,
  End: (_i, n) => n - 1,
};

function moveFocus(state, event) {
  const move = MOVES[event.key];
  const from = event.target.closest("tr[data-agent-id]");
  if (!move || !from || event.altKey || event.ctrlKey || event.metaKey) return;
  const rows = visibleRows();
  const to = rows[Math.max(0, Math.min(rows.length - 1, move(rows.indexOf(from), rows.length)))];
  event.preventDefault();
  if (to) {
    rove(state, to);
    to.focus();
  }
}

// -- one agent changed -------------------------------------------------------------------------

// `before` is what the row showed, if anything: the row is filled where it is, then moved
// if the order says so.
export function showAgent(state, agent, before) {
  if (!before) {
    renderRows(state);
    return;
  }
  fillRow(state, state.rows.get(agent.id), agent);
  renderFilter(state);
  orderRows(state);
}

// Rows of agents that are no longer in state.agents go.
export function dropRows(state) {
  for (const [id, tr] of state.rows) {
    if (!state.agents.has(id)) {
      tr.remove();
      state.rows.delete(id);
      if (state.rover === tr) state.rover = null;
    }
  }
}

// Every second: a row whose break runs past its limit turns overdue at `overdue_at` (S10),
// not when the event comes; the strip counts it at once.
export function tickWidget(state) {
  const now = serverNow();
  let changed = false;
  for (const [id, tr] of state.rows) {
    const agent = state.agents.get(id);
    if (isOverdue(agent, now) !== (tr.dataset.overdue === "true")) {
      fillRow(state, tr, agent);
      changed = true;
    }
  }
  if (changed) applyFilter(state);
}

// C1: "message this agent", on the row (by pointer; the card offers it to the keyboard:
// the row's own keys move between rows and open the card).
function messageButton(state, agent) {
  const open = (event) => {
    event.stopPropagation();
    state.chat.openWith(chatPerson(agent), { opener: event.currentTarget.closest("tr") });
  };
  return h(
    "button",
    {
      type: "button",
      class: "quiet sv-message",
      tabindex: "-1",
      title: `Message ${agent.name}`,
      "aria-label": `Message ${agent.name}`,
      onclick: open,
    },
    "✉",
  );
}

export function fillRow(state, tr, agent) {
  const { status } = agent;
  const late = isOverdue(agent);
  tr.dataset.state = status.state;
  tr.dataset.overdue = String(late);
  tr.classList.toggle("sv-late", late);
  tr.classList.toggle("sv-full", agent.threads > agent.capacity);
  tr.hidden = !shows(state, agent, serverNow());
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
      messageButton(state, agent),
    ),
    h(
      "td",
      { class: "st", "data-label": "Status" },
      statusChip(agent),
      late ? overdue(agent) : null,
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
      overCapacity(agent),
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
