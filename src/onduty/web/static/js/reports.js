// Reports (P1, P2): pick a period and a team; the workload table with team totals,
// a stacked bar chart of time per status per agent, occupancy per agent, the status
// log newest first (filtered by agent and status) page by page, and both CSV downloads.
// Charts are SVG drawn here: no library. The page's state is one object (state) that the
// module's functions read and write.
import { api } from "./api.js";
import { chrome } from "./chrome.js";
import { $, h, svgEl, toast } from "./dom.js";
import { percent } from "./format.js";
import { requireRole, session } from "./session.js";
import { STATE_LABELS } from "./status.js";

const ORDER = ["active", "active_own_clients", "finishing", "not_ready", "kicked_out", "offline"];
// How each status is drawn: a colour (a class setting --rp-c from the stylesheet's custom
// properties) and a fill pattern (reports.html), so that no two statuses differ by colour
// alone. The built-in reasons keep theirs in every report; other reasons take spare ones.
const LOOKS = {
  active: ["active", null],
  active_own_clients: ["own", "dots"],
  finishing: ["finishing", "zigzag"],
  not_ready: ["not-ready", "horizontal"],
  kicked_out: ["kicked-out", "cross"],
  offline: ["offline", "bricks"],
  "inactive:away": ["away", "vertical"],
  "inactive:lunch": ["lunch", "diag-up"],
  "inactive:meeting": ["meeting", "grid"],
  "inactive:short_break": ["short-break", "rings"],
  "inactive:technical_break": ["technical-break", "checker"],
  "inactive:training": ["training", "diag-down"],
};
// Four colours and six patterns: twelve other reasons before a pair repeats.
const SPARE_COLOURS = ["spare-1", "spare-2", "spare-3", "spare-4"];
const SPARE_PATTERNS = ["diag-down", "vertical", "dots", "diag-up", "grid", "rings"];
// The table's headers for the states: shorter than their labels (which the tooltip gives).
const STATE_HEADS = {
  active: "Active",
  active_own_clients: "Own clients only",
  finishing: "Finishing",
  not_ready: "Not ready",
  kicked_out: "Kicked out",
  offline: "Offline",
};
const THREADS = [
  // Soft hyphens: the long words may break, so that these narrow columns stay narrow.
  ["threads_received", "Re\u00adceived"],
  ["threads_answered", "An\u00adswered"],
  ["threads_closed", "Closed"],
  ["requeued", "Re\u00adqueued"],
];
const TRANSFERS = [
  ["transferred_in", "In", "Transferred in"],
  ["transferred_out", "Out", "Transferred out"],
];
const WIDTH = 900; // the charts' drawing width
const LEFT = 170; // room for the agents' names

const user = requireRole("supervisor", "admin");

const state = {
  query: null, // the period's query of the report shown (URLSearchParams)
  logNext: null, // where the log's next page starts (its `before`); null at its end
  logAsked: 0, // counts the log's reads: only the latest one is shown
};

function start() {
  chrome(user);
  $("#date").value = new Date().toISOString().slice(0, 10);
  $("#kind").addEventListener("change", () => {
    const range = $("#kind").value === "range";
    $("#on-range").hidden = !range;
    $("#on-date").hidden = range;
  });
  $("#period").addEventListener("submit", (event) => {
    event.preventDefault();
    show();
  });
  $("#log-filters").addEventListener("submit", (event) => event.preventDefault());
  for (const select of [$("#log-agent"), $("#log-status")]) select.addEventListener("change", () => loadLog(false));
  $("#more-log").addEventListener("click", () => loadLog(true));
  $("#download-log").addEventListener("click", (event) => download(event, "status-log", logParams()));
  $("#download-workload").addEventListener("click", (event) => download(event, "workload", state.query || params()));
  loadTeams().then(show);
}

// -- the period and its report ----------------------------------------------------------

async function loadTeams() {
  const select = $("#team");
  const teams = await api("GET", "/teams");
  if (user.role === "supervisor") select.replaceChildren();
  for (const team of teams) select.append(h("option", { value: team }, team));
}

function params() {
  const p = new URLSearchParams();
  if ($("#kind").value === "range") {
    const from = $("#from").value;
    const to = $("#to").value;
    if (from) p.set("from", new Date(from).toISOString());
    if (to) p.set("to", new Date(to).toISOString());
  } else {
    p.set("period", $("#kind").value);
    p.set("date", $("#date").value);
  }
  if ($("#team").value) p.set("team", $("#team").value);
  return p;
}

async function show() {
  const error = $("#report-error");
  error.hidden = true;
  state.query = params();
  try {
    const report = await api("GET", `/reports/workload?${state.query}`);
    $("#report-span").textContent =
      `From ${fmt(report.from)} to ${fmt(report.to)} (${report.time_zone})` +
      (report.until !== report.to ? `; open statuses counted up to ${fmt(report.until)}` : "");
    renderWorkload(report);
    renderTimeChart(report);
    renderOccupancy(report);
    fillLogFilters(report);
    await loadLog(false);
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
  }
}

