// Reports (P1, P2): pick a period and a team; the workload table with team totals,
// a stacked bar chart of time per status per agent, occupancy per agent, the status
// log page by page, and both CSV downloads. Charts are SVG drawn here: no library.
import { api } from "./api.js";
import { chrome } from "./chrome.js";
import { $, h, toast } from "./dom.js";
import { requireRole, session } from "./session.js";

const SVG = "http://www.w3.org/2000/svg";
// The palette is onduty.css's (light and dark): an SVG fill takes var(--…).
const COLORS = {
  active: "var(--st-active)",
  active_own_clients: "var(--st-own)",
  finishing: "var(--st-finishing)",
  not_ready: "var(--st-not-ready)",
  kicked_out: "var(--st-kicked-out)",
  offline: "var(--chart-offline)",
};
const REASON_SHADES = [1, 2, 3, 4, 5, 6].map((n) => `var(--chart-reason-${n})`);
const COUNTS = [
  ["threads_received", "Received"],
  ["threads_answered", "Answered"],
  ["threads_closed", "Closed"],
  ["transferred_in", "In"],
  ["transferred_out", "Out"],
  ["requeued", "Requeued"],
];

const user = requireRole("supervisor", "admin");
if (user) main(user);

function main(user) {
  chrome(user);
  const form = $("#period");
  const today = new Date();
  $("#date").value = today.toISOString().slice(0, 10);
  let logNext = null;
  let query = null;

  $("#kind").addEventListener("change", () => {
    const range = $("#kind").value === "range";
    $("#on-range").hidden = !range;
    $("#on-date").hidden = range;
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    show();
  });
  $("#more-log").addEventListener("click", () => loadLog(true));
  $("#download-log").addEventListener("click", (event) => download(event, "status-log"));
  $("#download-workload").addEventListener("click", (event) => download(event, "workload"));

  loadTeams().then(show);

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
    query = params();
    try {
      const report = await api("GET", `/reports/workload?${query}`);
      $("#report-span").textContent =
        `From ${fmt(report.from)} to ${fmt(report.to)} (${report.time_zone})` +
        (report.until !== report.to ? `; open statuses counted up to ${fmt(report.until)}` : "");
      renderWorkload(report);
      renderTimeChart(report);
      renderOccupancy(report);
      await loadLog(false);
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    }
  }

  async function loadLog(more) {
    const p = new URLSearchParams(query);
    p.set("limit", "100");
    if (more && logNext) p.set("after", String(logNext));
    const page = await api("GET", `/reports/status-log?${p}`);
    const body = $("#status-log tbody");
    if (!more) body.replaceChildren();
    for (const e of page.items) {
      body.append(
        h(
          "tr",
          {},
          h("td", {}, fmt(e.at)),
          h("td", {}, e.name),
          h("td", {}, e.from.label),
          h("td", {}, e.to.label),
          h("td", {}, e.caused_by),
        ),
      );
    }
    if (!body.children.length) body.append(h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No status changes.")));
    logNext = page.next;
    $("#more-log").hidden = !logNext;
  }

  async function download(event, report) {
    event.preventDefault();
    const p = new URLSearchParams(query || params());
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

  function keysOf(report) {
    const keys = new Set();
    for (const row of report.agents) for (const k of Object.keys(row.time_in_status)) keys.add(k);
    const order = ["active", "active_own_clients", "finishing", "not_ready", "kicked_out", "offline"];
    return [...keys].sort((a, b) => rank(a, order) - rank(b, order) || a.localeCompare(b));
  }

  function colorOf(key, keys) {
    if (COLORS[key]) return COLORS[key];
    const reasons = keys.filter((k) => k.startsWith("inactive:"));
    return REASON_SHADES[reasons.indexOf(key) % REASON_SHADES.length];
  }

  function renderWorkload(report) {
    const keys = keysOf(report);
    const label = (k) => report.labels[k] || k;
    const head = h(
      "tr",
      {},
      h("th", {}, "Agent"),
      h("th", { class: "hide-narrow" }, "Team"),
      ...keys.map((k) => h("th", { class: "num" }, label(k))),
      ...COUNTS.map(([, l]) => h("th", { class: "num" }, l)),
      h("th", { class: "num" }, "First answer"),
      h("th", { class: "num" }, "Occupancy"),
    );
    const line = (name, team, row) =>
      h(
        "tr",
        {},
        h("td", {}, name),
        h("td", { class: "hide-narrow" }, team),
        ...keys.map((k) => h("td", { class: "num" }, hours(row.time_in_status[k] || 0))),
        ...COUNTS.map(([k]) => h("td", { class: "num" }, row[k])),
        h("td", { class: "num" }, row.mean_first_answer_seconds === null ? "–" : `${row.mean_first_answer_seconds.toFixed(0)} s`),
        h("td", { class: "num" }, percent(row.occupancy)),
      );
    $("#workload thead").replaceChildren(head);
    $("#workload tbody").replaceChildren(...report.agents.map((r) => line(r.name, r.team, r)));
    $("#workload tfoot").replaceChildren(...report.teams.map((r) => line(`Team ${r.team}`, r.team, r)));
    if (!report.agents.length) {
      $("#workload tbody").append(h("tr", {}, h("td", { colspan: 3 + keys.length + COUNTS.length, class: "muted" }, "No agents in this period.")));
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
        const w = (seconds / longest) * (WIDTH - LEFT - 10);
        const rect = svgEl("rect", { x, y, width: Math.max(0.5, w), height: bar, fill: colorOf(key, keys) });
        rect.append(svgEl("title", {}, `${row.name}: ${report.labels[key] || key} ${hours(seconds)}`));
        svg.append(rect);
        x += w;
      }
    });
    $("#time-chart").replaceChildren(svg);
    $("#legend").replaceChildren(
      ...keys.map((k) => {
        // Coloured through the CSSOM: the policy refuses style="" attributes, not this.
        const swatch = h("span", { class: "swatch" });
        swatch.style.background = colorOf(k, keys);
        return h("li", {}, swatch, report.labels[k] || k);
      }),
    );
  }

  function renderOccupancy(report) {
    const span = WIDTH - LEFT - 60;
    const svg = barChart(report.agents, 18, (svg, row, y, bar) => {
      const share = row.occupancy ?? 0;
      svg.append(svgEl("rect", { x: LEFT, y, width: span, height: bar, fill: "var(--chart-track)" }));
      svg.append(svgEl("rect", { x: LEFT, y, width: Math.max(0, share * span), height: bar, fill: "var(--accent)" }));
      svg.append(svgEl("text", { x: LEFT + span + 6, y: y + bar / 2 + 4 }, percent(row.occupancy)));
    });
    $("#occupancy-chart").replaceChildren(svg);
  }
}

