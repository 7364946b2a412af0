// Administration: the reason catalogue (S1), workspace settings, users and teams.
//
// Every form is checked whole before anything is sent, and every invalid field shows its
// message beside it in words; what the API still refuses shows the same way (its `errors`).
// The page follows the live stream too, so two admins see each other's changes;
// a field someone is editing keeps what they typed.
import { loadSettings, saveSettings } from "./admin_settings.js";
import { api } from "./api.js";
import { DurationInput } from "./duration_input.js";
import { chrome } from "./chrome.js";
import { $, h, numberText, placeInOrder, toast } from "./dom.js";
import { EventStream } from "./events.js";
import { clearErrors, problemsOf, showErrors } from "./form_errors.js";
import { count, plural } from "./format.js";
import { requireRole } from "./session.js";

const user = requireRole("admin");

const state = {
  reasonRows: new Map(), // code -> {row, label, approval, limit, retired, savedLimit}
  userRows: new Map(), // user id -> {row, team, capacity}
  newLimit: null, // the add form's time limit (a DurationInput)
};

const ROLE_LABELS = { agent: "Agent", supervisor: "Supervisor", admin: "Admin", integration: "Integration" };
const TEAM_ROLES = new Set(["agent", "supervisor"]);

// -- the rules the API checks, said before sending ---------------------------------------------

// As the service has them (domain/reasons.py, domain/validate.py, web/schemas.py).
const CODE = /^[a-z][a-z0-9_]{0,39}$/;
// A reason's code may not be a status filter's name (W2, S10's overdue).
const STATUS_NAMES = new Set(["offline", "not_ready", "active", "active_own_clients", "finishing", "inactive", "kicked_out", "active_free", "overdue"]);
const MAX_LABEL = 80;
const MAX_NAME = 80; // usernames and teams
const MAX_FULL_NAME = 120;
const PASSWORD = { min: 8, max: 200 };
const MAX_CAPACITY = 1000;
const LIMIT_UNITS = ["day", "hour", "minute"];
const LONGEST_LIMIT = 7 * 24 * 60; // minutes (S10: a week at most)
const REASON_LABELS = { code: "Code", label: "Label", max_minutes: "Time limit" };
const USER_LABELS = { username: "Username", name: "Full name", role: "Role", password: "Password", team: "Team", capacity: "Capacity" };

function tooLong(label, text, most) {
  return text.length > most ? `${label} must be at most ${plural(most, "character")} long (it has ${count(text.length)})` : null;
}

function checkLabel(text) {
  return text ? tooLong("Label", text, MAX_LABEL) : "Label is required";
}

function checkCode(code) {
  if (!code) return "Code is required";
  if (STATUS_NAMES.has(code)) return `Code “${code}” is the name of a status; choose another`;
  if (!CODE.test(code)) {
    return "Code must start with a lowercase letter and hold only lowercase letters, digits and _ (40 at most), like coaching";
  }
  const taken = state.reasonRows.get(code);
  if (taken) return `Code “${code}” is taken by ${taken.retired ? "the retired reason" : "the reason"} “${taken.label.dataset.saved}”`;
  return null;
}

// S10: a reason's time limit, in whole minutes; empty is no limit.
function checkLimit(seconds) {
  if (seconds === null) return null;
  if (Number.isNaN(seconds)) return "Time limit must be a number, or empty for no limit";
  if (seconds % 60 !== 0) return "Time limit must be a whole number of minutes";
  if (seconds < 60 || seconds > LONGEST_LIMIT * 60) return "Time limit must be between 1 min and 7 days, or empty for no limit";
  return null;
}

// A time limit's field: a number and a unit, empty for none.
function limitInput(options) {
  const input = new DurationInput({ name: "max_minutes", label: "Time limit", unit: "minute", units: LIMIT_UNITS, ...options });
  input.number.placeholder = "No limit";
  return input;
}

