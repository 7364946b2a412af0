// Administration: the reason catalogue (S1), workspace settings, users and teams.
//
// Every form shows the API's error next to the field it names (error.field).
// The page follows the live stream too, so two admins see each other's changes;
// a field someone is editing keeps what they typed.
import { api } from "./api.js";
import { chrome } from "./chrome.js";
import { $, h, placeInOrder, toast } from "./dom.js";
import { EventStream } from "./events.js";
import { duration } from "./format.js";
import { requireRole } from "./session.js";

const user = requireRole("admin");

const ROLE_LABELS = { agent: "Agent", supervisor: "Supervisor", admin: "Admin", integration: "Integration" };
const TEAM_ROLES = new Set(["agent", "supervisor"]);

// How each setting reads; a setting the page does not know yet still shows, as plain text.
const SETTINGS = {
  response_timeout: {
    label: "Response timeout",
    unit: "seconds",
    hint: "An assigned thread unanswered this long asks the agent “continue working?” (S6).",
  },
  prompt_timeout: {
    label: "Prompt timeout",
    unit: "seconds",
    hint: "Time to confirm “continue working?” before being kicked out.",
  },
  client_affinity_timeout: {
    label: "Own-client period",
    unit: "seconds",
    hint: "A client stays with the agent who answered their last thread this long (R4).",
  },
  affinity_wait: {
    label: "Wait for the client's agent",
    unit: "seconds",
    hint: "How long a returning client waits for their own agent; 0 sends them to the queue at once.",
  },
  strategy: {
    label: "Routing strategy",
    options: { least_busy: "Least busy", longest_idle: "Longest idle", round_robin: "Round robin" },
    hint: "Who gets the next thread among the agents who can take it (R2).",
  },
  on_logout: {
    label: "Threads at logout",
    options: { requeue: "Back to the queue", keep: "The agent keeps them" },
    hint: "What happens to an agent's threads when they log out (S5).",
  },
  default_capacity: { label: "Default capacity", unit: "threads", integer: true, hint: "Threads an agent holds at once, unless set per agent." },
  time_zone: { label: "Time zone", hint: "For reports' days, an IANA name such as Europe/Berlin." },
  disconnect_grace: {
    label: "Connection grace",
    unit: "seconds",
    hint: "An agent whose pages are all closed or cut off this long gets the status below (S8); a reload or a short drop changes nothing. 0 turns it off.",
  },
  on_disconnect: {
    label: "When an agent's connection is lost",
    // Filled from the reason catalogue; the API's object reads as "inactive:<code>" or "offline".
    options: {},
    encode: (value) => (value.state === "offline" ? "offline" : `inactive:${value.reason}`),
    decode: (text) => (text === "offline" ? { state: "offline" } : { state: "inactive", reason: text.slice("inactive:".length) }),
    hint: "Offline logs them out (their threads go as at a logout).",
  },
  return_window: {
    label: "Welcome back within",
    unit: "seconds",
    hint: "An agent who connects again this soon, with nobody having changed their status, gets back the status they had. 0 turns it off.",
  },
  idle_timeout: {
    label: "Idle after",
    unit: "seconds",
    hint: "No key or pointer input on an agent's page this long counts as a lost connection. 0 turns it off.",
  },
};

// on_disconnect's choices: offline, or inactive with any usable reason (S8).
function fillOnDisconnect(select, reasons, current) {
  const choices = [["offline", "Offline (logged out)"]];
  for (const reason of reasons) {
    if (!reason.retired || `inactive:${reason.code}` === current) choices.push([`inactive:${reason.code}`, `Inactive: ${reason.label}`]);
  }
  const before = select.value;
  select.replaceChildren(...choices.map(([value, text]) => h("option", { value }, text)));
  select.value = before || current;
}

// -- errors next to their fields -----------------------------------------------------

