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
failure), ONDUTY_CRASH_SEED replays one. Defaults keep it short for CI (2 rounds of at most
3 s of load per database). Long runs:

    ONDUTY_CRASH_ROUNDS=50 ONDUTY_CRASH_SECONDS=8 pytest tests/integration/test_crash.py -s --timeout=0

ONDUTY_CRASH_ROUNDS: kill rounds per database (default 2: tests/integration/test_instances.py
kills an owner three more times under the same load and audits). ONDUTY_CRASH_SECONDS: the most
load before each kill, in seconds (default 3; the kill falls uniformly from 0.5 s to it).
"""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path
from typing import Any

import pytest

from onduty.storage.database import Database
from tests.integration import crash_audit as audit
from tests.integration.crash_load import arm_sentinel, kicked_out, open_floor, stop
from tests.integration.crash_site import CrashSite, OutsideWriter

# The fault tests load the machine: one worker runs them one after another (pyproject: -n 2).
pytestmark = pytest.mark.xdist_group("faults")

ROUNDS = int(os.environ.get("ONDUTY_CRASH_ROUNDS", "2"))
LOAD_SECONDS = float(os.environ.get("ONDUTY_CRASH_SECONDS", "3"))
RESPONSE_TIMEOUT = 2  # S6, seconds: short, so the timers fire within the test
# Long enough that no sentinel can be kicked out before its round's kill, however late the kill.
PROMPT_TIMEOUT = int(LOAD_SECONDS) + 2


async def test_acknowledged_writes_survive_sigkill_under_load_r7_holds_and_s6_timers_fire_after_restart(
    database: Database, tmp_path: Path
) -> None:
    """Everywhere ("acknowledged is never lost", "timers survive a restart"), S6, S7, R7."""
    seed = int(os.environ.get("ONDUTY_CRASH_SEED", random.randrange(2**32)))
    print(f"\ncrash seed {seed} ({database.url.split(':')[0]}, {ROUNDS} rounds)")
    rng = random.Random(seed)
    armed: list[audit.Armed] = []  # each sentinel, their thread, the kill that followed
    kicked: list[dict[str, Any]] = []
    outside = OutsideWriter(database)
    async with CrashSite(database.url, tmp_path) as site:
        site.open()
        floor, sentinels = await open_floor(
            site, sentinels=ROUNDS, response_timeout=RESPONSE_TIMEOUT, prompt_timeout=PROMPT_TIMEOUT
        )
        for round_no, sentinel in enumerate(sentinels, start=1):
            site.round = round_no
            thread_id = await arm_sentinel(site, floor, sentinel, round_no)
            tasks = floor.start(seed * 1000 + round_no)
            stalls = outside.now_and_then(random.Random(f"{seed}-{round_no}"), hold=(0.02, 0.1), pause=(0.1, 0.4))
            tasks.append(asyncio.create_task(stalls))
            await asyncio.sleep(rng.uniform(0.5, LOAD_SECONDS))  # the kill moment: the seeded part
            site.crash()
            await stop(tasks)
            armed.append(audit.Armed(sentinel, thread_id, site.kills[-1]))
            await site.restart()
            kicked.append(await kicked_out(site, sentinel, RESPONSE_TIMEOUT + PROMPT_TIMEOUT))
        site.round += 1
        picture = await site.settled()

    log = audit.StatusLog(picture["log"])
    acks = site.calls.acks
    shown, answers = audit.answers_show_only_what_was_saved(acks, log)
    shown_by_reads, reads = audit.answers_show_only_what_was_saved(acks, log, audit.read_subject)
    lost, writes = audit.acknowledged_writes_kept(
        acks, log, picture["journal"], picture["threads"], picture["approvals"]
    )
    holders_problems, holders = audit.one_holder_per_thread(picture["journal"])
    r7 = audit.r7_now(holders, picture["threads"], picture["agents"], picture["queue"])
    s6 = audit.sentinel_problems(armed, kicked, log, picture["journal"])
    print(
        f"crash seed {seed}: {len(acks)} acknowledged calls ({writes} writes, {answers} status answers), "
        f"{site.calls.refused} refused, {site.calls.lost} unanswered, {len(site.kills)} kills, "
        f"{len(picture['log'])} status log rows, {len(picture['journal'])} journal events, "
        f"{len(picture['threads'])} threads; status change answers showing a status not saved (or not in effect "
        f"then): {len(shown)} of {answers}; reads of GET /me doing so: {len(shown_by_reads)} of {reads}"
    )
    print(f"crash seed {seed}: {audit.tally(acks, log)}")
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