function limitMinutes(input) {
  const seconds = input.seconds();
  return { minutes: seconds === null || Number.isNaN(seconds) ? seconds : seconds / 60, problem: checkLimit(seconds) };
}

function checkCapacity(text, required) {
  if (text === "") return required ? "Capacity is required" : null;
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 && n <= MAX_CAPACITY ? null : `Capacity must be a whole number between 1 and ${count(MAX_CAPACITY)}`;
}

function checkTeam(text, required) {
  if (!text) return required ? "Team is required" : null;
  return tooLong("Team", text, MAX_NAME);
}

// The problems among `checks` ([field, message or null]), for showErrors.
function problems(checks) {
  return checks.filter(([, message]) => message).map(([field, message]) => ({ field, message }));
}

// A field keeps what someone typed when the server's value changes under it.
function valueOf(input) {
  return input.type === "checkbox" ? String(input.checked) : input.value;
}

function sync(input, value) {
  const text = value === null || value === undefined ? "" : String(value);
  const untouched = input.dataset.saved === undefined || valueOf(input) === input.dataset.saved;
  if (untouched) {
    if (input.type === "checkbox") input.checked = text === "true";
    else input.value = text;
  }
  input.dataset.saved = text;
}

function dirty(input) {
  return valueOf(input) !== input.dataset.saved;
}

// -- reasons (S1) -------------------------------------------------------------------------

async function loadReasons() {
  const reasons = await api("GET", "/reasons");
  const body = $("#reasons tbody");
  // Usable reasons first, retired ones after: history, not choices.
  reasons.sort((a, b) => Number(a.retired) - Number(b.retired));
  for (const reason of reasons) {
    let entry = state.reasonRows.get(reason.code);
    if (!entry || entry.retired !== reason.retired) {
      const fresh = reasonRow(reason);
      if (entry) entry.row.replaceWith(fresh.row);
      entry = fresh;
      state.reasonRows.set(reason.code, entry);
    }
    sync(entry.label, reason.label);
    sync(entry.approval, reason.requires_approval);
    syncLimit(entry, reason.max_minutes ?? null);
  }
  placeInOrder(body, reasons.map((r) => state.reasonRows.get(r.code).row));
}

// The limit keeps what someone typed, as the other fields do.
function syncLimit(entry, minutes) {
  const { limit } = entry;
  if (entry.savedLimit === undefined || !limitDirty(entry)) limit.set(minutes === null ? null : minutes * 60);
  entry.savedLimit = minutes;
}

function limitDirty(entry) {
  const { minutes, problem } = limitMinutes(entry.limit);
  return problem !== null || minutes !== entry.savedLimit;
}

function reasonRow(reason) {
  const { code } = reason;
  const label = h("input", { name: "label", "aria-label": `Label of ${code}`, autocomplete: "off" });
  const approval = h("input", { type: "checkbox", name: "requires_approval", "aria-label": `${code} needs approval` });
  const limit = limitInput({ ariaLabel: `Time limit of ${code}`, label: `Time limit of ${code}` });
  const kind = reason.retired ? "Retired" : reason.built_in ? "Built-in" : "Custom";
  const row = h(
    "tr",
    { dataset: { code }, class: reason.retired ? "retired" : "" },
    h("td", { class: "first" }, label, h("p", { class: "field-error", "data-error-for": "label", hidden: true })),
    h("td", { "data-label": "Code" }, h("code", {}, code)),
    h("td", { "data-label": "Needs approval" }, approval),
    h(
      "td",
      { "data-label": "Time limit", class: "limit" },
      limit.element,
      limit.reading,
      h("p", { class: "field-error", "data-error-for": "max_minutes", hidden: true }),
    ),
    h("td", { "data-label": "Kind" }, h("span", { class: "pill" }, kind)),
    h("td", { class: "actions" }),
  );
  const actions = row.lastElementChild;
  const entry = { row, label, approval, limit, retired: reason.retired };
  if (reason.retired) {
    label.disabled = true;
    approval.disabled = true;
    limit.number.disabled = true;
    limit.unit.disabled = true;
  } else {
    const save = h("button", { type: "button", "aria-label": `Save ${code}` }, "Save");
    const retire = h("button", { type: "button", "aria-label": `Retire ${code}` }, "Retire");
    actions.append(h("div", { class: "row" }, save, retire), h("p", { class: "field-error", "data-error-for": "", hidden: true }));
    save.addEventListener("click", () => saveReason(code, entry));
    for (const input of [label, limit.number]) {
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter") saveReason(code, entry);
      });
    }
    retire.addEventListener("click", () => askRetire(code, row, actions));
  }
  return entry;
}