function clearErrors(root) {
  for (const p of root.querySelectorAll("[data-error-for]")) {
    p.hidden = true;
    p.textContent = "";
  }
  for (const input of root.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

function showError(root, failure) {
  const field = failure.field || "";
  const slot = root.querySelector(`[data-error-for="${CSS.escape(field)}"]`) || root.querySelector('[data-error-for=""]');
  const input = field ? root.querySelector(`[name="${CSS.escape(field)}"]`) : null;
  if (input) input.setAttribute("aria-invalid", "true");
  if (slot) {
    slot.textContent = failure.message;
    slot.hidden = false;
  } else {
    toast(failure.message);
  }
  if (input) input.focus();
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

const reasonRows = new Map(); // code -> {row, label, approval, errors}

async function loadReasons() {
  const reasons = await api("GET", "/reasons");
  const body = $("#reasons tbody");
  // Usable reasons first, retired ones after: history, not choices.
  reasons.sort((a, b) => Number(a.retired) - Number(b.retired));
  for (const reason of reasons) {
    let entry = reasonRows.get(reason.code);
    if (!entry || entry.retired !== reason.retired) {
      const fresh = reasonRow(reason);
      if (entry) entry.row.replaceWith(fresh.row);
      entry = fresh;
      reasonRows.set(reason.code, entry);
    }
    sync(entry.label, reason.label);
    sync(entry.approval, reason.requires_approval);
  }
  placeInOrder(body, reasons.map((r) => reasonRows.get(r.code).row));
}

function reasonRow(reason) {
  const { code } = reason;
  const label = h("input", { name: "label", "aria-label": `Label of ${code}`, autocomplete: "off" });
  const approval = h("input", { type: "checkbox", name: "requires_approval", "aria-label": `${code} needs approval` });
  const kind = reason.retired ? "Retired" : reason.built_in ? "Built-in" : "Custom";
  const row = h(
    "tr",
    { dataset: { code }, class: reason.retired ? "retired" : "" },
    h("td", { class: "first" }, label, h("p", { class: "field-error", "data-error-for": "label", hidden: true })),
    h("td", { "data-label": "Code" }, h("code", {}, code)),
    h("td", { "data-label": "Needs approval" }, approval),
    h("td", { "data-label": "Kind" }, h("span", { class: "pill" }, kind)),
    h("td", { class: "actions" }),
  );
  const actions = row.lastElementChild;
  if (reason.retired) {
    label.disabled = true;
    approval.disabled = true;
  } else {
    const save = h("button", { type: "button", "aria-label": `Save ${code}` }, "Save");
    const retire = h("button", { type: "button", "aria-label": `Retire ${code}` }, "Retire");
    actions.append(h("div", { class: "row" }, save, retire), h("p", { class: "field-error", "data-error-for": "", hidden: true }));
    save.addEventListener("click", () => saveReason(code, row, label, approval));
    label.addEventListener("keydown", (event) => {
      if (event.key === "Enter") saveReason(code, row, label, approval);
    });
    retire.addEventListener("click", () => askRetire(code, row, actions));
  }
  return { row, label, approval, retired: reason.retired };
}

async function saveReason(code, row, label, approval) {
  clearErrors(row);
  const changes = {};
  if (dirty(label)) changes.label = label.value.trim();
  if (dirty(approval)) changes.requires_approval = approval.checked;
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
    toast(`Saved “${saved.label}”.`);
  } catch (failure) {
    showError(row, failure);
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
      showError(row, failure);
    }
  });
  actions.replaceChildren(h("span", { class: "small" }, `Retire ${code}?`), h("div", { class: "row" }, yes, no));
  yes.focus();
}

async function addReason(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const body = {
    code: form.elements.code.value.trim(),
    label: form.elements.label.value.trim(),
    requires_approval: form.elements.requires_approval.checked,
  };
  try {
    const reason = await api("POST", "/reasons", body);
    form.reset();
    toast(`Added “${reason.label}”.`);
    await loadReasons();
    form.elements.code.focus();
  } catch (failure) {
    showError(form, failure);
  }
}

// -- settings -----------------------------------------------------------------------------

const settingInputs = new Map(); // name -> input

function settingField(name, value) {
  const meta = SETTINGS[name] || { label: name.replace(/_/g, " ") };
  const id = `setting-${name}`;
  let input;
  if (meta.options) {
    input = h("select", { id, name }, Object.entries(meta.options).map(([v, text]) => h("option", { value: v }, text)));
  } else if (typeof value === "number") {
    input = h("input", { id, name, type: "number", min: meta.integer ? 1 : 0, step: meta.integer ? 1 : "any", inputmode: "decimal" });
  } else {
    input = h("input", { id, name, autocomplete: "off" });
  }
  const described = [`${id}-hint`, `${id}-error`].join(" ");
  input.setAttribute("aria-describedby", described);
  const unit = meta.unit ? h("span", { class: "hint" }, ` (${meta.unit})`) : null;
  const human = meta.unit === "seconds" ? h("span", { class: "hint human", id: `${id}-human` }) : null;
  settingInputs.set(name, input);
  if (human) input.addEventListener("input", () => humanize(input, human));
  return h(
    "div",
    { class: "setting" },
    h("label", { for: id }, meta.label, unit),
    input,
    h("p", { class: "hint", id: `${id}-hint` }, meta.hint || "", human ? " " : "", human),
    h("p", { class: "field-error", id: `${id}-error`, "data-error-for": name, hidden: true }),
  );
}

function humanize(input, human) {
  const seconds = Number(input.value);
  human.textContent = input.value !== "" && Number.isFinite(seconds) && seconds >= 3600 ? `= ${duration(seconds)}` : "";
}

