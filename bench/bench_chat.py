"""Internal chat (C1) through the HTTP API: how long a person waits for what the chat panel
asks (docs/performance.md, "Chat").

Starts a real `onduty serve` on a fresh database (SQLite by default), makes a team of
`--team` agents and a supervisor through the API, fills the team's room with `--room`
messages and gives one agent `--directs` direct conversations of `--per-direct` messages
each (their colleagues writing to them, so everything starts unread). Then, from this
process over loopback, one request at a time (a person's page, not a load test), it times:

- sending a message (`POST /chat/messages`: a durable command, committed before the answer);
- the busy agent's conversation list (`GET /chat/conversations`: every conversation with
  its people and their presence, its unread count and last message), which the panel reads
  when it opens and after every reconnect;
- a page of history (`GET …/messages?limit=50`), newest and then from deep in the room;
- a read mark (`POST …/read`).

Run: .venv/bin/python bench/bench_chat.py [--database postgresql://…] [--room 5000] [--directs 40]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench_api import add_admin, free_port, start_server
from bench_fanout import percentile


def timed(samples: int, call: Callable[[int], httpx.Response]) -> list[float]:
    """Milliseconds for each of `samples` calls, each checked to have succeeded."""
    took = []
    for i in range(samples):
        started = time.perf_counter()
        answer = call(i)
        took.append((time.perf_counter() - started) * 1000)
        assert answer.status_code < 300, answer.text
    return took


def line(what: str, took: list[float]) -> None:
    print(
        f"{what:<46} p50 {statistics.median(took):7.2f} ms  p99 {percentile(took, 0.99):7.2f} ms  ({len(took)} calls)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a new SQLite file)")
    parser.add_argument("--team", type=int, default=15)
    parser.add_argument("--room", type=int, default=5000, help="messages in the team's room")
    parser.add_argument("--directs", type=int, default=40, help="the busy agent's direct conversations")
    parser.add_argument("--per-direct", type=int, default=10)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        database = args.database or f"sqlite:///{workdir / 'chat.db'}"
        admin_token = add_admin(database, workdir)
        port = free_port()
        server = start_server(database, port, workdir)
        try:
            run(httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30), admin_token, args, database)
        except AssertionError:
            print((workdir / "serve.log").read_text()[-4000:])  # what the server said of it
            raise
        finally:
            server.terminate()
            server.wait(10)


def run(http: httpx.Client, admin_token: str, args: argparse.Namespace, database: str) -> None:
    def as_(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    suffix = str(time.time_ns())[-6:]

    def person(role: str, name: str, team: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"username": f"{name}{suffix}", "role": role, "name": name.title()}
        if team:
            body["team"] = team
        made = http.post("/users", json=body, headers=as_(admin_token))
        assert made.status_code == 201, made.text
        user: dict[str, Any] = made.json()
        return user

    team = f"chat{suffix}"
    agents = [person("agent", f"agent{i}", team) for i in range(args.team)]
    supervisor = person("supervisor", "boss", team)
    busy, others = agents[0], [*agents[1:], supervisor]
    strangers = [person("agent", f"caller{i}", f"other{suffix}") for i in range(max(0, args.directs - len(others)))]
    writers = (others + strangers)[: args.directs]

    started = time.perf_counter()
    listed = http.get("/chat/conversations", headers=as_(others[0]["token"])).json()
    room = next(c["id"] for c in listed if c["kind"] == "team")  # the team's room, as the list names it
    for i in range(args.room):
        writer = others[i % len(others)]
        body: dict[str, Any] = {"conversation_id": room, "text": f"room message {i}"}
        sent = http.post("/chat/messages", json=body, headers=as_(writer["token"]))
        assert sent.status_code == 201, sent.text
    for writer in writers:
        for j in range(args.per_direct):
            body = {"to_user_id": busy["id"], "text": f"direct {j} from {writer['username']}"}
            sent = http.post("/chat/messages", json=body, headers=as_(writer["token"]))
            assert sent.status_code == 201, sent.text
    filled = time.perf_counter() - started
    print(
        f"database: {database.split('://', maxsplit=1)[0]}; a room of {args.team + 1} people with {args.room} messages;"
    )
    print(
        f"the busy agent: {len(writers)} direct conversations of {args.per_direct} messages, all unread"
        f" (filled in {filled:.1f} s)"
    )

    listed = http.get("/chat/conversations", headers=as_(busy["token"])).json()
    assert len(listed) == len(writers) + 1, len(listed)
    assert sum(c["unread"] for c in listed) == args.room + len(writers) * args.per_direct

    busy_headers = as_(busy["token"])
    line(
        "send a message (POST /chat/messages)",
        timed(
            args.samples,
            lambda i: http.post(
                "/chat/messages", json={"conversation_id": room, "text": f"timed {i}"}, headers=busy_headers
            ),
        ),
    )
    line(
        f"conversation list ({len(listed)} conversations)",
        timed(args.samples, lambda i: http.get("/chat/conversations", headers=busy_headers)),
    )
    line(
        "newest 50 messages of the room",
        timed(args.samples, lambda i: http.get(f"/chat/conversations/{room}/messages?limit=50", headers=busy_headers)),
    )
    line(
        "50 messages from the middle of the room",
        timed(
            args.samples,
            lambda i: http.get(
                f"/chat/conversations/{room}/messages?limit=50&before={args.room // 2}", headers=busy_headers
            ),
        ),
    )
    newest = http.get(f"/chat/conversations/{room}/messages?limit=1", headers=busy_headers).json()["items"][0]["id"]
    line(
        "read mark (POST …/read, moving forward)",
        timed(
            min(args.samples, newest - 1),
            lambda i: http.post(
                f"/chat/conversations/{room}/read", json={"up_to": newest - args.samples + i + 1}, headers=busy_headers
            ),
        ),
    )


if __name__ == "__main__":
    main()