// -- the status log ---------------------------------------------------------------------

// The period's query and the log's own filters (P1: by agent and by status).
function logParams() {
  const p = new URLSearchParams(state.query || params());
  if ($("#log-agent").value) p.set("agent_id", $("#log-agent").value);
  if ($("#log-status").value) p.set("status", $("#log-status").value);
  return p;
}

// The agents of the report, and every status it names; a choice that still exists stays.
function fillLogFilters(report) {
  const agent = $("#log-agent");
  const chosenAgent = agent.value;
  agent.replaceChildren(
    h("option", { value: "" }, "All agents"),
    ...report.agents.map((a) => h("option", { value: a.agent_id }, a.name || a.username)),
  );
  agent.value = report.agents.some((a) => String(a.agent_id) === chosenAgent) ? chosenAgent : "";

  const status = $("#log-status");
  const chosenStatus = status.value;
  const reasons = Object.keys(report.labels)
    .filter((k) => k.startsWith("inactive:"))
    .sort((a, b) => report.labels[a].localeCompare(report.labels[b]));
  status.replaceChildren(
    h("option", { value: "" }, "Any status"),
    ...["active", "active_own_clients", "finishing", "not_ready"].map((s) => option(s, STATE_LABELS[s])),
    option("inactive", "Inactive (any reason)"),
    h("optgroup", { label: "Inactive for a reason" }, ...reasons.map((k) => option(k, report.labels[k]))),
    option("kicked_out", STATE_LABELS.kicked_out),
    option("offline", STATE_LABELS.offline),
  );
  status.value = [...status.options].some((o) => o.value === chosenStatus) ? chosenStatus : "";
}

function option(value, text) {
  return h("option", { value }, text);
}

