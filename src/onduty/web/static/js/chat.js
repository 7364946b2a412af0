// C1: the chat panel (templates/_chat.html), on the agent's workspace and the supervisor's
// page. A list of the person's conversations (their team's room, and every direct one),
// each with its unread count; a conversation with its people, their presence and status
// (W4, live), its messages oldest to newest (older ones on request), and a box to write.
// A message may point to a thread (a consultation): the server says, for this reader,
// whether they may open it.
//
//   const chat = chatPanel({ user, reasons, onShowing, onThread })
//     reasons(): the reason catalogue, for a status told only by its states
//     onShowing(open): the panel opened or closed (the page widens or narrows its stream's
//       subscription: other teams' presence comes only while the panel shows it)
//     onThread(thread, opener): a visible pointer was chosen (the page shows the thread)
//   chat.event(event)            every event of the page's stream
//   chat.reload()                the list again (after every (re)connect of the stream)
//   chat.openWith(person, {thread})  the direct conversation with this person ({user_id,
//     name} or a presence entry), about this thread when given ("ask first")
//   chat.showing()               whether the panel is open
//
// Text is put into the page as text, never as HTML (dom.js `h` makes text nodes).
import { api } from "./api.js";
import { $, h, initials, put, refocus, toast } from "./dom.js";
import { count, shorten, timeOfDay } from "./format.js";
import { announce } from "./notify.js";
import { PRESENCE_LABEL, presenceAfterStatusChange } from "./status.js";
import { coalesced, debounce } from "./timing.js";

const MAX_TEXT = 4000;
const PAGE = 50;
const ROLE_LABEL = { supervisor: "Supervisor", admin: "Admin", agent: "Agent" };

// The id of the direct conversation of two people, and of a team's room, as the server
// names them (domain/chat.py).
export function directId(a, b) {
  return `d${Math.min(a, b)}-${Math.max(a, b)}`;
}

