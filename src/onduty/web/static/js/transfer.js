// R3 with W4: the transfer picker, one dialog (templates/_transfer.html) shared by the
// agent's workspace (Transfer…) and the supervisor's page (Transfer… on the agent card,
// Assign to… on the queue). It lists the people a thread can go to, each with their
// presence (W4), their status and their load ("2 of 3 threads": a transfer ignores
// capacity, R3, but whoever chooses should see who is full), filtered by a search box.
//
//   const picker = transferPicker({ team, onDone, onAsk })
//     team: only this team's agents are offered (a supervisor's, W6); null offers everyone,
//     the caller's own team first (an agent's, R3).
//     onDone(thread, to): after a transfer the server accepted; `to` is the presence entry.
//     onAsk(person, thread): "Ask first" beside each colleague (C1: the chat, about the thread).
//   picker.open(thread, { title, opener })  the thread ({id, client_id, agent_id});
//     the focus goes back to `opener` when the dialog closes (refocus).
//   picker.people                           agent id -> presence entry, from GET /presence
//   picker.reload()                         names, teams and loads again (coalesced)
//   picker.statusChanged(data)              `agent.status_changed`: a dot changes in place
//   picker.rowChanged(agent)                an agent object (`agent.updated`): status and load
//   picker.thread() / picker.close()        the thread being transferred (or null); close
import { api } from "./api.js";
import { $, h, initials, refocus, toast } from "./dom.js";
import { plural } from "./format.js";
import { PRESENCE_LABEL, presenceAfterStatusChange } from "./status.js";
import { coalesced } from "./timing.js";

const PRESENCE_ORDER = { online: 0, away: 1, offline: 2 };

export function transferPicker({ team = null, ownTeam = null, onDone = () => {}, onAsk = null, reasons = () => [] }) {
  const dialog = $("#transfer-dialog");
  const filterBox = $("#colleague-filter");
  const list = $("#colleague-list");
  const error = $("#transfer-error");
  const people = new Map();
  let current = null; // {thread, opener}

  const reload = coalesced(async () => {
    try {
      const entries = await api("GET", "/presence");
      people.clear();
      for (const entry of entries) people.set(entry.agent_id, entry);
      if (current) render();
    } catch (failure) {
      toast(failure.message);
    }
  });

  function offered() {
    const filter = filterBox.value.trim().toLowerCase();
    const first = team || ownTeam;
    return [...people.values()]
      .filter((p) => p.agent_id !== current.thread.agent_id) // the holder: nothing to hand over
      .filter((p) => team === null || p.team === team)
      .filter((p) => !filter || `${p.name} ${p.username} ${p.team}`.toLowerCase().includes(filter))
      .sort(
        (a, b) =>
          (a.team === first ? 0 : 1) - (b.team === first ? 0 : 1) ||
          PRESENCE_ORDER[a.presence] - PRESENCE_ORDER[b.presence] ||
          a.name.localeCompare(b.name),
      );
  }

  function render() {
    const chosen = (list.querySelector("input:checked") || {}).value;
    const colleagues = offered();
    if (!colleagues.length) {
      list.replaceChildren(h("p", { class: "muted" }, filterBox.value.trim() ? "Nobody matches." : "Nobody to choose yet."));
      return;
    }
    list.replaceChildren(
      ...colleagues.map((p) => {
        const id = `colleague-${p.agent_id}`;
        return h(
          "div",
          { class: "colleague", dataset: { agentId: String(p.agent_id), presence: p.presence } },
          h("input", { type: "radio", name: "colleague", id, value: String(p.agent_id), checked: chosen === String(p.agent_id) }),
          h(
            "label",
            { for: id },
            h("span", { class: "avatar", "aria-hidden": "true" }, initials(p.name)),
            h("span", { class: "who" }, h("span", { class: "name" }, p.name), h("span", { class: "muted small" }, ` ${p.team}`)),
            h("span", { class: `presence ${p.presence}` }, PRESENCE_LABEL[p.presence]),
            loadOf(p),
            h("span", { class: "muted small colleague-status" }, p.status.label),
          ),
          onAsk && askFirst(p),
        );
      }),
    );
  }

  // C1: "ask first": the chat with this colleague, about the thread, before handing it over.
  function askFirst(person) {
    return h(
      "button",
      {
        type: "button",
        class: "quiet ask-first",
        "aria-label": `Ask first: ${person.name}`,
        onclick: () => {
          const { thread } = current;
          dialog.close();
          onAsk(person, thread);
        },
      },
      "Ask first",
    );
  }

  async function submit(event) {
    event.preventDefault();
    if (!current) return;
    const { thread } = current;
    const chosen = list.querySelector("input:checked");
    error.hidden = true;
    if (!chosen) {
      error.textContent = "Choose who gets the thread.";
      error.hidden = false;
      return;
    }
    const to = people.get(Number(chosen.value)) || null;
    const button = $("#transfer-submit");
    button.disabled = true;
    try {
      await api("POST", `/threads/${thread.id}/transfer`, { agent_id: Number(chosen.value) });
      dialog.close();
      onDone(thread, to);
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  for (const button of dialog.querySelectorAll("[data-close]")) button.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    const { opener } = current || {};
    current = null;
    refocus(opener);
  });
  filterBox.addEventListener("input", () => current && render());
  $("#transfer-form").addEventListener("submit", submit);

  return {
    people,
    reload,
    open(thread, { title = "Transfer thread", opener = null } = {}) {
      current = { thread, opener };
      $("#transfer-title").textContent = title;
      $("#transfer-what").textContent = `Thread #${thread.id} with ${thread.client_id}. Pins go with it.`;
      $("#transfer-scope").textContent =
        team === null ? "(anyone, whatever their status)" : `(anyone in team ${team}, whatever their status)`;
      error.hidden = true;
      filterBox.value = "";
      render();
      if (!dialog.open) dialog.showModal();
      filterBox.focus();
      reload();
    },
    // A change of status alone: no request per change, however many colleagues there are.
    statusChanged(data) {
      const person = people.get(data.agent_id);
      if (!person) return current ? reload() : null; // a newcomer; a closed picker reads all on opening
      Object.assign(person, presenceAfterStatusChange(person, data, reasons()));
      if (current) render();
      return null;
    },
    rowChanged(agent) {
      const person = people.get(agent.id);
      if (!person) return;
      Object.assign(person, {
        status: agent.status,
        presence: agent.presence,
        threads: agent.threads,
        capacity: agent.capacity,
      });
      if (current) render();
    },
    thread: () => (current ? current.thread : null),
    close: () => dialog.open && dialog.close(),
  };
}

// How busy they are, as of the last load (a transfer ignores capacity, R3).
function loadOf(person) {
  if (person.threads === undefined) return null;
  const full = person.threads >= person.capacity;
  return h(
    "span",
    { class: `small colleague-load${full ? " full" : ""}` },
    `${person.threads} of ${plural(person.capacity, "thread")}`,
  );
}
