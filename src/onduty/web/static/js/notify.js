// W7: new work is announced by the page: a short tone, a desktop notification (when the
// person allowed them) and a count in the tab's title while they are not looking. Each
// of the three can be muted, per person, in this browser (the top bar's "Alerts" menu).
//
//   setUpNotifications(user)       once, after chrome(user): the menu and the listeners
//   announce({title, body, tag})   something new for this person (never their own act)
//   setTitle(text)                 the page's own title; the count goes in front of it
import { topbarMenu } from "./chrome.js";
import { h } from "./dom.js";

const CHANNELS = [
  ["sound", "Sound"],
  ["desktop", "Desktop notification"],
  ["title", "Count in the tab's title"],
];
const ALL_ON = { sound: true, desktop: true, title: true };

const state = {
  user: null,
  on: null, // channel -> whether the person wants it (false: muted)
  unseen: 0, // announcements since the person last looked at the page
  base: document.title,
  audio: null, // made on the person's first gesture: browsers refuse sound before one
  inputs: {},
  desktopHint: null,
  button: null,
};

const storageKey = (user) => `onduty.alerts.${user.id}`;

function loadChoices(user) {
  try {
    return { ...ALL_ON, ...JSON.parse(localStorage.getItem(storageKey(user))) };
  } catch {
    return { ...ALL_ON };
  }
}

function saveChoices() {
  try {
    localStorage.setItem(storageKey(state.user), JSON.stringify(state.on));
  } catch {
    // Storage refused (a private window, full): the choices last as long as the page.
  }
}

export function setUpNotifications(user) {
  if (state.user) return;
  state.user = user;
  state.on = loadChoices(user);
  buildMenu();
  for (const kind of ["pointerdown", "keydown", "touchstart"]) {
    addEventListener(kind, unlockAudio, { capture: true, passive: true });
    addEventListener(kind, looked, { capture: true, passive: true });
  }
  addEventListener("focus", looked);
  document.addEventListener("visibilitychange", looked);
  // The browser's own site settings can change the answer while the page is open.
  if (navigator.permissions && "Notification" in window) {
    navigator.permissions
      .query({ name: "notifications" })
      .then((status) => status.addEventListener("change", renderMenu))
      .catch(() => {});
  }
}

export function announce({ title, body = "", tag = undefined }) {
  if (!state.user) return;
  if (state.on.sound) playTone();
  if (looking()) return; // the page shows it already
  if (state.on.desktop) showDesktop(title, body, tag);
  state.unseen += 1;
  renderTitle();
}

export function setTitle(text) {
  state.base = text;
  renderTitle();
}

// -- looking ------------------------------------------------------------------------

function looking() {
  return document.visibilityState === "visible" && document.hasFocus();
}

function looked() {
  if (!state.unseen || !looking()) return;
  state.unseen = 0;
  renderTitle();
}

function renderTitle() {
  const count = state.on && state.on.title ? state.unseen : 0;
  document.title = count ? `(${count}) ${state.base}` : state.base;
}

// -- sound: a generated two-note chime, no audio file --------------------------------

function unlockAudio() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  try {
    if (!state.audio) state.audio = new Context();
    if (state.audio.state === "suspended") state.audio.resume().catch(() => {});
  } catch {
    state.audio = null; // no sound on this device; the other two still work
  }
}

function playTone() {
  const audio = state.audio;
  if (!audio || audio.state !== "running") return; // no gesture yet: silence, not an error
  const start = audio.currentTime + 0.01;
  for (const [frequency, offset] of [
    [660, 0],
    [880, 0.16],
  ]) {
    const tone = audio.createOscillator();
    const volume = audio.createGain();
    tone.type = "sine";
    tone.frequency.value = frequency;
    // A quick rise and fall: a click-free "ding" rather than a square-edged beep.
    volume.gain.setValueAtTime(0.0001, start + offset);
    volume.gain.exponentialRampToValueAtTime(0.2, start + offset + 0.02);
    volume.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.15);
    tone.connect(volume).connect(audio.destination);
    tone.start(start + offset);
    tone.stop(start + offset + 0.16);
  }
}

// -- desktop notifications -------------------------------------------------------------

function permission() {
  return "Notification" in window ? Notification.permission : "unsupported";
}

function showDesktop(title, body, tag) {
  if (permission() !== "granted") return;
  try {
    const note = new Notification(title, { body, tag, icon: "/static/favicon.svg" });
    note.addEventListener("click", () => {
      window.focus();
      note.close();
    });
  } catch {
    // Some mobile browsers notify only from a service worker: the tone and count remain.
  }
}

// -- the menu --------------------------------------------------------------------------

function buildMenu() {
  const panel = topbarMenu({ id: "alerts", label: "Alerts" });
  state.button = document.getElementById("alerts");
  const rows = CHANNELS.map(([channel, label]) => {
    const input = h("input", { type: "checkbox", id: `alerts-${channel}`, name: channel });
    input.addEventListener("change", () => choose(channel, input.checked));
    state.inputs[channel] = input;
    return h("div", { class: "check" }, input, h("label", { for: input.id }, label));
  });
  state.desktopHint = h("p", { id: "alerts-desktop-hint", class: "hint", "aria-live": "polite" });
  state.inputs.desktop.setAttribute("aria-describedby", state.desktopHint.id);
  panel.append(h("p", { class: "menu-title" }, "Announce new work with"), rows[0], rows[1], state.desktopHint, rows[2]);
  renderMenu();
}

async function choose(channel, on) {
  // Asked here, in the click on the box: browsers ignore a request made without a gesture.
  if (channel === "desktop" && on && permission() === "default") {
    on = (await Notification.requestPermission()) === "granted";
  }
  state.on[channel] = on;
  saveChoices();
  renderMenu();
  renderTitle();
}

function renderMenu() {
  const { sound, title } = state.inputs;
  sound.checked = state.on.sound;
  title.checked = state.on.title;
  const allowed = permission();
  const desktop = state.inputs.desktop;
  desktop.checked = state.on.desktop && allowed === "granted";
  desktop.disabled = allowed === "denied" || allowed === "unsupported";
  state.desktopHint.textContent =
    {
      default: "Your browser asks you first.",
      denied: "Blocked in this browser's settings for this site.",
      unsupported: "This browser cannot show them.",
    }[allowed] || "";
  state.desktopHint.hidden = !state.desktopHint.textContent;
  const silent = !sound.checked && !desktop.checked && !title.checked;
  state.button.textContent = silent ? "Alerts (off)" : "Alerts";
}
