// One live event stream per page (GET /api/v1/events over a WebSocket).
//
// Reconnects by itself with a growing pause, and resumes from the last event
// id it saw, so a network drop or a server restart loses no change; an event
// that comes twice is dropped by its id. While it is away the page says
// "Reconnecting…".
//
// A page says what it shows with `subscribe({teams, queue, presence})` (docs/rules.md,
// "API extensions"); the stream then carries only that. The subscription is remembered:
// every reconnect opens with it, so what a resume replays is selected the same way.
// Frames without an id (`presence.changed`: other agents' presence, coalesced) are
// handed on as they come and never move the resume point.
import { api, ApiError } from "./api.js";
import { session } from "./session.js";
import { $ } from "./dom.js";

const INPUT_EVERY_MS = 60_000;
const CLOSE_BAD_REQUEST = 4400; // the stream's answer to a request it cannot take (web/_events_ws.py)

export class EventStream {
  constructor(onEvent, { onReady = () => {}, onState = () => {} } = {}) {
    this.onEvent = onEvent;
    this.onReady = onReady;
    this.onState = onState;
    this.lastId = null;
    this.pause = 500;
    this.closed = false;
    this.socket = null;
    this.subscription = null; // null: everything the role may see
    this.generation = 0; // counts subscribe() calls
    this.waiting = []; // [generation, resolve] of subscribe() calls not yet in force
  }

  // Resolves once the server applies it (or a reconnect opened with it): from then on no
  // change it selects is missed, so the page may load what it shows from the API. Also
  // resolves when the server refuses it (`stream.error`, logged): the last one stays.
  subscribe(subscription) {
    this.subscription = subscription;
    const generation = ++this.generation;
    const settled = new Promise((resolve) => this.waiting.push([generation, resolve]));
    const socket = this.socket;
    if (socket && socket.readyState === WebSocket.OPEN) this.send(socket);
    return settled;
  }

  send(socket) {
    socket.send(JSON.stringify({ subscribe: this.subscription }));
    socket.sent.push(this.generation); // answered in order: stream.subscribed (or stream.error)
  }

  inForce(generation) {
    for (const [g, resolve] of this.waiting) if (g <= generation) resolve();
    this.waiting = this.waiting.filter(([g]) => g > generation);
  }

  start() {
    this.closed = false;
    this.connect();
    return this;
  }

  stop() {
    this.closed = true;
    if (this.socket) this.socket.close();
  }

  // Each (re)connect spends a fresh single-use ticket, so no token ever sits in a URL
  // (URLs end up in logs). A 401 for the ticket means the session is over: sign in
  // again. Any other failure, and a refused ticket (4401: the session was good a moment
  // ago, so the next ticket will say whether it still is), tries again after a pause.
  async connect() {
    let ticket;
    try {
      ({ ticket } = await api("POST", "/events/ticket"));
    } catch (error) {
      if (this.closed) return;
      if (error instanceof ApiError && error.status === 401) {
        session.clear();
        location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
        return;
      }
      this.retry();
      return;
    }
    if (this.closed) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const after = this.lastId === null ? "" : `&after=${this.lastId}`;
    const opened = this.generation; // the subscription this socket opens with
    const subscribe = this.subscription ? `&subscribe=${encodeURIComponent(JSON.stringify(this.subscription))}` : "";
    const url = `${scheme}://${location.host}/api/v1/events?ticket=${encodeURIComponent(ticket)}${after}${subscribe}`;
    const socket = new WebSocket(url);
    socket.sent = [];
    this.socket = socket;
    socket.addEventListener("open", () => {
      if (this.generation !== opened) this.send(socket); // subscribe() while this one connected
    });
    socket.addEventListener("message", (message) => {
      const event = JSON.parse(message.data);
      if (event.name === "stream.ready") {
        const first = this.lastId === null;
        this.lastId = Math.max(this.lastId ?? 0, event.data.last_id);
        this.pause = 500;
        this.setState("live");
        this.inForce(opened);
        this.onReady({ first, at: event.at }); // `at`: the server's clock, for client-side timers
        return;
      }
      if (event.name === "stream.subscribed" || event.name === "stream.error") {
        const generation = socket.sent.shift();
        if (event.name === "stream.error") console.error(`event stream: ${event.data.field}: ${event.data.message}`);
        else this.lastId = Math.max(this.lastId ?? 0, event.data.last_id);
        this.inForce(generation); // settled either way: a refused one leaves the last in force
        return;
      }
      if (event.id === null) return this.onEvent(event); // presence.changed: not an event of the journal
      if (this.lastId !== null && event.id <= this.lastId) return; // seen already
      this.lastId = event.id;
      this.onEvent(event);
    });
    socket.addEventListener("close", (closed) => {
      if (this.closed) return;
      if (closed.code === CLOSE_BAD_REQUEST) {
        // What the page asked for is refused (a subscription naming too long a team, say):
        // asking again would be refused again, so say why and stop.
        this.closed = true;
        this.setState("refused", `Live updates are off: ${closed.reason || "the server refused this page's request"}`);
        return;
      }
      this.retry();
    });
  }

  retry() {
    this.setState("reconnecting");
    setTimeout(() => this.connect(), this.pause);
    this.pause = Math.min(this.pause * 2, 5000);
  }

  // S8 idle_timeout: tell the server that the person is still there, on their own input
  // (keys, pointer, wheel, touch), at most once a minute, never once per keystroke.
  reportInput() {
    const noted = () => {
      const now = Date.now();
      if (now - this.inputSentAt < INPUT_EVERY_MS) return;
      if (this.socket && this.socket.readyState === WebSocket.OPEN) {
        this.socket.send(JSON.stringify({ type: "input" }));
        this.inputSentAt = now;
      }
    };
    this.inputSentAt = Date.now(); // connecting counts as input already
    for (const kind of ["keydown", "pointerdown", "pointermove", "wheel", "touchstart"]) {
      addEventListener(kind, noted, { passive: true, capture: true });
    }
    return this;
  }

  setState(state, text = "Reconnecting…") {
    const badge = $("#connection");
    if (badge) {
      badge.hidden = state === "live";
      badge.textContent = state === "live" ? "" : text;
      badge.dataset.state = state;
    }
    document.body.dataset.connection = state;
    this.onState(state);
  }
}
