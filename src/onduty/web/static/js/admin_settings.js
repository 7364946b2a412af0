// The workspace settings form of the admin page: lengths of time as a number and a unit,
// every field checked before anything is sent, every refusal beside its field in words.
import { api } from "./api.js";
import { $, h, numberText } from "./dom.js";
import { DurationInput } from "./duration_input.js";
import { clearErrors, problemsOf, showErrors } from "./form_errors.js";
import { count, humanDuration } from "./format.js";

const DAY = 86400;
const LONGEST = 30 * DAY; // the service's bound on every length of time (domain/settings.py)
const ZONE = /^[A-Za-z][A-Za-z0-9_+\-]*(\/[A-Za-z0-9_+\-]+){0,2}$/;

// How each setting reads and what it takes; a setting the page does not know yet still
// shows, as plain text.
const SETTINGS = {
  response_timeout: {
    label: "Response timeout",
    duration: { min: 1, max: LONGEST, unit: "second" },
    hint: "An assigned thread unanswered this long asks the agent “continue working?” (S6).",
  },
  prompt_timeout: {
    label: "Prompt timeout",
    duration: { min: 1, max: LONGEST, unit: "second" },
    hint: "Time to confirm “continue working?” before being kicked out.",
  },
  client_affinity_timeout: {
    label: "Own-client period",
    duration: { min: 0, max: LONGEST, unit: "hour" },
    hint: "A client stays with the agent who answered their last thread this long (R4).",
  },
  affinity_wait: {
    label: "Wait for the client's agent",
    duration: { min: 0, max: LONGEST, unit: "second" },
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
  default_capacity: {
    label: "Default capacity",
    whole: { min: 1, max: 1000, unit: "threads at once" },
    hint: "Threads an agent holds at once, unless set per agent.",
  },
  time_zone: { label: "Time zone", zone: true, hint: "For reports' days, an IANA name such as Europe/Berlin." },
  disconnect_grace: {
    label: "Connection grace",
    duration: { min: 0, max: LONGEST, unit: "second", off: true },
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
    duration: { min: 0, max: LONGEST, unit: "hour", off: true },
    hint: "An agent who connects again this soon, with nobody having changed their status, gets back the status they had. 0 turns it off.",
  },
  service_level_target: {
    label: "Service level target",
    duration: { min: 1, max: 3600, unit: "second" },
    hint: "A thread that reaches an agent this soon after it arrived counts towards today's service level (W5).",
  },
  idle_timeout: {
    label: "Idle after",
    // Pages report input once a minute (S8): a shorter time would move people who are there.
    duration: { min: 0, minOn: 120, max: LONGEST, unit: "minute", off: true },
    hint: "No key or pointer input on an agent's page this long counts as a lost connection. 0 turns it off.",
  },
};

const LABELS = Object.fromEntries(Object.entries(SETTINGS).map(([name, meta]) => [name, meta.label]));

const state = {
  // setting name -> {element, focusable, read(), write(value), saved: the server's value, as JSON}
  controls: new Map(),
};

// -- checks, in words ---------------------------------------------------------------------------

function checkDuration(label, rule, seconds) {
  if (seconds === null) return rule.off ? `${label} is required: 0 turns it off` : `${label} is required`;
  if (Number.isNaN(seconds)) return `${label} must be a number`;
  const longest = humanDuration(rule.max);
  if (rule.off && rule.minOn) {
    if (seconds === 0) return null;
    if (seconds < rule.minOn || seconds > rule.max) {
      return `${label} must be 0 (off), or between ${humanDuration(rule.minOn)} and ${longest}: pages report input once a minute`;
    }
    return null;
  }
  if (seconds < rule.min || seconds > rule.max) {
    if (rule.off) return `${label} must be between 0 (off) and ${longest}`;
    return `${label} must be between ${humanDuration(rule.min)} and ${longest}`;
  }
  return null;
}

function checkWhole(label, rule, text) {
  const n = Number(text);
  if (text === "") return `${label} is required`;
  if (!Number.isInteger(n) || n < rule.min || n > rule.max) {
    return `${label} must be a whole number between ${count(rule.min)} and ${count(rule.max)}`;
  }
  return null;
}

// -- fields ---------------------------------------------------------------------------------------

function settingField(name, value) {
  const meta = SETTINGS[name] || { label: name.replace(/_/g, " ") };
  const id = `setting-${name}`;
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const described = meta.duration ? `${id}-human ${hintId} ${errorId}` : `${hintId} ${errorId}`;
  const hint = h("p", { class: "hint", id: hintId }, meta.hint || "");
  let control;
  if (meta.duration) {
    const input = new DurationInput({
      id,
      name,
      label: meta.label,
      unit: meta.duration.unit,
      offWhenZero: meta.duration.off,
      describedBy: described,
    });
    control = {
      element: h("div", {}, input.element, input.reading),
      focusable: input.number,
      read: () => {
        const seconds = input.seconds();
        return { value: seconds, problem: checkDuration(meta.label, meta.duration, seconds) };
      },
      write: (seconds) => input.set(seconds),
    };
  } else if (meta.options) {
    const select = h("select", { id, name, "aria-describedby": described });
    select.replaceChildren(...Object.entries(meta.options).map(([v, text]) => h("option", { value: v }, text)));
    control = {
      element: select,
      focusable: select,
      read: () => ({ value: meta.decode ? meta.decode(select.value) : select.value, problem: null }),
      write: (v) => {
        select.value = meta.encode ? meta.encode(v) : v;
      },
    };
  } else if (meta.whole) {
    const input = h("input", { id, name, type: "number", min: meta.whole.min, max: meta.whole.max, step: 1, "aria-describedby": described });
    control = {
      element: h("div", { class: "duration" }, input, h("span", { class: "hint" }, meta.whole.unit)),
      focusable: input,
      read: () => {
        const text = numberText(input);
        return { value: Number(text), problem: checkWhole(meta.label, meta.whole, text) };
      },
      write: (v) => {
        input.value = String(v);
      },
    };
  } else {
    const input = h("input", { id, name, autocomplete: "off", "aria-describedby": described });
    control = {
      element: input,
      focusable: input,
      read: () => {
        const text = input.value.trim();
        let problem = null;
        if (meta.zone && !text) problem = `${meta.label} is required`;
        else if (meta.zone && !ZONE.test(text)) problem = `${meta.label} must be an IANA name such as Europe/Berlin or UTC`;
        return { value: typeof value === "number" ? Number(text) : text, problem };
      },
      write: (v) => {
        input.value = String(v);
      },
    };
  }
  state.controls.set(name, control);
  return h(
    "div",
    { class: "setting" },
    h("label", { for: id }, meta.label),
    control.element,
    hint,
    h("p", { class: "field-error", id: errorId, "data-error-for": name, hidden: true }),
  );
}

// A field keeps what someone typed when the server's value changes under it.
function sync(name, value) {
  const control = state.controls.get(name);
  const saved = JSON.stringify(value);
  if (control.saved === undefined || !dirty(control)) control.write(value);
  control.saved = saved;
}

function dirty(control) {
  const { value, problem } = control.read();
  return problem !== null || JSON.stringify(value) !== control.saved;
}

// on_disconnect's choices: offline, or inactive with any usable reason (S8).
function fillOnDisconnect(select, reasons, current) {
  const choices = [["offline", "Offline (logged out)"]];
  const now = SETTINGS.on_disconnect.encode(current);
  for (const reason of reasons) {
    if (!reason.retired || `inactive:${reason.code}` === now) choices.push([`inactive:${reason.code}`, `Inactive: ${reason.label}`]);
  }
  const before = select.value;
  select.replaceChildren(...choices.map(([value, text]) => h("option", { value }, text)));
  select.value = before || now;
}

export async function loadSettings() {
  const [settings, reasons] = await Promise.all([api("GET", "/settings"), api("GET", "/reasons")]);
  const fields = $("#settings-fields");
  for (const [name, value] of Object.entries(settings)) {
    if (!state.controls.has(name)) fields.append(settingField(name, value));
    if (name === "on_disconnect") fillOnDisconnect(state.controls.get(name).focusable, reasons, value);
    sync(name, value);
  }
}

export async function saveSettings(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  $("#settings-saved").textContent = "";
  const changes = {};
  const problems = [];
  for (const [name, control] of state.controls) {
    const { value, problem } = control.read();
    if (problem) problems.push({ field: name, message: problem });
    else if (dirty(control)) changes[name] = value;
  }
  if (problems.length) {
    showErrors(form, problems, LABELS);
    return;
  }
  if (!Object.keys(changes).length) {
    $("#settings-saved").textContent = "Nothing changed.";
    return;
  }
  try {
    const saved = await api("PATCH", "/settings", changes);
    for (const name of Object.keys(changes)) {
      const control = state.controls.get(name);
      control.write(saved[name]);
      control.saved = JSON.stringify(saved[name]);
    }
    $("#settings-saved").textContent = "Saved.";
  } catch (failure) {
    showErrors(form, problemsOf(failure), LABELS);
  }
}