async function saveReason(code, entry) {
  const { row, label, approval, limit } = entry;
  clearErrors(row);
  const { minutes, problem } = limitMinutes(limit);
  const found = problems([
    ["label", checkLabel(label.value.trim())],
    ["max_minutes", problem],
  ]);
  if (found.length) {
    showErrors(row, found, REASON_LABELS);
    return;
  }
  const changes = {};
  if (dirty(label)) changes.label = label.value.trim();
  if (dirty(approval)) changes.requires_approval = approval.checked;
  if (limitDirty(entry)) changes.max_minutes = minutes;
  if (!Object.keys(changes).length) {
    toast(`Nothing to save for ${code}.`);
    return;
  }
  try {
    const saved = await api("PATCH", `/reasons/${encodeURIComponent(code)}`, changes);
    label.dataset.saved = saved.label;
    label.value = saved.label;
    approval.dataset.saved = String(saved.requires_approval);
    approval.checked = saved.requires_approval;
    entry.savedLimit = saved.max_minutes;
    limit.set(saved.max_minutes === null ? null : saved.max_minutes * 60);
    toast(`Saved “${saved.label}”.`);
  } catch (failure) {
    showErrors(row, problemsOf(failure), REASON_LABELS);
  }
}

function askRetire(code, row, actions) {
  // A second, explicit step: retiring cannot be undone.
  const before = [...actions.childNodes];
  const yes = h("button", { type: "button", class: "danger" }, "Retire");
  const no = h("button", { type: "button" }, "Keep");
  const restore = () => {
    actions.replaceChildren(...before);
    $("button[aria-label^='Retire']", actions).focus();
  };
  no.addEventListener("click", restore);
  yes.addEventListener("click", async () => {
    try {
      await api("DELETE", `/reasons/${encodeURIComponent(code)}`);
      toast(`Retired ${code}: agents can no longer choose it.`);
      await loadReasons();
    } catch (failure) {
      restore();
      showErrors(row, problemsOf(failure), REASON_LABELS);
    }
  });
  actions.replaceChildren(h("span", { class: "small" }, `Retire ${code}?`), h("div", { class: "row" }, yes, no));
  yes.focus();
}

async function addReason(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const { minutes, problem } = limitMinutes(state.newLimit);
  const body = {
    code: form.elements.code.value.trim(),
    label: form.elements.label.value.trim(),
    requires_approval: form.elements.requires_approval.checked,
    max_minutes: minutes,
  };
  const found = problems([
    ["code", checkCode(body.code)],
    ["label", checkLabel(body.label)],
    ["max_minutes", problem],
  ]);
  if (found.length) {
    showErrors(form, found, REASON_LABELS);
    return;
  }
  try {
    const reason = await api("POST", "/reasons", body);
    form.reset();
    state.newLimit.set(null);
    toast(`Added “${reason.label}”.`);
    await loadReasons();
    form.elements.code.focus();
  } catch (failure) {
    showErrors(form, problemsOf(failure), REASON_LABELS);
  }
}

// -- users and teams ------------------------------------------------------------------------

