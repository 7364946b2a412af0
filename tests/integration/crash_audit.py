"""Audits of what a crashed and restarted server acknowledged against what it kept.

Each audit takes the acknowledged calls (crash_site.Ack) and what the database holds
afterwards (the status log, the journal, threads, approvals, the widget's rows) and
answers a list of problems, each naming the request, its answer and the rows it was
compared with. An empty list is a pass.

Times: the server's instants are this machine's clock, shown to the millisecond (cut,
not rounded), so an instant from the server is compared with a window of the client's
own clock widened by SLACK.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.integration.crash_site import Ack, Person, instant

SLACK = 0.005
Row = dict[str, Any]
Event = dict[str, Any]

_AGENT_STATUS = re.compile(r"^/agents/(\d+)/status$")
_THREAD_ACT = re.compile(r"^/threads/(\d+)/(messages|close|transfer)$")
_DECISION = re.compile(r"^/approvals/(\d+)/(approve|reject)$")


SHOWN = 5  # problems quoted per audit in a failure


def section(name: str, problems: list[str]) -> str:
    """One audit's part of a failure message: how many problems, and the first few."""
    quoted = "".join(f"\n    {p}" for p in problems[:SHOWN])
    more = f"\n    … and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
    return f"\n  {name}: {len(problems)} problem(s){quoted}{more}"


def actor_key(actor: dict[str, Any]) -> tuple[str, int | None, str | None]:
    """Who caused a status: the answer's `set_by` and the log's `actor` read alike."""
    return actor["kind"], actor.get("id"), actor.get("why")


def shown_key(status: dict[str, Any]) -> tuple[Any, ...]:
    return status["state"], status["reason"], status["since"], actor_key(status["set_by"])


def row_key(row: Row) -> tuple[Any, ...]:
    return row["to"]["state"], row["to"]["reason"], row["at"], actor_key(row["actor"])


def brief(row: Row) -> str:
    to, actor = row["to"], row["actor"]
    why = f"/{actor['why']}" if actor.get("why") else ""
    return f"#{row['id']} {row['at']} {row['from']['state']}->{to['state']}:{to['reason']} by {actor['kind']}{why}"


def describe(ack: Ack) -> str:
    return (
        f"round {ack.round}: {ack.who.username} {ack.method} {ack.path} {ack.body} "
        f"sent {ack.sent:.3f} answered {ack.received:.3f} -> {ack.status} {ack.answer}"
    )


class StatusLog:
    """The status log (S7) by agent, in the log's order."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows: dict[int, list[Row]] = defaultdict(list)
        for row in sorted(rows, key=lambda r: r["id"]):
            self.rows[row["agent_id"]].append(row)
        self._keys = {(agent, row_key(r)): r for agent, rs in self.rows.items() for r in rs}

    def find(self, agent_id: int, status: dict[str, Any]) -> Row | None:
        """The row that set exactly this status (state, reason, since, set_by), if any."""
        return self._keys.get((agent_id, shown_key(status)))

    def in_effect(self, agent_id: int, start: float, end: float) -> list[Row]:
        """The rows whose status was the agent's at some moment from `start` to `end`."""
        rows = self.rows.get(agent_id, [])
        found = []
        for index, row in enumerate(rows):
            if instant(row["at"]) > end + SLACK:
                break
            following = rows[index + 1] if index + 1 < len(rows) else None
            if following is None or instant(following["at"]) >= start - SLACK:
                found.append(row)
        return found

    def by(self, agent_id: int, actor: tuple[str, int | None], start: float, end: float) -> list[Row]:
        """The rows this actor caused for the agent from `start` to `end`."""
        return [
            r
            for r in self.rows.get(agent_id, [])
            if (r["actor"]["kind"], r["actor"]["id"]) == actor and start - SLACK <= instant(r["at"]) <= end + SLACK
        ]


def status_subject(ack: Ack) -> tuple[int, dict[str, Any]] | None:
    """The agent and the status an acknowledged status change shows in its answer (S2-S6's
    commands: PUT on a status, login, logout, continue), or None for other calls."""
    if ack.status != 200 or ack.method == "GET":
        return None  # 202: an approval request, no status
    if ack.method == "PUT" and ack.path == "/me/status":
        return ack.who.id, ack.answer
    if ack.method == "PUT" and (m := _AGENT_STATUS.match(ack.path)):
        return int(m.group(1)), ack.answer
    if ack.method == "POST" and ack.path in ("/me/login", "/me/logout", "/me/continue"):
        return ack.who.id, ack.answer["status"]
    return None


