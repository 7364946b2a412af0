"""Audits of several instances, from what PostgreSQL holds and what the client was told.

Each answers a list of problems (empty: a pass), each naming the request, its key, its
attempts and answer, and the rows it was compared with. crash_audit.py judges the
acknowledged calls as on one server; these judge what only several instances do: writes
sent again under one idempotency key, epochs, takeovers.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any

from tests.integration.instance_site import LogRow, Write

_THREAD_ANSWER = re.compile(r"^/threads/\d+/messages$")


def describe(write: Write) -> str:
    return (
        f"{write.who.username} {write.method} {write.path} {write.body} key {write.key}: "
        f"{write.attempts} attempt(s), answered {write.status} by {write.instance} {write.refusal}"
    )


def logged_keys(log: list[LogRow]) -> dict[str, list[int]]:
    """Each idempotency key in the command log, with the rows it is in."""
    rows: dict[str, list[int]] = defaultdict(list)
    for row in log:
        for command in row.commands:
            key = command.get("key")
            if key is not None:
                rows[key].append(row.id)
    return rows


def applied_once(writes: list[Write], log: list[LogRow]) -> tuple[list[str], Counter[str]]:
    """Every command the command log holds was applied under its key once, whatever the
    attempts; an acknowledged write's command is there; a refused write applied nothing
    (a write applied by one attempt and refused at a later one was told the wrong thing:
    the retry is answered from the state, service/idempotency.py). Answers the problems and
    a count of writes by outcome."""
    keys = logged_keys(log)
    problems = [f"key {key} applied {len(rows)} times, in rows {rows}" for key, rows in keys.items() if len(rows) > 1]
    # A command's key is `<client's key>@<credential's digest>:<n>` (service/idempotency.py).
    by_request: Counter[str] = Counter(key.rpartition(":")[0].rpartition("@")[0] for key in keys)
    counts: Counter[str] = Counter()
    for write in writes:
        applied = by_request.get(write.key, 0)
        retried = "retried" if write.attempts > 1 else "once"
        if write.status is None:
            counts[f"unanswered ({retried})"] += 1
        elif 200 <= write.status < 300:
            counts[f"acknowledged ({retried})"] += 1
            if applied == 0 and not _outside_the_engine(write):
                problems.append(f"acknowledged, yet no command under its key: {describe(write)}")
        else:
            counts[f"refused {write.status} ({retried})"] += 1
            if write.attempts == 1 and applied:
                problems.append(f"refused at its only attempt, yet applied {applied} command(s): {describe(write)}")
            elif applied:  # an earlier attempt applied it: the retry must say so, not refuse it
                problems.append(f"applied by an earlier attempt, yet answered {write.status}: {describe(write)}")
    return problems, counts


def _outside_the_engine(write: Write) -> bool:
    """A write that applies no command: a user who is no agent (the engine knows agents only)."""
    return write.path == "/users" and isinstance(write.body, dict) and write.body.get("role") != "agent"


def texts_once(writes: list[Write], messages: Counter[tuple[str, str]]) -> tuple[list[str], int]:
    """Client messages and agents' answers, each text sent once (the load's texts are
    unique): one message row per acknowledged text, none for a text refused at its only
    attempt, at most one for any other (unanswered, or refused after an attempt that may
    have been applied). Answers the problems and how many texts were checked."""
    sent: Counter[str] = Counter()
    judged: list[tuple[Write, str, str]] = []
    for write in writes:
        if write.method != "POST" or not isinstance(write.body, dict) or "text" not in write.body:
            continue
        author = "client" if write.path == "/threads" else "agent" if _THREAD_ANSWER.match(write.path) else None
        if author is None:
            continue
        sent[write.body["text"]] += 1
        judged.append((write, author, write.body["text"]))
    problems = []
    checked = 0
    for write, author, text in judged:
        if sent[text] > 1:
            continue  # not the load's (a sentinel's "hi"): no text to tell it by
        checked += 1
        rows = messages.get((author, text), 0)
        if write.status is not None and 200 <= write.status < 300:
            if rows != 1:
                problems.append(f"acknowledged text has {rows} message rows, not 1: {describe(write)}")
        elif write.status is not None and write.attempts == 1:
            if rows:
                problems.append(f"refused text has {rows} message rows: {describe(write)}")
        elif rows > 1:
            problems.append(f"text sent under one key has {rows} message rows: {describe(write)}")
    return problems, checked


def stale_commits(log: list[LogRow]) -> tuple[list[str], Counter[int | None]]:
    """Commits under a superseded epoch: a log row whose epoch is lower than one committed
    before it (the fence must refuse every commit of an owner once another has taken over).
    A row without an epoch is an unfenced commit: only the command line's, before any
    instance ran (`onduty users add`), may be one. Answers the problems and the rows per epoch."""
    problems = []
    highest: LogRow | None = None
    for row in log:
        if row.epoch is None:
            if highest is not None:
                problems.append(f"command_log row {row.id} (at {row.at:.3f}) has no epoch, after row {highest.id}'s")
            continue
        if highest is not None and highest.epoch is not None and row.epoch < highest.epoch:
            problems.append(
                f"command_log row {row.id} committed under epoch {row.epoch} after row {highest.id} "
                f"under epoch {highest.epoch}"
            )
        if highest is None or highest.epoch is None or row.epoch > highest.epoch:
            highest = row
    return problems, Counter(row.epoch for row in log)


def takeover_seconds(kills: list[float], writes: list[Write]) -> list[float | None]:
    """For each kill of the owner: seconds from the SIGKILL to the first write answered 2xx
    whose last attempt was sent after it (only a new owner can have applied it)."""
    seconds: list[float | None] = []
    for kill in kills:
        after = [
            w.received - kill for w in writes if w.status is not None and 200 <= w.status < 300 and w.last_sent >= kill
        ]
        seconds.append(min(after) if after else None)
    return seconds


def figures(values: list[float | None]) -> str:
    shown = [f"{v:.2f}s" if v is not None else "none" for v in values]
    known = [v for v in values if v is not None]
    if not known:
        return "[]"
    return f"[{', '.join(shown)}] (max {max(known):.2f}s, mean {sum(known) / len(known):.2f}s)"


def different(name: str, mine: Any, theirs: Any) -> str | None:
    """A short description of how two answers differ, or None when equal."""
    if mine == theirs:
        return None
    if isinstance(mine, list) and isinstance(theirs, list):
        pairs = [(a, b) for a, b in zip(mine, theirs, strict=False) if a != b]
        return f"{name}: {len(mine)} vs {len(theirs)} items; first difference {pairs[:1]}"
    return f"{name}: {mine} vs {theirs}"
