// Sign in with username and password; each role goes on to its own page.
import { api } from "./api.js";
import { $ } from "./dom.js";
import { HOME, session } from "./session.js";

// Where to go after signing in: `?next=` only when it names a page of this site. It is
// judged as the browser itself reads it (a backslash is a slash, tabs and newlines vanish,
// dot segments fold). A path that folds to "//host" ("/..//evil") is no page of ours and
// would read as another host if ever used alone; the sign-in page would go round again.
function next(user) {
  const home = HOME[user.role] || "/login";
  const wanted = new URLSearchParams(location.search).get("next");
  if (!wanted) return home;
  let url;
  try {
    url = new URL(wanted, location.origin);
  } catch {
    return home;
  }
  const ours = url.origin === location.origin && !url.pathname.startsWith("//") && url.pathname !== "/login";
  return ours ? url.href : home;
}

const existing = session.user();
if (existing && HOME[existing.role]) location.replace(next(existing));

$("#sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("#sign-in-error");
  error.hidden = true;
  // Sent as typed: the server alone normalises usernames (case, spaces, Unicode forms).
  const username = $("#username").value;
  const password = $("#password").value;
  if (!username.trim() || !password) {
    error.textContent = "Enter your username and password.";
    error.hidden = false;
    return;
  }
  try {
    const { token, user } = await api("POST", "/auth/token", { username, password });
    if (!HOME[user.role]) {
      error.textContent = "This account is for programs (the API), not for the web pages.";
      error.hidden = false;
      return;
    }
    session.save(token, user);
    location.assign(next(user));
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
    $("#password").select();
  }
});
