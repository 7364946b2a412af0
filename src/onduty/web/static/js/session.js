// Who is signed in: the API token and user, kept in this browser's storage.
const KEY = "onduty.session";

export const HOME = { agent: "/agent", supervisor: "/supervisor", admin: "/admin" };

export const session = {
  get() {
    try {
      return JSON.parse(localStorage.getItem(KEY)) || null;
    } catch {
      return null;
    }
  },
  token() {
    const s = this.get();
    return s ? s.token : null;
  },
  user() {
    const s = this.get();
    return s ? s.user : null;
  },
  save(token, user) {
    localStorage.setItem(KEY, JSON.stringify({ token, user }));
  },
  clear() {
    localStorage.removeItem(KEY);
  },
};

// A page for some roles only: others go to sign in, or to their own page.
export function requireRole(...roles) {
  const user = session.user();
  if (!user) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
    return null;
  }
  if (!roles.includes(user.role)) {
    location.assign(HOME[user.role] || "/login");
    return null;
  }
  return user;
}
