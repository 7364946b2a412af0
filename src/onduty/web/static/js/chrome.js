// The top bar every signed-in page shares: who is signed in, pages, sign out.
import { api } from "./api.js";
import { h, $ } from "./dom.js";
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
  out.addEventListener("click", async () => {
    try {
      await api("POST", "/auth/logout");
    } finally {
      session.clear();
      location.assign("/login");
    }
  });
}
