// How a status looks: a colour class that always comes with its text label (W1).
export const PRESENCE_LABEL = { online: "Online", away: "Away", offline: "Offline" };

export function statusClass(status, threads = 0) {
  if (status.state === "active" && threads === 0) return "st-active-free";
  return `st-${status.state.replace(/_/g, "-")}`;
}

// W1: the time since the last change is shown for these states only.
export const SHOWS_SINCE = new Set(["offline", "not_ready", "inactive", "kicked_out"]);
// W1: the personal queue is shown for these.
export const SHOWS_QUEUE = new Set(["active", "active_own_clients", "finishing"]);

// Each state's own name, as the server's (domain/statuses.py): what a filter or a picker
// offers. An agent's status reads as statusLabel() below, which names their reason.
export const STATE_LABELS = {
  offline: "Offline",
  not_ready: "Not ready",
  active: "Active",
  active_own_clients: "Active (doesn't receive threads)",
  finishing: "Active (finishing)",
  inactive: "Inactive",
  kicked_out: "Inactive (kicked out)",
};
export const ACTIVE_FREE_LABEL = "Active (free)";

// A reason's label from the catalogue; its code if the catalogue does not know it.
export function reasonLabel(reasons, code) {
  const found = reasons.find((r) => r.code === code);
  return found ? found.label : code;
}

// An agent's name, from the page's agents by id; one it does not know by their id.
export function agentName(agents, id) {
  return agents.get(id)?.name || `agent #${id}`;
}

// An agent's status as people see it (W1), composed as the server composes `status.label`,
// for a page that learns of a change before the server's label for it: an inactive agent
// shows their reason, and a finishing one the reason they head to ("Active (finishing →
// Lunch break)").
export function statusLabel(state, reasonText = null, threads = 0) {
  if (state === "inactive") return reasonText || STATE_LABELS.inactive;
  if (state === "active" && threads === 0) return ACTIVE_FREE_LABEL;
  if (state === "finishing" && reasonText) return `Active (finishing → ${reasonText})`;
  return STATE_LABELS[state] || state;
}

// A widget row after an `agent.status_changed` that carries the row's status (the
// server sends the whole row, `agent.updated`, for anything more than a change of status).
export function rowAfterStatusChange(row, data) {
  const { status, presence, disconnect_deadline, overdue, overdue_at } = data;
  return { ...row, status, presence, disconnect_deadline, overdue, overdue_at };
}

// W4: online while working, away while logged in but not working, offline when logged out.
export const PRESENCE_OF = {
  active: "online",
  active_own_clients: "online",
  finishing: "online",
  not_ready: "away",
  inactive: "away",
  kicked_out: "away",
  offline: "offline",
};

// A colleague's presence and status after an `agent.status_changed` (or a change inside a
// `presence.changed`): the event's own when it carries the row's status; otherwise, when
// it was not the command's last change for them, as told by its states (the threads held
// are not in the event: an active colleague reads "Active" until the next row).
export function presenceAfterStatusChange(person, data, reasons) {
  if (data.status) return { presence: data.presence, status: data.status };
  return {
    presence: PRESENCE_OF[data.to_state] || "offline",
    status: {
      ...person.status,
      state: data.to_state,
      reason: data.to_reason,
      label: statusLabel(data.to_state, reasonLabel(reasons, data.to_reason), 1),
    },
  };
}