async function loadUsers() {
  const [users, agents, teams] = await Promise.all([api("GET", "/users"), api("GET", "/agents"), api("GET", "/teams")]);
  const agentsById = new Map(agents.map((a) => [a.id, a]));
  const body = $("#users tbody");
  users.sort((a, b) => a.role.localeCompare(b.role) || (a.team || "").localeCompare(b.team || "") || a.name.localeCompare(b.name));
  for (const person of users) {
    let entry = state.userRows.get(person.id);
    if (!entry) {
      entry = userRow(person);
      state.userRows.set(person.id, entry);
    }
    const agent = agentsById.get(person.id);
    if (entry.team) sync(entry.team, agent ? agent.team : person.team);
    if (entry.capacity && agent) sync(entry.capacity, agent.capacity);
  }
  placeInOrder(body, users.map((u) => state.userRows.get(u.id).row));
  $("#team-names").replaceChildren(...teams.map((t) => h("option", { value: t })));
  $("#teams").replaceChildren(
    ...teams.map((team) => {
      const members = users.filter((u) => u.team === team);
      const many = (role) => members.filter((u) => u.role === role).length;
      return h(
        "li",
        {},
        h("strong", {}, team),
        h("span", { class: "muted" }, ` · ${plural(many("agent"), "agent")}, ${plural(many("supervisor"), "supervisor")}`),
      );
    }),
  );
  if (!teams.length) $("#teams").replaceChildren(h("li", { class: "muted" }, "No teams yet."));
}

function userRow(person) {
  const cells = [
    h("td", { class: "first" }, h("strong", {}, person.name)),
    h("td", { "data-label": "Username" }, person.username),
    h("td", { "data-label": "Role" }, ROLE_LABELS[person.role] || person.role),
  ];
  let team = null;
  let capacity = null;
  if (person.role === "agent") {
    team = h("input", { name: "team", list: "team-names", "aria-label": `Team of ${person.name}`, autocomplete: "off" });
    capacity = h("input", { name: "capacity", type: "number", min: 1, max: MAX_CAPACITY, step: 1, "aria-label": `Capacity of ${person.name}` });
    const save = h("button", { type: "button", "aria-label": `Save ${person.name}` }, "Save");
    cells.push(
      h("td", { "data-label": "Team" }, team, h("p", { class: "field-error", "data-error-for": "team", hidden: true })),
      h("td", { "data-label": "Capacity" }, capacity, h("p", { class: "field-error", "data-error-for": "capacity", hidden: true })),
      h("td", { class: "actions" }, save, h("p", { class: "field-error", "data-error-for": "", hidden: true })),
    );
    save.addEventListener("click", () => saveAgent(person, row, team, capacity));
  } else {
    cells.push(
      h("td", { "data-label": "Team" }, person.team || h("span", { class: "muted" }, "—")),
      h("td", { "data-label": "Capacity", class: "hide-narrow" }, h("span", { class: "muted" }, "—")),
      h("td", { class: "actions hide-narrow" }),
    );
  }
  const row = h("tr", { dataset: { userId: String(person.id) } }, ...cells);
  return { row, team, capacity };
}

async function saveAgent(person, row, team, capacity) {
  clearErrors(row);
  const found = problems([
    ["team", checkTeam(team.value.trim(), true)],
    ["capacity", checkCapacity(numberText(capacity), true)],
  ]);
  if (found.length) {
    showErrors(row, found, USER_LABELS);
    return;
  }
  const changes = {};
  if (dirty(team)) changes.team = team.value.trim();
  if (dirty(capacity)) changes.capacity = Number(capacity.value);
  if (!Object.keys(changes).length) {
    toast(`Nothing to save for ${person.name}.`);
    return;
  }
  try {
    const agent = await api("PATCH", `/agents/${person.id}`, changes);
    team.dataset.saved = agent.team;
    team.value = agent.team;
    capacity.dataset.saved = String(agent.capacity);
    capacity.value = String(agent.capacity);
    toast(`Saved ${person.name}: team ${agent.team}, capacity ${agent.capacity}.`);
    await loadUsers();
  } catch (failure) {
    showErrors(row, problemsOf(failure), USER_LABELS);
  }
}