def read_subject(ack: Ack) -> tuple[int, dict[str, Any]] | None:
    """The agent and the status a read of the caller (`GET /me`) shows."""
    if ack.method == "GET" and ack.path == "/me" and ack.answer.get("status") is not None:
        return ack.who.id, ack.answer["status"]
    return None


def answers_show_only_what_was_saved(
    acks: list[Ack], log: StatusLog, subject_of: Callable[[Ack], tuple[int, dict[str, Any]] | None] = status_subject
) -> tuple[list[str], int]:
    """Every status a status change's answer shows was committed (a row of the log sets exactly
    it: state, reason, since, set_by), and was the agent's status at some moment while the
    request was under way (not an earlier one, not one that came after). Answers the problems
    and how many answers were checked. `subject_of=read_subject` asks the same of reads."""
    problems, checked = [], 0
    for ack in acks:
        subject = subject_of(ack)
        if subject is None:
            continue
        checked += 1
        agent_id, shown = subject
        row = log.find(agent_id, shown)
        if row is None:
            near = [brief(r) for r in log.in_effect(agent_id, ack.sent, ack.received)]
            problems.append(f"answer shows a status no log row set: {describe(ack)}; log then: {near}")
        elif row not in log.in_effect(agent_id, ack.sent, ack.received):
            problems.append(f"answer shows a status not in effect while it ran: {describe(ack)}; row {brief(row)}")
    return problems, checked


def _matches(row_status: dict[str, Any], state: str, reason: str | None) -> bool:
    """The status a request asked for, or S3's finishing towards it."""
    if row_status["reason"] != reason:
        return False
    return row_status["state"] == state or (state == "inactive" and row_status["state"] == "finishing")


def _status_write_kept(ack: Ack, agent_id: int, log: StatusLog, state: str, reason: str | None) -> bool:
    """A row this caller caused in the window sets the status asked for; or the agent was in
    it already (a request for the status one has changes nothing, S2)."""
    actor = (ack.who.role, ack.who.id)
    if any(_matches(r["to"], state, reason) for r in log.by(agent_id, actor, ack.sent, ack.received)):
        return True
    return any(_matches(r["to"], state, reason) for r in log.in_effect(agent_id, ack.sent, ack.received))


def acknowledged_writes_kept(
    acks: list[Ack],
    log: StatusLog,
    journal: list[Event],
    threads: dict[int, dict[str, Any]],
    approvals: dict[int, dict[str, Any]],
) -> tuple[list[str], int]:
    """Every acknowledged write is in the database: status changes in the status log (S7),
    approval requests and decisions (S4), client messages and answers in their threads,
    closes closed, transfers and "continue working?" answers in the journal."""
    problems: list[str] = []
    checked = 0
    transfers = {
        (e["data"]["thread_id"], e["data"]["to_agent_id"], e["at"])
        for e in journal
        if e["name"] == "thread.transferred"
    }
    continued = [
        (e["data"]["agent_id"], instant(e["at"]))
        for e in journal
        if e["name"] == "agent.prompt_cleared" and e["data"]["why"] == "continued"
    ]

    def missing(what: str, ack: Ack) -> None:
        problems.append(f"{what}: {describe(ack)}")

    for ack in acks:
        if ack.method == "GET":
            continue
        checked += 1
        body = ack.body or {}
        if ack.path == "/me/status" or _AGENT_STATUS.match(ack.path):
            agent_id = ack.who.id if ack.path == "/me/status" else int(ack.path.split("/")[2])
            if ack.status == 202:
                request = approvals.get(ack.answer["id"])
                if (
                    request is None
                    or request["agent_id"] != agent_id
                    or request["requested"] != ack.answer["requested"]
                ):
                    missing("approval request lost", ack)
            elif not _status_write_kept(ack, agent_id, log, body["state"], body.get("reason")):
                missing("status change not in the status log", ack)
        elif ack.path == "/me/logout":
            if not any(r["to"]["state"] == "offline" for r in log.in_effect(ack.who.id, ack.sent, ack.received)):
                missing("logout not in the status log", ack)
        elif ack.path == "/me/login":
            if not any(r["to"]["state"] != "offline" for r in log.in_effect(ack.who.id, ack.sent, ack.received)):
                missing("login not in the status log", ack)
        elif ack.path == "/me/continue":
            if not any(a == ack.who.id and ack.sent - SLACK <= at <= ack.received + SLACK for a, at in continued):
                missing('"continue working?" answer not in the journal', ack)
        elif m := _DECISION.match(ack.path):
            request = approvals.get(int(m.group(1)))
            decided = "approved" if m.group(2) == "approve" else "rejected"
            if request is None or request["state"] != decided:
                missing(f"approval decision lost (now {request and request['state']})", ack)
            elif decided == "approved":
                wanted = request["requested"]
                if not _status_write_kept(ack, request["agent_id"], log, wanted["state"], wanted["reason"]):
                    missing("approved status not in the status log", ack)
        elif ack.path == "/threads":
            thread = threads.get(ack.answer["id"])
            texts = [(m["author"], m["text"]) for m in thread["messages"]] if thread else []
            if ("client", body["text"]) not in texts:
                missing("client message lost", ack)
        elif m := _THREAD_ACT.match(ack.path):
            thread_id, act = int(m.group(1)), m.group(2)
            thread = threads.get(thread_id)
            if thread is None:
                missing("thread lost", ack)
            elif act == "messages" and ("agent", body["text"]) not in [
                (x["author"], x["text"]) for x in thread["messages"]
            ]:
                missing("answer lost", ack)
            elif act == "close" and thread["state"] != "closed":
                missing(f"close lost (thread is {thread['state']})", ack)
            elif act == "transfer" and not any(
                t == thread_id and to == body["agent_id"] and ack.sent - SLACK <= instant(at) <= ack.received + SLACK
                for t, to, at in transfers
            ):
                missing("transfer not in the journal", ack)
        else:
            checked -= 1  # not a write this audit knows (users, settings: the scenario's own)
    return problems, checked


