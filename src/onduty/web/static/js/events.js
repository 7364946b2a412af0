// One live event stream per page (GET /api/v1/events over a WebSocket).
//
// Reconnects by itself with a growing pause, and resumes from the last event
// id it saw, so a network drop or a server restart loses no change; an event
// that comes twice is dropped by its id. While it is away the page says
// "Reconnecting…".
import { session } from "./session.js";
import { $ } from "./dom.js";

export class EventStream {
  constructor(onEvent, { onReady = () => {}, onState = () => {} } = {}) {
    this.onEvent = onEvent;
    this.onReady = onReady;
    this.onState = onState;
    this.lastId = null;
    this.pause = 500;
    this.closed = false;
    this.socket = null;
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

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const after = this.lastId === null ? "" : `&after=${this.lastId}`;
    const url = `${scheme}://${location.host}/api/v1/events?token=${encodeURIComponent(session.token())}${after}`;
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.addEventListener("message", (message) => {
      const event = JSON.parse(message.data);
      if (event.name === "stream.ready") {
        const first = this.lastId === null;
        this.lastId = Math.max(this.lastId ?? 0, event.data.last_id);
        this.pause = 500;
        this.setState("live");
        this.onReady({ first, at: event.at }); // `at`: the server's clock, for client-side timers
        return;
      }
      if (this.lastId !== null && event.id <= this.lastId) return; // seen already
      this.lastId = event.id;
      this.onEvent(event);
    });
    socket.addEventListener("close", (close) => {
      if (this.closed) return;
      if (close.code === 4401) {
        session.clear();
        location.assign("/login");
        return;
      }
      this.setState("reconnecting");
      setTimeout(() => this.connect(), this.pause);
      this.pause = Math.min(this.pause * 2, 5000);
    });
  }

  setState(state) {
    const badge = $("#connection");
    if (badge) {
      badge.hidden = state === "live";
      badge.textContent = state === "live" ? "" : "Reconnecting…";
      badge.dataset.state = state;
    }
    document.body.dataset.connection = state;
    this.onState(state);
  }
}
