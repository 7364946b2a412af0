// Calls to /api/v1 with the signed-in user's token. Errors carry the API's
// {code, message, field}, and `errors` (every invalid field, when the API lists them),
// so forms can point at the fields that were wrong.
import { session } from "./session.js";

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `request failed (${status})`);
    this.status = status;
    this.code = error.code || "error";
    this.field = error.field || null;
    this.errors = body && Array.isArray(body.errors) ? body.errors : null;
  }
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (response.status === 401 && session.token()) {
    session.clear();
    location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// An agent's open threads (waiting for an answer, and in progress), oldest first:
// closed ones stay out of the way, and out of the request.
export async function openThreads(agentId) {
  const [assigned, working] = await Promise.all([
    api("GET", `/threads?agent_id=${agentId}&state=assigned&limit=500`),
    api("GET", `/threads?agent_id=${agentId}&state=in_progress&limit=500`),
  ]);
  return [...assigned.items, ...working.items].sort((a, b) => a.id - b.id);
}