function roleChanged() {
  const role = $("#user-role").value;
  $("#user-team").disabled = !TEAM_ROLES.has(role);
  $("#user-capacity").disabled = role !== "agent";
}

async function addUser(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const field = (name) => form.elements[name].value.trim();
  const password = form.elements.password.value;
  const role = field("role");
  const found = problems([
    ["username", field("username") ? tooLong("Username", field("username"), MAX_NAME) : "Username is required"],
    ["name", tooLong("Full name", field("name"), MAX_FULL_NAME)],
    ["password", password && password.length < PASSWORD.min ? `Password must be at least ${plural(PASSWORD.min, "character")} long` : tooLong("Password", password, PASSWORD.max)],
    ["team", TEAM_ROLES.has(role) ? checkTeam(field("team"), false) : null],
    ["capacity", role === "agent" ? checkCapacity(numberText(form.elements.capacity), false) : null],
  ]);
  if (found.length) {
    showErrors(form, found, USER_LABELS);
    return;
  }
  // The username goes as typed: the server normalises it, one rule for every client.
  const body = { username: form.elements.username.value, role };
  if (field("name")) body.name = field("name");
  if (password) body.password = password;
  if (TEAM_ROLES.has(role) && field("team")) body.team = field("team");
  if (role === "agent" && field("capacity")) body.capacity = Number(field("capacity"));
  try {
    const created = await api("POST", "/users", body);
    form.reset();
    roleChanged();
    $("#new-token-who").textContent = `Created ${created.username} (${ROLE_LABELS[created.role]}).`;
    $("#new-token-value").textContent = created.token;
    $("#new-token").hidden = false;
    $("#new-token-copy").focus();
    await loadUsers();
  } catch (failure) {
    showErrors(form, problemsOf(failure), USER_LABELS);
  }
}

function setUpToken() {
  $("#new-token-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("#new-token-value").textContent);
      toast("Token copied.");
    } catch {
      getSelection().selectAllChildren($("#new-token-value"));
      toast("Select and copy the token by hand (Ctrl+C).");
    }
  });
  $("#new-token-done").addEventListener("click", () => {
    // Shown once: gone from the page when dismissed.
    $("#new-token-value").textContent = "";
    $("#new-token").hidden = true;
    $("#user-username").focus();
  });
}

// -- start ----------------------------------------------------------------------------------

function guarded(load) {
  return () => load().catch((failure) => toast(failure.message));
}

const refresh = { reasons: guarded(loadReasons), settings: guarded(loadSettings), users: guarded(loadUsers) };

function onEvent({ name }) {
  if (name === "reason.saved") {
    refresh.reasons();
    refresh.settings(); // on_disconnect offers the reasons
  } else if (name === "settings.changed") refresh.settings();
  else if (name === "agent.registered" || name === "agent.changed") refresh.users();
}

function start() {
  // The add form's time limit: a number and its unit, before its hint.
  state.newLimit = limitInput({ id: "reason-max_minutes", describedBy: "reason-max_minutes-hint reason-max_minutes-error" });
  $("#reason-max_minutes-hint").before(state.newLimit.element, state.newLimit.reading);
  $("#reason-add").addEventListener("submit", addReason);
  $("#settings").addEventListener("submit", saveSettings);
  $("#user-add").addEventListener("submit", addUser);
  $("#user-role").addEventListener("change", roleChanged);
  roleChanged();
  setUpToken();
  const stream = new EventStream(onEvent, {
    onReady: () => {
      refresh.reasons();
      refresh.settings();
      refresh.users();
    },
  });
  stream.subscribe({}); // the catalogue (reasons, settings, people) only: no team's traffic
  stream.start();
}

if (user) {
  chrome(user);
  start();
}