export function roomId(team) {
  const bytes = new TextEncoder().encode(team);
  return `t-${btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

// An agent's row (the API's agent object) as the chat names people.
export function chatPerson(agent) {
  const { id, name, team, presence, status } = agent;
  return { user_id: id, name, role: "agent", team, presence, status };
}

export function chatPanel({ user, reasons = () => [], onShowing = () => {}, onThread = null }) {
  const panel = $("#chat");
  const list = $("#chat-list");
  const found = $("#chat-people");
  const findBox = $("#chat-find");
  const messages = $("#chat-messages");
  const text = $("#chat-text");
  const error = $("#chat-error");
  const state = {
    conversations: new Map(), // id -> the API's conversation
    people: new Map(), // user id -> {user_id, name, role, team, presence, status}
    open: null, // the conversation shown: {id, title, kind, members, next, items: Map id -> <li>, about}
    opener: null, // what had the focus before the panel opened
    teams: null, // an admin's: every team, to find its room
  };
  const toggle = toggleButton();

  // -- the list of conversations ------------------------------------------------------

  const reload = coalesced(async () => {
    try {
      const listed = await api("GET", "/chat/conversations");
      state.conversations.clear();
      for (const conversation of listed) {
        state.conversations.set(conversation.id, conversation);
        for (const person of conversation.members) state.people.set(person.user_id, person);
      }
      renderList();
      if (state.open && state.conversations.has(state.open.id)) {
        renderHead();
        markRead(); // what came while it loaded is read if it shows
      }
    } catch (failure) {
      toast(`Could not load the chat: ${failure.message}`);
    }
  });
  const renderListSoon = debounce(() => renderList(), 100);

  function unreadTotal() {
    let total = 0;
    for (const conversation of state.conversations.values()) total += conversation.unread;
    return total;
  }

  function renderList() {
    const total = unreadTotal();
    toggle.badge.hidden = total === 0;
    toggle.badge.textContent = String(total);
    toggle.button.setAttribute("aria-label", total ? `Chat, ${count(total)} unread` : "Chat");
    $("#chat-none").hidden = state.conversations.size > 0;
    put(
      list,
      [...state.conversations.values()].map((conversation) => {
        const other = otherOf(conversation);
        const last = conversation.last_message;
        return h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: "chat-item",
              dataset: { conversationId: conversation.id },
              onclick: (event) => openConversation(conversation.id, event.currentTarget),
            },
            h("span", { class: "avatar", "aria-hidden": "true" }, conversation.kind === "team" ? "#" : initials(conversation.title)),
            h(
              "span",
              { class: "chat-item-text" },
              h("span", { class: "chat-item-title" }, conversation.kind === "team" ? `Team ${conversation.title}` : conversation.title),
              other ? presenceTag(other) : null,
              h("span", { class: "muted small chat-preview" }, last ? `${last.sender_id === user.id ? "You" : last.sender_name}: ${preview(last.text)}` : "No message yet"),
            ),
            conversation.unread
              ? h("span", { class: "chat-unread", "aria-label": `${count(conversation.unread)} unread` }, String(conversation.unread))
              : null,
          ),
        );
      }),
    );
  }

  function otherOf(conversation) {
    if (conversation.kind !== "direct") return null;
    const member = conversation.members.find((m) => m.user_id !== user.id);
    return member ? state.people.get(member.user_id) || member : null;
  }

  // -- people: presence, live -----------------------------------------------------------

  function presenceTag(person) {
    const attrs = { dataset: { presenceOf: String(person.user_id) } };
    if (!person.presence) return h("span", { ...attrs, class: "presence none" }, ROLE_LABEL[person.role] || person.role);
    const label = person.status ? `${PRESENCE_LABEL[person.presence]} · ${person.status.label}` : PRESENCE_LABEL[person.presence];
    return h("span", { ...attrs, class: `presence ${person.presence}` }, label);
  }

  // Every place the panel shows this person's presence, redrawn in place.
  function personChanged(userId) {
    const person = state.people.get(userId);
    if (!person) return;
    for (const el of panel.querySelectorAll(`[data-presence-of="${userId}"]`)) el.replaceWith(presenceTag(person));
  }

  function statusChanged(data) {
    const person = state.people.get(data.agent_id);
    if (!person || !person.status) return;
    Object.assign(person, presenceAfterStatusChange(person, data, reasons()));
    personChanged(data.agent_id);
  }

  // -- one conversation -------------------------------------------------------------

  async function openConversation(id, opener = null, { title = null, kind = "direct", members = null, about = null } = {}) {
    const known = state.conversations.get(id);
    state.open = {
      id,
      title: known ? known.title : title,
      kind: known ? known.kind : kind,
      members: known ? known.members : members || [],
      next: null,
      items: new Map(),
      about,
      opener,
    };
    show(true);
    $("#chat-home").hidden = true;
    $("#chat-conversation").hidden = false;
    messages.replaceChildren();
    error.hidden = true;
    renderHead();
    renderAbout();
    text.focus();
    await loadPage(null);
    markRead();
  }

  function renderHead() {
    const open = state.open;
    const known = state.conversations.get(open.id);
    if (known) open.members = known.members;
    $("#chat-with").textContent = open.kind === "team" ? `Team ${known ? known.title : open.title}` : open.title;
    const others = open.members.filter((m) => m.user_id !== user.id || open.kind === "team");
    put(
      $("#chat-members"),
      others.map((member) => {
        const person = state.people.get(member.user_id) || member;
        return h(
          "li",
          { class: "chat-member", dataset: { userId: String(member.user_id) } },
          h("span", { class: "name" }, member.user_id === user.id ? `${person.name} (you)` : person.name),
          presenceTag(person),
        );
      }),
    );
  }

  async function loadPage(before) {
    const open = state.open;
    const query = before ? `?limit=${PAGE}&before=${before}` : `?limit=${PAGE}`;
    try {
      const page = await api("GET", `/chat/conversations/${open.id}/messages${query}`);
      if (state.open !== open) return;
      open.next = page.next;
      $("#chat-older").hidden = page.next === null;
      const scroll = $("#chat-scroll");
      const fromBottom = scroll.scrollHeight - scroll.scrollTop;
      for (const message of page.items) addMessage(message);
      if (before) scroll.scrollTop = scroll.scrollHeight - fromBottom; // older above, the view stays
      else scroll.scrollTop = scroll.scrollHeight;
    } catch (failure) {
      toast(`Could not load the messages: ${failure.message}`);
    }
  }

  function addMessage(message) {
    const open = state.open;
    if (!open || message.conversation_id !== open.id || open.items.has(message.id)) return;
    const mine = message.sender_id === user.id;
    const li = h(
      "li",
      { class: `chat-message${mine ? " mine" : ""}`, dataset: { messageId: String(message.id) } },
      h(
        "div",
        { class: "meta" },
        h("span", { class: "author" }, mine ? "You" : message.sender_name),
        h("time", { datetime: message.at }, timeOfDay(message.at)),
      ),
      h("p", { class: "text" }, message.text),
      pointer(message.thread),
    );
    open.items.set(message.id, li);
    // In id order, whichever way it came (a page of history, or live).
    const later = [...messages.children].find((el) => Number(el.dataset.messageId) > message.id);
    messages.insertBefore(li, later || null);
  }

  function pointer(thread) {
    if (!thread) return null;
    if (!thread.visible) return h("p", { class: "chat-pointer muted small" }, "About a thread you cannot open");
    const label = `About thread #${thread.id} with ${thread.client_id}`;
    if (!onThread) return h("p", { class: "chat-pointer small" }, label);
    return h(
      "p",
      { class: "chat-pointer small" },
      h("button", { type: "button", class: "link", onclick: (event) => onThread(thread, event.currentTarget) }, label),
    );
  }

  function renderAbout() {
    const about = state.open && state.open.about;
    const box = $("#chat-about");
    box.hidden = !about;
    if (!about) return box.replaceChildren();
    put(
      box,
      h("span", {}, `About thread #${about.id} with ${about.client_id}`),
      h(
        "button",
        {
          type: "button",
          class: "quiet",
          "aria-label": "Do not point to this thread",
          onclick: () => {
            state.open.about = null;
            renderAbout();
            text.focus();
          },
        },
        "×",
      ),
    );
  }

  // Read up to the newest message shown, while the person can see it.
  async function markRead() {
    const open = state.open;
    const conversation = open && state.conversations.get(open.id);
    if (!conversation || panel.hidden || document.visibilityState !== "visible") return;
    const newest = Math.max(0, ...open.items.keys());
    if (newest <= conversation.up_to || conversation.unread === 0) return;
    try {
      const read = await api("POST", `/chat/conversations/${open.id}/read`, { up_to: newest });
      Object.assign(conversation, { up_to: read.up_to, unread: read.unread });
      renderList();
    } catch (failure) {
      toast(`Could not mark the conversation read: ${failure.message}`);
    }
  }

  async function send(event) {
    event.preventDefault();
    const open = state.open;
    if (!open) return;
    const body = text.value;
    error.hidden = true;
    if (!body.trim()) return fail("Write a message first.");
    if (body.length > MAX_TEXT) return fail(`A message is at most ${count(MAX_TEXT)} characters; this one has ${count(body.length)}.`);
    const request = { conversation_id: open.id, text: body };
    if (open.about) request.thread_id = open.about.id;
    const button = $("#chat-form button[type=submit]");
    button.disabled = true;
    try {
      const sent = await api("POST", "/chat/messages", request);
      text.value = "";
      open.about = null;
      renderAbout();
      addMessage(sent);
      $("#chat-scroll").scrollTop = $("#chat-scroll").scrollHeight;
      const conversation = state.conversations.get(open.id);
      if (conversation) {
        Object.assign(conversation, { last_message: sent, up_to: sent.id, unread: 0 });
        moveFirst(conversation);
        renderList();
      } else reload(); // the first message opened it
    } catch (failure) {
      fail(failure.message);
    } finally {
      button.disabled = false;
    }
    return null;
  }

  function fail(message) {
    error.textContent = message;
    error.hidden = false;
    text.focus();
    return null;
  }

  function moveFirst(conversation) {
    state.conversations.delete(conversation.id);
    state.conversations = new Map([[conversation.id, conversation], ...state.conversations]);
  }

  // -- finding someone to write to ------------------------------------------------------

  const search = debounce(async () => {
    const wanted = findBox.value.trim();
    if (!wanted) {
      found.hidden = true;
      return found.replaceChildren();
    }
    try {
      const [people, rooms] = await Promise.all([
        api("GET", `/chat/people?search=${encodeURIComponent(wanted)}&limit=8`),
        roomsMatching(wanted),
      ]);
      if (findBox.value.trim() !== wanted) return null;
      for (const person of people) state.people.set(person.user_id, person);
      found.hidden = false;
      put(
        found,
        rooms.map((team) =>
          h(
            "li",
            {},
            h(
              "button",
              { type: "button", class: "chat-person", onclick: (event) => openRoom(team, event.currentTarget) },
              h("span", { class: "name" }, `Team ${team}`),
              h("span", { class: "muted small" }, " room"),
            ),
          ),
        ),
        people.length || rooms.length
          ? people.map((person) =>
              h(
                "li",
                {},
                h(
                  "button",
                  { type: "button", class: "chat-person", onclick: (event) => openWith(person, { opener: event.currentTarget }) },
                  h("span", { class: "name" }, person.name),
                  h("span", { class: "muted small" }, person.team ? ` ${person.team}` : ""),
                  presenceTag(person),
                ),
              ),
            )
          : h("li", { class: "muted small" }, "Nobody matches."),
      );
    } catch (failure) {
      toast(failure.message);
    }
    return null;
  }, 200);

  // Admins may join any team's room (C1): they find rooms by the team's name too.
  async function roomsMatching(wanted) {
    if (user.role !== "admin") return [];
    if (!state.teams) state.teams = await api("GET", "/teams");
    const needle = wanted.toLowerCase();
    return state.teams.filter((team) => team.toLowerCase().includes(needle)).slice(0, 5);
  }

  function openRoom(team, opener) {
    findBox.value = "";
    found.hidden = true;
    return openConversation(roomId(team), opener, { title: team, kind: "team" });
  }

  function openWith(person, { thread = null, opener = null } = {}) {
    const userId = person.user_id ?? person.agent_id;
    const known = state.people.get(userId);
    const entry = known || {
      user_id: userId,
      name: person.name,
      role: person.role || "agent",
      team: person.team || null,
      presence: person.presence || null,
      status: person.status || null,
    };
    state.people.set(userId, entry);
    const me = state.people.get(user.id) || { user_id: user.id, name: user.name, role: user.role, presence: null, status: null };
    findBox.value = "";
    found.hidden = true;
    return openConversation(directId(user.id, userId), opener, { title: entry.name, members: [me, entry], about: thread });
  }

  // -- showing and hiding ---------------------------------------------------------------

  function show(open) {
    if (panel.hidden === !open) return;
    if (open) state.opener = document.activeElement;
    panel.hidden = !open;
    toggle.button.setAttribute("aria-expanded", String(open));
    document.body.classList.toggle("with-chat", open);
    onShowing(open);
    if (open) reload();
    else refocus(state.opener);
  }

  function home() {
    state.open = null;
    $("#chat-conversation").hidden = true;
    $("#chat-home").hidden = false;
    findBox.focus();
  }

  toggle.button.addEventListener("click", () => {
    show(panel.hidden);
    if (!panel.hidden && !state.open) findBox.focus();
  });
  $("#chat-close").addEventListener("click", () => show(false));
  $("#chat-back").addEventListener("click", home);
  $("#chat-older").addEventListener("click", () => state.open && state.open.next && loadPage(state.open.next));
  $("#chat-form").addEventListener("submit", send);
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) send(event);
  });
  findBox.addEventListener("input", search);
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") show(false);
  });
  document.addEventListener("visibilitychange", markRead);

  // -- events -----------------------------------------------------------------------------

  async function messageEvent(data) {
    const conversation = state.conversations.get(data.conversation_id);
    const open = state.open && state.open.id === data.conversation_id ? state.open : null;
    let message = { ...data, thread: null };
    if (open && data.about_thread) {
      // The pointer as this reader may see it: the event itself never tells the thread.
      try {
        const page = await api("GET", `/chat/conversations/${data.conversation_id}/messages?limit=1&before=${data.id + 1}`);
        message = page.items[0] || message;
      } catch {
        message = { ...data, thread: { visible: false } };
      }
    }
    if (open) addMessage(message);
    if (open) $("#chat-scroll").scrollTop = $("#chat-scroll").scrollHeight;
    if (!conversation) return reload(); // a conversation new to this page (read there if it shows)
    conversation.last_message = message;
    moveFirst(conversation);
    if (data.sender_id !== user.id && data.id > conversation.up_to) {
      const seen = open && !panel.hidden && document.visibilityState === "visible";
      conversation.unread += 1;
      if (seen) markRead();
      else
        announce({
          title: conversation.kind === "team" ? `${data.sender_name} in team ${conversation.title}` : `${data.sender_name} wrote`,
          body: preview(data.text),
          tag: `chat-${data.conversation_id}`,
        });
    }
    renderListSoon();
    return null;
  }

  return {
    reload,
    openWith,
    showing: () => !panel.hidden,
    event(event) {
      const { name, data } = event;
      if (name === "chat.message") messageEvent(data);
      else if (name === "chat.read" && data.user_id === user.id) reload(); // read on another page
      else if (name === "agent.status_changed") statusChanged(data);
      else if (name === "presence.changed") for (const change of data.changes) statusChanged(change);
      else if (name === "agent.updated" && data.agent) {
        const person = state.people.get(data.agent.id);
        if (person) {
          Object.assign(person, { presence: data.agent.presence, status: data.agent.status });
          personChanged(data.agent.id);
        }
      }
    },
  };
}

function preview(text) {
  return shorten(text.replace(/\s+/g, " ").trim(), 80);
}

// The top bar's Chat button, with the count of unread messages.
function toggleButton() {
  const badge = h("span", { class: "chat-unread", "aria-hidden": "true", hidden: true }, "0");
  const button = h(
    "button",
    { type: "button", id: "chat-toggle", class: "quiet chat-toggle", "aria-expanded": "false", "aria-controls": "chat" },
    "Chat",
    badge,
  );
  $("#whoami").before(button);
  return { button, badge };
}