const WIDTH = 900;
const LEFT = 170; // room for the agents' names

// One horizontal bar per agent, named on the left; `draw(svg, row, y, bar)` fills it in.
function barChart(rows, bar, draw) {
  const gap = 8;
  const height = Math.max(1, rows.length) * (bar + gap) + 24;
  const svg = svgEl("svg", { viewBox: `0 0 ${WIDTH} ${height}`, class: "chart", width: "100%" });
  rows.forEach((row, i) => {
    const y = i * (bar + gap) + 4;
    svg.append(svgEl("text", { x: LEFT - 8, y: y + bar / 2 + 4, "text-anchor": "end" }, row.name));
    draw(svg, row, y, bar);
  });
  return svg;
}

function svgEl(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function rank(key, order) {
  const i = order.indexOf(key);
  return i === -1 ? (key.startsWith("inactive:") ? 2.5 : 99) : i;
}

function total(times) {
  return Object.values(times).reduce((a, b) => a + b, 0);
}

function hours(seconds) {
  const s = Math.round(seconds);
  const pad = (n) => String(n).padStart(2, "0");
  return `${Math.floor(s / 3600)}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

function percent(share) {
  return share === null || share === undefined ? "–" : `${(share * 100).toFixed(0)}%`;
}

function fmt(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}