def status_log_is_a_chain(log: StatusLog) -> list[str]:
    """S7: each agent's rows follow one another: each starts from where the last one left."""
    problems = []
    for agent_id, rows in log.rows.items():
        for before, row in itertools.pairwise(rows):
            if (row["from"]["state"], row["from"]["reason"]) != (before["to"]["state"], before["to"]["reason"]):
                problems.append(f"agent {agent_id}: {brief(row)} does not follow {brief(before)}")
    return problems


@dataclass(slots=True)
class Holders:
    """Who holds each thread, replayed from the journal."""

    holder: dict[int, int | None]
    created: set[int]
    closed: set[int]


def one_holder_per_thread(journal: list[Event]) -> tuple[list[str], Holders]:
    """R7 over the journal: a thread is assigned only when nobody holds it, transferred only
    from its holder, requeued and closed only by (or from) its holder; never two at once."""
    problems: list[str] = []
    holders = Holders({}, set(), set())
    held = holders.holder
    for event in journal:
        name, data = event["name"], event["data"]
        if not name.startswith("thread.") or "thread_id" not in data:
            continue
        thread_id = data["thread_id"]
        now = held.get(thread_id)
        if name == "thread.created":
            holders.created.add(thread_id)
            held[thread_id] = None
        elif name == "thread.assigned":
            if now is not None:
                problems.append(
                    f"event {event['id']}: thread {thread_id} assigned to {data['agent_id']} while {now} holds it"
                )
            held[thread_id] = data["agent_id"]
        elif name == "thread.transferred":
            if data["from_agent_id"] != now:
                source = data["from_agent_id"]
                problems.append(f"event {event['id']}: thread {thread_id} transferred from {source} but {now} holds it")
            held[thread_id] = data["to_agent_id"]
        elif name == "thread.requeued":
            if now is not None and data["agent_id"] != now:
                problems.append(
                    f"event {event['id']}: thread {thread_id} requeued from {data['agent_id']} but {now} holds it"
                )
            held[thread_id] = None
        elif name == "thread.closed":
            if data["agent_id"] != now:
                problems.append(
                    f"event {event['id']}: thread {thread_id} closed as {data['agent_id']}'s but {now} holds it"
                )
            held[thread_id] = None
            holders.closed.add(thread_id)
    return problems, holders


