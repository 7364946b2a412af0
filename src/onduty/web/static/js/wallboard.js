// The wallboard (W5 on a screen on the wall): the strip's tiles (floor.js, the same code
// as the supervisor page's), the queue and today's service, in large type, and a short
// list of the agents who need attention now: a pending request (S4), overdue (S10), or
// asked "continue working?" (S6). No controls. A supervisor sees their team; an admin
// the whole floor, or one team with ?team=.
//
// Live as the supervisor page is: the rows from GET /agents, then the event stream
// (read again after every reconnect); the queue and today from GET /floor.
import { api } from "./api.js";
import { avatar, bell, overdue, prompted } from "./badges.js";
import { chrome } from "./chrome.js";
import { syncClock, tickAll } from "./clock.js";
import { $, h, toast } from "./dom.js";
import { EventStream } from "./events.js";
import { figuresBox, floorFeed, isOverdue, renderFigures, renderTiles, tickFigures } from "./floor.js";
import { requireRole } from "./session.js";
import { rowAfterStatusChange } from "./status.js";
import { debounce, loadHolding } from "./timing.js";

const user = requireRole("supervisor", "admin");
// An admin may narrow the board to one team; a supervisor's is always their own.
const team = user?.role === "admin" ? new URLSearchParams(location.search).get("team") : user?.team;

const state = {
  agents: new Map(),
  reasons: [],
  overdue: new Set(), // who was overdue at the last draw: the tick redraws when it changes
  feed: null, // GET /floor's queue and today (floor.js)
};
const figures = figuresBox();

function start() {
  chrome(user);
  if (team) $("#team-name").textContent = `· ${team}`;
  $("#figures").replaceWith(figures);
  state.feed = floorFeed({
    team: user.role === "admin" ? team : null,
    onFloor: (f) => {
      renderFigures(figures, f);
      $("#wb-updated").textContent = `Figures as of ${new Date(f.at).toLocaleTimeString()}`;
    },
  }).start();
  const stream = new EventStream(onEvent, {
    onReady: ({ at }) => {
      syncClock(at);
      load();
      state.feed.soon();
    },
  });
  // What the board shows: its team's (an admin's: the team asked for, or every team) and the queue.
  stream.subscribe({ teams: team ? [team] : user.role === "admin" ? "all" : [], queue: true });
  setInterval(tick, 1000);
  stream.start();
}

const { load, onEvent } = loadHolding(async () => {
  try {
    const scope = team && user.role === "admin" ? `?team=${encodeURIComponent(team)}` : "";
    const [list, catalogue] = await Promise.all([api("GET", `/agents${scope}`), api("GET", "/reasons")]);
    state.reasons = catalogue;
    state.agents = new Map(list.map((agent) => [agent.id, agent]));
    draw();
  } catch (failure) {
    toast(`Could not load the agents: ${failure.message}`);
  }
}, (event) => apply(event));
const reloadSoon = debounce(load, 300);

function apply({ name, data }) {
  if (name === "agent.updated") upsert(data.agent);
  else if (name === "agent.status_changed" && data.status && state.agents.has(data.agent_id)) {
    upsert(rowAfterStatusChange(state.agents.get(data.agent_id), data));
  } else if (name === "agent.registered" || name === "agent.changed" || name === "reason.saved") reloadSoon();
  if (name === "queue.changed") state.feed.queueChanged(data);
  if (name === "queue.changed" || name.startsWith("thread.")) state.feed.soon();
}

function upsert(agent) {
  const ours = team ? agent.team === team : true;
  if (ours) state.agents.set(agent.id, agent);
  else if (!state.agents.delete(agent.id)) return; // another team's, and never ours
  draw();
}

function draw() {
  const agents = [...state.agents.values()];
  state.overdue = new Set(agents.filter((a) => isOverdue(a)).map((a) => a.id));
  renderTiles($("#tiles"), { reasons: state.reasons, agents });
  drawAttention(agents);
}

// Who needs attention now, by name: a pending request, overdue, or prompted.
function drawAttention(agents) {
  const needing = agents
    .filter((a) => a.pending_request || isOverdue(a) || a.prompt_deadline)
    .sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id);
  $("#attention").replaceChildren(
    ...needing.map((agent) =>
      h(
        "li",
        { dataset: { agentId: agent.id } },
        avatar(agent),
        h("span", { class: "wb-name" }, agent.name),
        h("span", { class: "wb-status" }, agent.status.label),
        isOverdue(agent) ? overdue(agent) : null,
        bell(agent, state.reasons),
        prompted(agent),
      ),
    ),
  );
  $("#attention-none").hidden = needing.length > 0;
}

function tick() {
  tickAll();
  if (state.feed) tickFigures(figures, state.feed);
  const now = new Set([...state.agents.values()].filter((a) => isOverdue(a)).map((a) => a.id));
  if (now.size !== state.overdue.size || [...now].some((id) => !state.overdue.has(id))) draw();
}

if (user) start();