async function loadSettings() {
  const [settings, reasons] = await Promise.all([api("GET", "/settings"), api("GET", "/reasons")]);
  const fields = $("#settings-fields");
  for (const [name, raw] of Object.entries(settings)) {
    const meta = SETTINGS[name] || {};
    const value = meta.encode ? meta.encode(raw) : raw;
    if (!settingInputs.has(name)) fields.append(settingField(name, value));
    const input = settingInputs.get(name);
    if (name === "on_disconnect") fillOnDisconnect(input, reasons, value);
    sync(input, value);
    const human = $(`#setting-${name}-human`);
    if (human) humanize(input, human);
  }
}

async function saveSettings(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  $("#settings-saved").textContent = "";
  const changes = {};
  for (const [name, input] of settingInputs) {
    if (!dirty(input)) continue;
    if (input.type === "number") {
      const number = Number(input.value);
      if (input.value.trim() === "" || !Number.isFinite(number)) {
        showError(form, { field: name, message: `${(SETTINGS[name] || {}).label || name}: enter a number` });
        return;
      }
      changes[name] = number;
    } else {
      const decode = (SETTINGS[name] || {}).decode;
      changes[name] = decode ? decode(input.value) : input.value.trim();
    }
  }
  if (!Object.keys(changes).length) {
    $("#settings-saved").textContent = "Nothing changed.";
    return;
  }
  try {
    const saved = await api("PATCH", "/settings", changes);
    for (const name of Object.keys(changes)) {
      const input = settingInputs.get(name);
      const encode = (SETTINGS[name] || {}).encode;
      const value = String(encode ? encode(saved[name]) : saved[name]);
      input.dataset.saved = value;
      input.value = value;
    }
    $("#settings-saved").textContent = "Saved.";
  } catch (failure) {
    showError(form, failure);
  }
}

// -- users and teams ------------------------------------------------------------------------

const userRows = new Map(); // user id -> {row, team, capacity}

async function loadUsers() {
  const [users, agents, teams] = await Promise.all([api("GET", "/users"), api("GET", "/agents"), api("GET", "/teams")]);
  const agentsById = new Map(agents.map((a) => [a.id, a]));
  const body = $("#users tbody");
  users.sort((a, b) => a.role.localeCompare(b.role) || (a.team || "").localeCompare(b.team || "") || a.name.localeCompare(b.name));
  for (const person of users) {
    let entry = userRows.get(person.id);
    if (!entry) {
      entry = userRow(person);
      userRows.set(person.id, entry);
    }
    const agent = agentsById.get(person.id);
    if (entry.team) sync(entry.team, agent ? agent.team : person.team);
    if (entry.capacity && agent) sync(entry.capacity, agent.capacity);
  }
  placeInOrder(body, users.map((u) => userRows.get(u.id).row));
  $("#team-names").replaceChildren(...teams.map((t) => h("option", { value: t })));
  $("#teams").replaceChildren(
    ...teams.map((team) => {
      const members = users.filter((u) => u.team === team);
      const count = (role) => members.filter((u) => u.role === role).length;
      return h(
        "li",
        {},
        h("strong", {}, team),
        h("span", { class: "muted" }, ` · ${count("agent")} agents, ${count("supervisor")} supervisors`),
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
    capacity = h("input", { name: "capacity", type: "number", min: 1, max: 1000, step: 1, "aria-label": `Capacity of ${person.name}` });
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
  const changes = {};
  if (dirty(team)) changes.team = team.value.trim();
  if (dirty(capacity)) {
    const number = Number(capacity.value);
    if (capacity.value.trim() === "" || !Number.isInteger(number)) {
      showError(row, { field: "capacity", message: "capacity: enter a whole number" });
      return;
    }
    changes.capacity = number;
  }
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
    showError(row, failure);
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
  // The username goes as typed: the server normalises it, one rule for every client.
  const body = { username: form.elements.username.value, role: field("role") };
  if (field("name")) body.name = field("name");
  if (form.elements.password.value) body.password = form.elements.password.value;
  if (TEAM_ROLES.has(body.role) && field("team")) body.team = field("team");
  if (body.role === "agent" && field("capacity")) {
    const capacity = Number(field("capacity"));
    if (!Number.isInteger(capacity)) {
      showError(form, { field: "capacity", message: "capacity: enter a whole number" });
      return;
    }
    body.capacity = capacity;
  }
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
    showError(form, failure);
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
  $("#reason-add").addEventListener("submit", addReason);
  $("#settings").addEventListener("submit", saveSettings);
  $("#user-add").addEventListener("submit", addUser);
  $("#user-role").addEventListener("change", roleChanged);
  roleChanged();
  setUpToken();
  new EventStream(onEvent, {
    onReady: () => {
      refresh.reasons();
      refresh.settings();
      refresh.users();
    },
  }).start();
}

if (user) {
  chrome(user);
  start();
}
