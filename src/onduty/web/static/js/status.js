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

export const STATE_LABELS = {
  offline: "Offline",
  not_ready: "Not ready",
  active: "Active",
  active_own_clients: "Active (doesn't receive threads)",
  finishing: "Active (finishing)",
  inactive: "Inactive",
  kicked_out: "Inactive (kicked out)",
};
