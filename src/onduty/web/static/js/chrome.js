// The top bar every signed-in page shares: who is signed in, pages, sign out.
import { api } from "./api.js";
import { h, $, toast } from "./dom.js";
import { session } from "./session.js";

const LINKS = {
  agent: [["/agent", "My workspace"]],
  supervisor: [
    ["/supervisor", "Team status"],
    ["/reports", "Reports"],
  ],
  admin: [
    ["/supervisor", "Team status"],
    ["/reports", "Reports"],
    ["/admin", "Administration"],
  ],
};

export function chrome(user) {
  const nav = $("#nav");
  for (const [href, label] of LINKS[user.role] || []) {
    const link = h("a", { href }, label);
    if (href === location.pathname) link.setAttribute("aria-current", "page");
    nav.append(link);
  }
  $("#whoami").textContent = `${user.name} (${user.role})`;
  const out = $("#sign-out");
  out.hidden = false;
  out.addEventListener("click", () => signOut(user));
}

// S9: an agent's sign-out is also their logout (S5): one act, whatever page they are on.
// If the logout cannot be made, they stay signed in and are told, so nobody leaves the
// floor believing they are offline while the router still counts on them.
async function signOut(user) {
  if (user.role === "agent") {
    try {
      await api("POST", "/me/logout");
    } catch (failure) {
      if (failure.status !== 401) {
        toast(`Could not sign out: ${failure.message}`);
        return;
      }
    }
  }
  try {
    await api("POST", "/auth/logout");
  } catch {
    // The token may be gone already; the session ends here either way.
  } finally {
    session.clear();
    location.assign("/login");
  }
}