def r7_now(
    holders: Holders,
    threads: dict[int, dict[str, Any]],
    agents: list[dict[str, Any]],
    queue: dict[str, Any],
) -> list[str]:
    """R7 on a settled snapshot: no thread lost (every thread the journal created is there, in
    the state the journal left it), held by the agent the journal says, counted on that agent's
    row; and nothing waits in the queue while an active agent has room."""
    problems = []
    for thread_id in sorted(holders.created):
        thread = threads.get(thread_id)
        if thread is None:
            problems.append(f"thread {thread_id} is lost: created in the journal, not in the database")
            continue
        closed = thread_id in holders.closed
        if (thread["state"] == "closed") != closed:
            problems.append(f"thread {thread_id} is {thread['state']}; the journal says closed={closed}")
        elif not closed and thread["agent_id"] != holders.holder[thread_id]:
            problems.append(
                f"thread {thread_id} is held by {thread['agent_id']}; the journal says {holders.holder[thread_id]}"
            )
        if thread["state"] == "queued" and thread["agent_id"] is not None:
            problems.append(f"thread {thread_id} is queued but held by {thread['agent_id']}")
    held_by: dict[int, int] = defaultdict(int)
    for thread in threads.values():
        if thread["state"] in ("assigned", "in_progress"):
            held_by[thread["agent_id"]] += 1
    for agent in agents:
        if agent["threads"] != held_by.get(agent["id"], 0):
            problems.append(
                f"agent {agent['id']} row counts {agent['threads']} threads; they hold {held_by.get(agent['id'], 0)}"
            )
    queued = sorted(t["id"] for t in threads.values() if t["state"] == "queued")
    if sorted(item["id"] for item in queue["items"]) != queued:
        problems.append(f"the queue lists {[i['id'] for i in queue['items']]}; queued threads are {queued}")
    if queue["length"]:
        room = [a["username"] for a in agents if a["status"]["state"] == "active" and a["threads"] < a["capacity"]]
        if room:
            problems.append(f"{queue['length']} threads wait in the queue while {room} are active with room (R7)")
    return problems


@dataclass(frozen=True, slots=True)
class Armed:
    """A sentinel left with S6's timers pending (crash_load.arm_sentinel) just before a fault."""

    sentinel: Person
    thread_id: int
    fault: float  # when the fault came (this machine's clock)


def sentinel_problems(
    armed: list[Armed],
    kicked: list[dict[str, Any]],
    log: StatusLog,
    journal: list[Event],
    *,
    prompted_after_fault: bool = False,
) -> list[str]:
    """S6 through a fault: the sentinel left with pending timers is kicked out by the system
    after the fault (the timer survived it), from the state they were left in, and their
    thread went back to the queue for it. `kicked`: each sentinel as the API showed them
    kicked out. `prompted_after_fault`: their "continue working?" came after the fault too
    (its timer was set before it)."""
    problems = []
    requeued = {
        (e["data"]["thread_id"], e["data"]["agent_id"])
        for e in journal
        if e["name"] == "thread.requeued" and e["data"]["why"] == "kicked_out"
    }
    prompts: dict[int, list[float]] = defaultdict(list)
    for e in journal:
        if e["name"] == "agent.prompted":
            prompts[e["data"]["agent_id"]].append(instant(e["at"]))
    for one, seen in zip(armed, kicked, strict=True):
        sentinel, thread_id, fault = one.sentinel, one.thread_id, one.fault
        rows = [r for r in log.rows.get(sentinel.id, []) if r["to"]["state"] == "kicked_out"]
        if len(rows) != 1:
            problems.append(f"{sentinel.username}: {len(rows)} kicked_out rows: {[brief(r) for r in rows]}")
            continue
        row = rows[0]
        if instant(row["at"]) < fault:
            problems.append(f"{sentinel.username} kicked out at {row['at']}, before the fault at {fault:.3f}")
        if row["actor"]["kind"] != "system" or row["actor"]["why"] != "kicked_out":
            problems.append(f"{sentinel.username}: kicked out by {row['actor']}")
        if row["from"]["state"] != "active_own_clients":
            problems.append(f"{sentinel.username}: kicked out from {row['from']}, not active_own_clients")
        if seen["status"]["since"] != row["at"]:
            problems.append(f"{sentinel.username}: the API shows {seen['status']}, the log {brief(row)}")
        if (thread_id, sentinel.id) not in requeued:
            problems.append(f"{sentinel.username}: thread {thread_id} not requeued for the kick-out")
        if prompted_after_fault:
            asked = prompts.get(sentinel.id, [])
            if len(asked) != 1 or not fault <= asked[0] <= instant(row["at"]) + SLACK:
                problems.append(
                    f"{sentinel.username}: prompted at {asked}; once, after the fault at {fault:.3f} "
                    f"and before the kick-out at {row['at']}, expected"
                )
    return problems


def tally(acks: list[Ack], log: StatusLog) -> str:
    """What the load got done, by kind: so a run that did little shows it."""
    kinds: Counter[str] = Counter()
    for ack in acks:
        if ack.method == "GET":
            continue
        kind = re.sub(r"/\d+", "/{id}", ack.path)
        kinds[f"{kind}{' 202' if ack.status == 202 else ''}"] += 1
    rows = [r for rs in log.rows.values() for r in rs]
    kinds["log: kicked out (S6)"] = sum(1 for r in rows if r["to"]["state"] == "kicked_out")
    kinds["log: finishing (S3)"] = sum(1 for r in rows if r["to"]["state"] == "finishing")
    return ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
