// How an agent shows on the supervisor's page, in their row and on their card:
// avatar, status chip, the bell of a pending request, and the pills for a
// "continue working?" prompt and a lost connection.
import { countingDown, ticking } from "./clock.js";
import { h, initials, svgEl } from "./dom.js";
import { timeOfDay } from "./format.js";
import { reasonLabel, statusClass } from "./status.js";

export const BELL =
  "M12 2a6 6 0 0 0-6 6v3.6L4.3 15a1 1 0 0 0 .9 1.5h13.6a1 1 0 0 0 .9-1.5L18 11.6V8a6 6 0 0 0-6-6z" +
  "m0 20a3 3 0 0 0 3-3H9a3 3 0 0 0 3 3z";

export function avatar(agent) {
  return paintAvatar(h("span", { class: "avatar", "aria-hidden": "true" }, initials(agent.name)), agent);
}

// Each agent's own colour, through the CSSOM (the policy refuses style="" attributes).
export function paintAvatar(el, agent) {
  el.classList.add("hued");
  el.style.setProperty("--hue", String((agent.id * 67) % 360));
  return el;
}

export function statusChip(agent) {
  return h("span", { class: `status ${statusClass(agent.status, agent.threads)}` }, agent.status.label);
}

export function bell(agent, reasons) {
  const request = agent.pending_request;
  if (!request) return null;
  const label = reasonLabel(reasons, request.requested.reason);
  return h(
    "span",
    { class: "bell", title: `Pending request: ${label}` },
    icon(BELL),
    h("span", { class: "bell-text" }, `asks ${label}`),
  );
}

// S6: asked "continue working?", with the seconds left to answer, counting down.
export function prompted(agent) {
  if (!agent.prompt_deadline) return null;
  return h(
    "span",
    { class: "pill sv-prompted", title: `Kicked out at ${timeOfDay(agent.prompt_deadline, { seconds: true })} unless they continue` },
    "asked to continue · ",
    countingDown(h("span", { class: "sv-countdown", dataset: { until: agent.prompt_deadline, suffix: " left" } })),
  );
}

// S10: longer in the break than its reason allows; the time over counts up.
export function overdue(agent) {
  return h(
    "span",
    { class: "pill sv-overdue" },
    "overdue",
    agent.overdue_at ? ticking(h("span", { class: "sv-over-by", dataset: { since: agent.overdue_at, prefix: " by " } })) : null,
  );
}

// Holding more threads than their capacity (a transfer may do it, R3).
export function overCapacity(agent) {
  return agent.threads > agent.capacity ? h("span", { class: "pill sv-over" }, "over capacity") : null;
}

// S8: every page of theirs is closed or cut off; the grace is running.
export function disconnected(agent) {
  if (!agent.disconnect_deadline) return null;
  const at = timeOfDay(agent.disconnect_deadline, { seconds: true });
  return h(
    "span",
    { class: "pill sv-disconnected", title: `No connection: their status changes at ${at} unless they come back` },
    "connection lost",
  );
}

export function icon(path) {
  return svgEl("svg", { viewBox: "0 0 24 24", "aria-hidden": "true", class: "sv-icon" }, svgEl("path", { d: path }));
}