async function loadLog(more) {
  const p = logParams();
  p.set("limit", "100");
  if (more && state.logNext) p.set("before", String(state.logNext));
  const body = $("#status-log tbody");
  const asked = ++state.logAsked;
  let page;
  try {
    page = await api("GET", `/reports/status-log?${p}`);
  } catch (failure) {
    if (asked === state.logAsked) toast(failure.message);
    return;
  }
  if (asked !== state.logAsked) return; // the filters (or the page) changed meanwhile: a later answer counts
  if (!more) body.replaceChildren();
  for (const e of page.items) {
    body.append(
      h(
        "tr",
        {},
        h("td", {}, h("time", { datetime: e.at }, fmt(e.at))),
        h("td", {}, e.name),
        h("td", {}, e.from.label),
        h("td", {}, e.to.label),
        h("td", {}, e.caused_by),
      ),
    );
  }
  if (!body.children.length) body.append(h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No status changes.")));
  state.logNext = page.next;
  $("#more-log").hidden = !state.logNext;
}

// -- the CSV downloads ------------------------------------------------------------------

async function download(event, report, p) {
  event.preventDefault();
  p = new URLSearchParams(p);
  p.set("format", "csv");
  const response = await fetch(`/api/v1/reports/${report}?${p}`, {
    headers: { Authorization: `Bearer ${session.token()}` },
  });
  if (!response.ok) {
    toast(`Download failed (${response.status})`);
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: `${report}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// -- the workload table and the charts --------------------------------------------------

function renderWorkload(report) {
  const keys = keysOf(report);
  const label = (k) => report.labels[k] || k;
  const th = (attrs, ...text) => h("th", { scope: "col", ...attrs }, ...text);
  const group = (span, text) => (span ? th({ colspan: span, scope: "colgroup", class: "rp-group" }, text) : null);
  const groups = h(
    "tr",
    {},
    th({ rowspan: 2, class: "rp-who" }, "Agent"),
    group(keys.length, "Time per status"),
    group(THREADS.length, "Threads"),
    group(TRANSFERS.length, "Transfers"),
    th({ rowspan: 2, class: "num" }, "First answer"),
    th({ rowspan: 2, class: "num" }, "Occu\u00adpancy"),
  );
  const heads = h(
    "tr",
    {},
    ...keys.map((k) => th({ class: "num", title: label(k) }, swatch(k, report), STATE_HEADS[k] || label(k))),
    ...THREADS.map(([, l]) => th({ class: "num" }, l)),
    ...TRANSFERS.map(([, short, long]) => th({ class: "num", title: long }, short)),
  );
  const line = (name, team, row) =>
    h(
      "tr",
      {},
      h("th", { scope: "row", class: "rp-who" }, h("span", { class: "rp-name" }, name), team && h("span", { class: "rp-team" }, team)),
      ...keys.map((k) => h("td", { class: "num" }, hours(row.time_in_status[k] || 0))),
      ...THREADS.map(([k]) => h("td", { class: "num" }, row[k])),
      ...TRANSFERS.map(([k]) => h("td", { class: "num" }, row[k])),
      h("td", { class: "num" }, seconds(row.mean_first_answer_seconds)),
      h("td", { class: "num" }, percent(row.occupancy)),
    );
  $("#workload thead").replaceChildren(groups, heads);
  $("#workload tbody").replaceChildren(...report.agents.map((r) => line(r.name, r.team, r)));
  $("#workload tfoot").replaceChildren(...report.teams.map((r) => line(`Team ${r.team}`, null, r)));
  if (!report.agents.length) {
    const columns = 3 + keys.length + THREADS.length + TRANSFERS.length;
    $("#workload tbody").append(h("tr", {}, h("td", { colspan: columns, class: "muted" }, "No agents in this period.")));
  }
}

function renderTimeChart(report) {
  const keys = keysOf(report);
  const longest = Math.max(1, ...report.agents.map((r) => total(r.time_in_status)));
  const svg = barChart(report.agents, 22, (svg, row, y, bar) => {
    let x = LEFT;
    for (const key of keys) {
      const seconds = row.time_in_status[key] || 0;
      if (!seconds) continue;
      const w = Math.max(0.5, (seconds / longest) * (WIDTH - LEFT - 10));
      const [colour, pattern] = lookOf(key, report);
      const segment = svgEl("g", { class: `rp-seg rp-c-${colour}`, "data-key": key });
      segment.append(svgEl("rect", { class: "rp-fill", x, y, width: w, height: bar }));
      if (pattern) segment.append(svgEl("rect", { class: "rp-pattern", x, y, width: w, height: bar, fill: patternUrl(pattern) }));
      segment.append(svgEl("title", {}, `${row.name}: ${report.labels[key] || key} ${hours(seconds)}`));
      svg.append(segment);
      x += w;
    }
  });
  $("#time-chart").replaceChildren(svg);
  $("#legend").replaceChildren(...keys.map((k) => h("li", { "data-key": k }, swatch(k, report), report.labels[k] || k)));
}

function renderOccupancy(report) {
  const span = WIDTH - LEFT - 60;
  const svg = barChart(report.agents, 18, (svg, row, y, bar) => {
    const share = row.occupancy ?? 0;
    svg.append(svgEl("rect", { class: "rp-track", x: LEFT, y, width: span, height: bar }));
    svg.append(svgEl("rect", { class: "rp-occupied", x: LEFT, y, width: Math.max(0, share * span), height: bar }));
    svg.append(svgEl("text", { x: LEFT + span + 6, y: y + bar / 2 + 4 }, percent(row.occupancy)));
  });
  $("#occupancy-chart").replaceChildren(svg);
}

function keysOf(report) {
  const keys = new Set();
  for (const row of report.agents) for (const k of Object.keys(row.time_in_status)) keys.add(k);
  return [...keys].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

// [colour, pattern] of a status key; another reason's by its place among the reasons the
// report knows (all, retired ones included), so that it keeps it from one report to the next.
function lookOf(key, report) {
  if (LOOKS[key]) return LOOKS[key];
  const others = Object.keys(report.labels)
    .filter((k) => k.startsWith("inactive:") && !LOOKS[k])
    .sort();
  const i = Math.max(0, others.indexOf(key));
  return [SPARE_COLOURS[i % SPARE_COLOURS.length], SPARE_PATTERNS[i % SPARE_PATTERNS.length]];
}

// A status's colour and pattern in small: the legend's and the table's key.
function swatch(key, report) {
  const [colour, pattern] = lookOf(key, report);
  const box = h("span", { class: `swatch rp-c-${colour}`, "aria-hidden": "true" });
  if (pattern) {
    const svg = svgEl("svg", { viewBox: "0 0 16 12", width: 16, height: 12 });
    svg.append(svgEl("rect", { width: 16, height: 12, fill: patternUrl(pattern) }));
    box.append(svg);
  }
  return box;
}

function patternUrl(pattern) {
  return `url(#rp-${pattern})`;
}

// One horizontal bar per agent, named on the left; `draw(svg, row, y, bar)` fills it in.
function barChart(rows, bar, draw) {
  const gap = 8;
  const height = Math.max(1, rows.length) * (bar + gap) + gap;
  const svg = svgEl("svg", { viewBox: `0 0 ${WIDTH} ${height}`, class: "chart", width: "100%" });
  rows.forEach((row, i) => {
    const y = i * (bar + gap) + 4;
    svg.append(svgEl("text", { x: LEFT - 8, y: y + bar / 2 + 4, "text-anchor": "end" }, row.name));
    draw(svg, row, y, bar);
  });
  return svg;
}

function rank(key) {
  const i = ORDER.indexOf(key);
  return i === -1 ? (key.startsWith("inactive:") ? 2.5 : 99) : i;
}

function total(times) {
  return Object.values(times).reduce((a, b) => a + b, 0);
}

// -- how values read --------------------------------------------------------------------

function hours(seconds) {
  const s = Math.round(seconds);
  const pad = (n) => String(n).padStart(2, "0");
  return `${Math.floor(s / 3600)}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

function seconds(value) {
  return value === null || value === undefined ? "–" : `${value.toFixed(0)} s`;
}

function fmt(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

if (user) start();
