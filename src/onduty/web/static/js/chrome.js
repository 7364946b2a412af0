// The top bar every signed-in page shares: who is signed in, pages, sign out, and the
// small menus a page adds to it (topbarMenu).
import { api } from "./api.js";
import { h, $, toast } from "./dom.js";
import { session } from "./session.js";

const LINKS = {
  agent: [["/agent", "My workspace"]],
  supervisor: [
    ["/supervisor", "Team status"],
    ["/wallboard", "Wallboard"],
    ["/reports", "Reports"],
  ],
  admin: [
    ["/supervisor", "Team status"],
    ["/wallboard", "Wallboard"],
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

// A button in the top bar that shows and hides a small panel (a disclosure: the panel's
// controls stay in the tab order right after the button). Escape, or a click or focus
// anywhere else, hides it. Answers the panel, for the page to fill.
export function topbarMenu({ id, label }) {
  const panel = h("div", { id: `${id}-panel`, class: "menu-panel", role: "group", "aria-label": label, hidden: true });
  const button = h(
    "button",
    { type: "button", id, class: "quiet menu-button", "aria-expanded": "false", "aria-controls": panel.id },
    label,
  );
  const menu = h("div", { class: "menu" }, button, panel);
  $("#whoami").before(menu);
  const show = (open) => {
    panel.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
  };
  button.addEventListener("click", () => show(panel.hidden));
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !panel.hidden) {
      show(false);
      button.focus();
    }
  });
  menu.addEventListener("focusout", (event) => {
    if (event.relatedTarget && !menu.contains(event.relatedTarget)) show(false);
  });
  document.addEventListener("pointerdown", (event) => {
    if (!menu.contains(event.target)) show(false);
  });
  return panel;
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
