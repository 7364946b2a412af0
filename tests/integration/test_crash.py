"""Crash test: a real `onduty serve` under mixed concurrent load, killed with SIGKILL at
random moments and started again on the same database, on SQLite and on PostgreSQL.

"What the service acknowledged is never lost, through a crash or restart included; timers
(S6, R4) survive a restart" (PRODUCT.md, Everywhere), S7 (the status log), R7, S6.

Each round: a sentinel agent is left in `active_own_clients` holding an unanswered thread
(transferred to them, R3), so that S6's response and prompt timers are pending; the load
runs (agents changing status, breaks that need approval, approvals and rejections, client
messages, answers, closes, transfers, "continue working?", logouts; a supervisor changing
statuses; an agent who never answers and so is prompted and kicked out; now and then another
writer holding the database's write lock for a moment, as an operator's `onduty users add`
may, so that a kill often finds a batch applied and not yet saved); at a random moment the
server is killed (SIGKILL) and started again. After the last round, with the server
settled, the audits (crash_audit.py) judge every acknowledged call (a 2xx answer):

- every acknowledged write is in the database (status log, approvals, threads, journal);
- every status a status change's answer showed was committed (a log row set exactly it)
  and was the agent's at that point: no answer shows what was not saved;
- the status log is a chain per agent (S7);
- one holder per thread over the journal, and R7 on the settled state (no thread lost,
  none waiting while an active agent has room);
- S6 after each restart: every sentinel is kicked out by the system after the kill (its
  timer survived the crash), from the state it was left in.

The kill moments come from a seeded generator; the seed is printed (and named in every
failure), ONDUTY_CRASH_SEED replays one. Defaults keep it short for CI (3 rounds of at most
3 s of load per database). Long runs:

    ONDUTY_CRASH_ROUNDS=50 ONDUTY_CRASH_SECONDS=8 pytest tests/integration/test_crash.py -s

ONDUTY_CRASH_ROUNDS: kill rounds per database (default 3). ONDUTY_CRASH_SECONDS: the most
load before each kill, in seconds (default 3; the kill falls uniformly from 0.5 s to it).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

from onduty.storage.database import Database
from tests.integration import crash_audit as audit
from tests.integration.crash_load import APPROVAL_REASON, Floor, stop
from tests.integration.crash_site import WAIT, Ack, CrashSite, OutsideWriter, Person, instant, poll

ROUNDS = int(os.environ.get("ONDUTY_CRASH_ROUNDS", "3"))
LOAD_SECONDS = float(os.environ.get("ONDUTY_CRASH_SECONDS", "3"))
RESPONSE_TIMEOUT = 2  # S6, seconds: short, so the timers fire within the test
# Long enough that no sentinel can be kicked out before its round's kill, however late the kill.
PROMPT_TIMEOUT = int(LOAD_SECONDS) + 2


async def _setup(site: CrashSite) -> tuple[Floor, list[Person]]:
    await site.must(
        site.admin,
        "PATCH",
        "/settings",
        {
            "response_timeout": RESPONSE_TIMEOUT,
            "prompt_timeout": PROMPT_TIMEOUT,
            "client_affinity_timeout": 0,  # R4 off: every new thread goes to the general queue
            "disconnect_grace": 0,  # S8 off: nobody here holds a stream open
        },
    )
    await site.must(
        site.admin, "POST", "/reasons", {"code": APPROVAL_REASON, "label": "Long break", "requires_approval": True}
    )
    supervisor = await site.person("sue", "supervisor")
    integration = await site.person("webchat", "integration")
    agents = [await site.person(f"agent{i}", "agent", capacity=2) for i in range(6)]
    lazy = await site.person("lazy", "agent", capacity=2)
    sentinels = [await site.person(f"sentinel{k}", "agent") for k in range(ROUNDS)]
    for agent in (*agents, lazy):
        await site.must(agent, "POST", "/me/login")
        await site.must(agent, "PUT", "/me/status", {"state": "active"})
    return Floor(site, supervisor, integration, agents, lazy, itertools.count()), sentinels


async def _arm(site: CrashSite, floor: Floor, sentinel: Person, round_no: int) -> int:
    """S6's timers pending for the sentinel: `active_own_clients` (the router gives them
    nothing, R4 aside) and an unanswered thread transferred to them (R3)."""
    await site.must(sentinel, "POST", "/me/login")
    await site.must(sentinel, "PUT", "/me/status", {"state": "active_own_clients"})
    thread = await site.must(floor.integration, "POST", "/threads", {"client_id": f"sentinel-{round_no}", "text": "hi"})
    await site.must(floor.supervisor, "POST", f"/threads/{thread['id']}/transfer", {"agent_id": sentinel.id})
    thread_id: int = thread["id"]
    return thread_id


async def _kicked_out(site: CrashSite, sentinel: Person) -> dict[str, Any]:
    async def check() -> Any:
        seen = await site.must(site.admin, "GET", f"/agents/{sentinel.id}")
        return seen if seen["status"]["state"] == "kicked_out" else None

    seen: dict[str, Any] = await poll(
        check, RESPONSE_TIMEOUT + PROMPT_TIMEOUT + WAIT, f"{sentinel.username} kicked out"
    )
    return seen


async def _settled(site: CrashSite) -> dict[str, Any]:
    """One consistent picture: read everything, then the journal again; if nothing happened
    meanwhile (a timer may fire at any time), the picture is of one moment."""
    for _ in range(100):
        journal = await site.journal()
        picture = {
            "journal": journal,
            "log": await site.status_log(),
            "threads": await site.threads(),
            "approvals": await site.approvals(),
            "agents": await site.agents(),
            "queue": await site.queue(),
        }
        if not await site.journal(after=journal[-1]["id"] if journal else 0):
            return picture
    raise AssertionError("the server never stood still for one reading of its state")


async def test_acknowledged_writes_survive_sigkill_under_load_r7_holds_and_s6_timers_fire_after_restart(
    database: Database, tmp_path: Path
) -> None:
    """Everywhere ("acknowledged is never lost", "timers survive a restart"), S6, S7, R7."""
    seed = int(os.environ.get("ONDUTY_CRASH_SEED", random.randrange(2**32)))
    print(f"\ncrash seed {seed} ({database.url.split(':')[0]}, {ROUNDS} rounds)")
    rng = random.Random(seed)
    armed: list[tuple[Person, int, float]] = []  # sentinel, their thread, the kill that followed
    kicked: list[tuple[Person, dict[str, Any]]] = []
    outside = OutsideWriter(database)
    async with CrashSite(database.url, tmp_path) as site:
        site.open()
        floor, sentinels = await _setup(site)
        for round_no, sentinel in enumerate(sentinels, start=1):
            site.round = round_no
            thread_id = await _arm(site, floor, sentinel, round_no)
            tasks = floor.start(seed * 1000 + round_no)
            stalls = outside.now_and_then(random.Random(f"{seed}-{round_no}"), hold=(0.02, 0.1), pause=(0.1, 0.4))
            tasks.append(asyncio.create_task(stalls))
            await asyncio.sleep(rng.uniform(0.5, LOAD_SECONDS))  # the kill moment: the seeded part
            site.crash()
            await stop(tasks)
            armed.append((sentinel, thread_id, site.kills[-1]))
            await site.restart()
            kicked.append((sentinel, await _kicked_out(site, sentinel)))
        site.round += 1
        picture = await _settled(site)

    log = audit.StatusLog(picture["log"])
    acks = site.calls.acks
    shown, answers = audit.answers_show_only_what_was_saved(acks, log)
    shown_by_reads, reads = audit.answers_show_only_what_was_saved(acks, log, audit.read_subject)
    lost, writes = audit.acknowledged_writes_kept(
        acks, log, picture["journal"], picture["threads"], picture["approvals"]
    )
    holders_problems, holders = audit.one_holder_per_thread(picture["journal"])
    r7 = audit.r7_now(holders, picture["threads"], picture["agents"], picture["queue"])
    s6 = _sentinel_problems(armed, kicked, log, picture["journal"])
    print(
        f"crash seed {seed}: {len(acks)} acknowledged calls ({writes} writes, {answers} status answers), "
        f"{site.calls.refused} refused, {site.calls.lost} unanswered, {len(site.kills)} kills, "
        f"{len(picture['log'])} status log rows, {len(picture['journal'])} journal events, "
        f"{len(picture['threads'])} threads; status change answers showing a status not saved (or not in effect "
        f"then): {len(shown)} of {answers}; reads of GET /me doing so: {len(shown_by_reads)} of {reads}"
    )
    print(f"crash seed {seed}: {_tally(acks, log)}")
    report = (
        audit.section("acknowledged writes missing", lost)
        + audit.section("answers showing what was not saved", shown)
        + audit.section("status log not a chain (S7)", audit.status_log_is_a_chain(log))
        + audit.section("two holders at once (R7)", holders_problems)
        + audit.section("R7 after settling", r7)
        + audit.section("S6 timers after a restart", s6)
    )
    assert writes and answers, f"seed {seed}: the load got nothing acknowledged"
    assert not lost, f"seed {seed}:{report}"
    assert not audit.status_log_is_a_chain(log), f"seed {seed}:{report}"
    assert not holders_problems, f"seed {seed}:{report}"
    assert not r7, f"seed {seed}:{report}"
    assert not s6, f"seed {seed}:{report}"
    assert not shown, f"seed {seed}:{report}"


def _sentinel_problems(
    armed: list[tuple[Person, int, float]],
    kicked: list[tuple[Person, dict[str, Any]]],
    log: audit.StatusLog,
    journal: list[audit.Event],
) -> list[str]:
    """S6 after each restart: the sentinel left with pending timers at the kill is kicked out
    by the system after the kill (the timer survived it), from the state they were left in,
    and their thread went back to the queue for it."""
    problems = []
    requeued = {
        (e["data"]["thread_id"], e["data"]["agent_id"])
        for e in journal
        if e["name"] == "thread.requeued" and e["data"]["why"] == "kicked_out"
    }
    for (sentinel, thread_id, killed_at), (_, seen) in zip(armed, kicked, strict=True):
        rows = [r for r in log.rows.get(sentinel.id, []) if r["to"]["state"] == "kicked_out"]
        if len(rows) != 1:
            problems.append(f"{sentinel.username}: {len(rows)} kicked_out rows: {[audit.brief(r) for r in rows]}")
            continue
        row = rows[0]
        if instant(row["at"]) < killed_at:
            problems.append(f"{sentinel.username} kicked out at {row['at']}, before the kill at {killed_at:.3f}")
        if row["actor"]["kind"] != "system" or row["actor"]["why"] != "kicked_out":
            problems.append(f"{sentinel.username}: kicked out by {row['actor']}")
        if row["from"]["state"] != "active_own_clients":
            problems.append(f"{sentinel.username}: kicked out from {row['from']}, not active_own_clients")
        if seen["status"]["since"] != row["at"]:
            problems.append(f"{sentinel.username}: the API shows {seen['status']}, the log {audit.brief(row)}")
        if (thread_id, sentinel.id) not in requeued:
            problems.append(f"{sentinel.username}: thread {thread_id} not requeued for the kick-out")
    return problems


def _tally(acks: list[Ack], log: audit.StatusLog) -> str:
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
