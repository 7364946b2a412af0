"""Several real `onduty serve` instances on one PostgreSQL database and one Redis, under
faults: the owner killed, the owner paused past its lease, Redis and PostgreSQL restarted.

"What the service acknowledged is never lost" (PRODUCT.md, Everywhere), S6, S7, R7, and
docs/scale-out.md's promises: one owner at a time, fenced by its epoch; any instance takes
any request (a follower forwards writes, and its next read shows them); a write sent again
under the same Idempotency-Key is applied once; every dashboard gets every event it may
see, across its instance's death.

Three instances (`instance_site.py`) on 127.0.0.1, a fresh PostgreSQL database per test,
and a Redis server of each test's own (tests/redis_server.py `PrivateRedis`): the
instances' channel is named after the workspace ("default") and cannot be set, so two
runs on one Redis would hear each other's events; a private server keeps each test to
itself, and restarting it disturbs nobody else. Leases are short (1.5 s, renewed every
0.5 s) so that a takeover takes about two seconds.

The client (`InstancesSite.send`) sends each request to an instance drawn at random and
sends a write again under the same key after a 503 or no answer, as a client behind a
load balancer would. The load is the crash test's (crash_load.py), the audits its own
(crash_audit.py) and those of several instances (instance_audit.py); dashboards
(dashboards.py) are an admin's and a supervisor's stream on each instance. Agents' own
streams are not opened: S8 across instances is not part of this file.

The restart test restarts the machine's PostgreSQL cluster (pg_ctlcluster, as root or
postgres), which cuts every other client of it: run this file alone. Under CI=true it
must run; elsewhere it skips when the cluster cannot be restarted.

Knobs for longer runs (the defaults keep the file to about three minutes):

    ONDUTY_INSTANCES_KILLS=30 ONDUTY_INSTANCES_SECONDS=6 pytest tests/integration/test_instances.py -s --timeout=0

ONDUTY_INSTANCES_KILLS: SIGKILLs of the owner (default 3). ONDUTY_INSTANCES_SECONDS: the
most load before each fault (default 2.5; the fault falls uniformly from 0.5 s to it).
ONDUTY_INSTANCES_SEED replays one run's draws (the seed is printed and in every failure).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from onduty.service.forwarding import ATTEMPT_TIMEOUT, FORWARD_WAIT
from onduty.service.node import INSTANCE_SECONDS as INSTANCE_HEARTBEAT_SECONDS
from onduty.storage.database import Database
from tests.integration import crash_audit as audit
from tests.integration import instance_audit as inst
from tests.integration.conftest import IN_CI, PG_ADMIN, _pg_reachable, drop_postgres_database, new_postgres_database
from tests.integration.crash_load import Floor, arm_sentinel, kicked_out, open_floor, stop
from tests.integration.crash_site import TEAM, poll
from tests.integration.dashboards import Dashboard, caught_up, stream_problems, user_of
from tests.integration.instance_site import Instance, InstancesSite, Write, first_to, instance_stream_url
from tests.postgres_lock import postgres_alone
from tests.redis_server import PrivateRedis

# The fault tests load the machine: one worker runs them one after another (pyproject: -n 2).
pytestmark = pytest.mark.xdist_group("faults")

KILLS = int(os.environ.get("ONDUTY_INSTANCES_KILLS", "3"))
LOAD_SECONDS = float(os.environ.get("ONDUTY_INSTANCES_SECONDS", "2.5"))
LEASE_SECONDS = 1.5  # SHORT_LEASE's
# S6: the sentinel's prompt falls after the kill however late the kill comes (the kill is at
# most LOAD_SECONDS after arming), and the kick-out two seconds after the prompt.
RESPONSE_TIMEOUT = math.ceil(LOAD_SECONDS) + 1
PROMPT_TIMEOUT = 2
STARTUP = 60.0  # seconds three instances may take to start on a busy two-core machine
TAKEOVER_BOUND = 10.0  # seconds from a death to a new owner seen by /healthz (lease 1.5 s + a retry, with room)
RECOVERY_BOUND = 30.0  # seconds from a restarted database to an owner again
SETTLE = 30.0


def _seed() -> int:
    return int(os.environ.get("ONDUTY_INSTANCES_SEED", random.randrange(2**32)))


@pytest.fixture
def own_database() -> Iterator[Database]:
    """A PostgreSQL database of this test's own, migrated, dropped after."""
    db = new_postgres_database("onduty_inst_")
    yield db
    _ensure_postgres()
    drop_postgres_database(db)


@pytest.fixture
def redis_server() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def opened(
    database: Database, workdir: Path, redis: PrivateRedis, seed: int, count: int = 3
) -> AsyncIterator[InstancesSite]:
    site = InstancesSite(database, workdir, redis.url, seed=seed, count=count)
    try:
        await site.open()
        yield site
    finally:
        await site.close()


async def _state(site: InstancesSite) -> str:
    """The database's sessions and the instances' logs, for a failure message."""
    sessions = "".join(f"\n      {line}" for line in await site.ledger.activity())
    return (
        f"the database's sessions (pid | state | wait | for s | query):{sessions}\n  the instances' logs:{_logs(site)}"
    )


def _logs(site: InstancesSite, lines: int = 15) -> str:
    """The last lines of every instance's log, for a failure message."""
    parts = []
    for instance in site.instances:
        tail = "\n      ".join(instance.log_text().splitlines()[-lines:])
        parts.append(f"\n  --- {instance} ({'running' if instance.running else 'dead'}):\n      {tail}")
    return "".join(parts)


async def _dashboards(site: InstancesSite, floor: Floor, instances: list[Instance]) -> list[Dashboard]:
    """An admin's and a supervisor's dashboard opened on each instance, from the journal's end."""
    start = await site.ledger.last_event_id()
    boards = []
    for instance in instances:
        boards.append(Dashboard(site, site.admin, user_of(site.admin, None), instance, start))
        boards.append(Dashboard(site, floor.supervisor, user_of(floor.supervisor, TEAM), instance, start))
    for board in boards:
        board.open()
    return boards


async def _dashboard_problems(site: InstancesSite, boards: list[Dashboard]) -> list[str]:
    """Once they have caught up with the journal (or SETTLE passed): what each missed, repeated,
    or got that it may not see."""
    through = await site.ledger.last_event_id()
    journal = await site.ledger.events()
    await caught_up(boards, journal, through, SETTLE)
    for board in boards:
        await board.close()
    return [problem for board in boards for problem in stream_problems(board, journal, through)]


async def _settled(site: InstancesSite) -> dict[str, Any]:
    """Every instance holding the journal's last event, then one picture read from the owner
    (crash_site.ApiSite.settled)."""
    await site.all_applied(SETTLE)
    owner, _ = await site.owner(SETTLE)
    site.pinned = owner
    try:
        return await site.settled()
    finally:
        site.pinned = None


class Audits:
    """The audits every test here runs at its end, and the figures they print."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.sections: list[tuple[str, list[str]]] = []
        self.lines: list[str] = []

    def add(self, name: str, problems: list[str]) -> None:
        self.sections.append((name, problems))

    def say(self, line: str) -> None:
        self.lines.append(line)
        print(f"instances seed {self.seed}: {line}")

    def report(self) -> str:
        figures = "".join(f"\n  {line}" for line in self.lines)
        return f"seed {self.seed}:{figures}" + "".join(audit.section(n, p) for n, p in self.sections)

    def check(self) -> None:
        """Each audit with problems fails the test, with the whole report."""
        failed = [name for name, problems in self.sections if problems]
        assert not failed, f"{', '.join(failed)}: {self.report()}"


async def _common_audits(site: InstancesSite, audits: Audits, picture: dict[str, Any]) -> None:
    """What holds through any fault: acknowledged writes kept and applied once, answers show
    only what was saved, the status log a chain (S7), one holder per thread and R7, no commit
    under a superseded epoch, no server error."""
    log = audit.StatusLog(picture["log"])
    acks = site.calls.acks
    lost, writes = audit.acknowledged_writes_kept(
        acks, log, picture["journal"], picture["threads"], picture["approvals"]
    )
    shown, answers = audit.answers_show_only_what_was_saved(acks, log)
    stale_reads, reads = audit.answers_show_only_what_was_saved(acks, log, audit.read_subject)
    holders_problems, holders = audit.one_holder_per_thread(picture["journal"])
    r7 = audit.r7_now(holders, picture["threads"], picture["agents"], picture["queue"])
    command_log = await site.ledger.command_log()
    once, outcomes = inst.applied_once(site.writes, command_log)
    texts, text_count = inst.texts_once(site.writes, await site.ledger.messages())
    stale, epochs = inst.stale_commits(command_log)
    by_instance = Counter(a.instance for a in site.attempts)
    audits.say(
        f"{len(acks)} acknowledged calls ({writes} writes, {answers} status answers), {site.calls.refused} refused, "
        f"{site.calls.lost} unanswered; {site.retries} attempts sent again; attempts by instance "
        f"{dict(sorted(by_instance.items()))}; writes by outcome {dict(sorted(outcomes.items()))}"
    )
    audits.say(
        f"{len(picture['log'])} status log rows, {len(picture['journal'])} journal events, "
        f"{len(picture['threads'])} threads, {len(command_log)} command log rows by epoch "
        f"{dict(sorted(epochs.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)))}; "
        f"{len(stale)} commits under a stale epoch (or without one); {text_count} texts checked; "
        f"reads of GET /me showing a status not in effect while they ran (a follower's copy behind): "
        f"{len(stale_reads)} of {reads}"
    )
    audits.say(audit.tally(acks, log))
    audits.add("server errors (5xx other than 503)", site.errors)
    audits.add("acknowledged writes missing", lost)
    audits.add("commands applied other than once under their key", once)
    audits.add("messages not exactly once", texts)
    audits.add("answers showing what was not saved", shown)
    audits.add("status log not a chain (S7)", audit.status_log_is_a_chain(log))
    audits.add("two holders at once (R7)", holders_problems)
    audits.add("R7 after settling", r7)
    audits.add("commits under a superseded epoch", stale)
    assert writes and answers, f"seed {audits.seed}: the load got nothing acknowledged: {audits.report()}"


# -- 1. the basics ---------------------------------------------------------------------


async def test_one_owner_followers_forward_and_read_their_own_writes_and_every_copy_answers_as_the_owner(
    own_database: Database, redis_server: PrivateRedis, tmp_path: Path
) -> None:
    """One owner, the others followers under its epoch; a write through a follower is
    answered with the journal's id and the follower's next read shows it; after a mixed
    load spread over all three, every instance answers /agents and /queue as the owner."""
    seed = _seed()
    print(f"\ninstances seed {seed}: basics")
    audits = Audits(seed)
    async with opened(own_database, tmp_path, redis_server, seed) as site:
        owner, epoch = await site.owner(STARTUP)

        async def same_epoch() -> dict[str, Any] | None:
            seen = await site.healths()
            return seen if all(h is not None and h.get("epoch") == epoch for h in seen.values()) else None

        healths = await poll(same_epoch, 10, f"every instance naming the owner's epoch {epoch}")
        roles = Counter(h["role"] for h in healths.values())
        assert roles == Counter({"owner": 1, "follower": 2}), f"roles {healths}"

        floor, _ = await open_floor(site, sentinels=0, response_timeout=RESPONSE_TIMEOUT, prompt_timeout=PROMPT_TIMEOUT)
        followers = [i for i in site.running if i is not owner]

        # A supervisor's status change through a follower, then the follower's own copy read.
        via, agent = followers[0], floor.agents[0]
        changed = await site.send_to(via, floor.supervisor, "PUT", f"/agents/{agent.id}/status", {"state": "not_ready"})
        assert changed is not None and changed.status_code == 200, f"write through {via}: {changed and changed.text}"
        event_id = changed.headers.get("onduty-event-id")
        assert event_id is not None and event_id.isdigit(), (
            f"no Onduty-Event-Id on a forwarded write: {changed.headers}"
        )
        seen = await site.send_to(via, floor.supervisor, "GET", f"/agents/{agent.id}")
        assert seen is not None and seen.json()["status"] == changed.json(), (
            f"{via} answered {changed.json()} to the write (event {event_id}), then showed "
            f"{seen and seen.json()['status']}: a follower's next read must show the write it forwarded"
        )
        journal = await site.ledger.events()
        told = [e.id for e in journal if e.name == "agent.status_changed" and e.data["agent_id"] == agent.id]
        assert told and told[-1] <= int(event_id), f"the change is event {told[-1:]}, the answer named {event_id}"
        health = await site.health(via)
        assert health is not None and health["applied_event_id"] >= int(event_id), f"{via} /healthz {health}"

        # A client's message through the other follower: its thread is there at once.
        via = followers[1]
        wrote = await site.send_to(via, floor.integration, "POST", "/threads", {"client_id": "basic", "text": "one"})
        assert wrote is not None and wrote.status_code == 201, f"POST /threads through {via}: {wrote and wrote.text}"
        thread = await site.send_to(via, site.admin, "GET", f"/threads/{wrote.json()['id']}")
        assert thread is not None and thread.status_code == 200, f"{via} did not show thread {wrote.json()}"

        tasks = floor.start(seed)
        await asyncio.sleep(max(3.0, LOAD_SECONDS))
        await stop(tasks)

        last, _ = await site.all_applied(SETTLE)
        differences = await _copies_differ(site, owner)
        audits.say(f"every instance applied event {last}; /agents and /queue compared on {len(site.running)}")
        spread = Counter(w.instance for w in site.writes if w.status is not None)
        audits.say(f"writes answered by instance {dict(sorted(spread.items()))}")
        audits.add("followers answering other than the owner", differences)
        audits.add(
            "instances the load's writes did not reach",
            [f"{i} answered {spread.get(i.name, 0)} writes" for i in site.running if spread.get(i.name, 0) < 10],
        )
        picture = await _settled(site)
        await _common_audits(site, audits, picture)
        audits.add(
            "log lines per forwarded request (the forwarder's HTTP client at INFO)",
            [f"{i}: {line}" for i in site.instances for line in i.log_text().splitlines() if "HTTP Request:" in line],
        )
    audits.check()


def _timeless(queue: dict[str, Any]) -> dict[str, Any]:
    """The queue without the waits, which each instance counts to its own moment of reading."""
    items = [{k: v for k, v in item.items() if k != "waiting_seconds"} for item in queue["items"]]
    return {**{k: v for k, v in queue.items() if k != "oldest_wait_seconds"}, "items": items}


async def _copies_differ(site: InstancesSite, owner: Instance) -> list[str]:
    """GET /agents and GET /queue on every follower against the owner's, read while all hold
    the same last event (read again if a timer fired meanwhile)."""
    problems: list[str] = []
    for _ in range(20):
        before, _ = await site.all_applied(SETTLE)
        answers = {}
        for instance in site.running:
            agents = await site.send_to(instance, site.admin, "GET", "/agents")
            queue = await site.send_to(instance, site.admin, "GET", "/queue?limit=1000")
            assert agents is not None and queue is not None, f"{instance} did not answer"
            answers[instance.name] = (agents.json(), _timeless(queue.json()))
        after, _ = await site.all_applied(SETTLE)
        if after != before:
            continue
        theirs = answers[owner.name]
        problems = []
        for name, mine in answers.items():
            for label, a, b in (("/agents", mine[0], theirs[0]), ("/queue", mine[1], theirs[1])):
                if (difference := inst.different(f"{name} {label} against the owner {owner.name}", a, b)) is not None:
                    problems.append(difference)
        return problems
    raise AssertionError("the instances never held still long enough to compare them")


# -- 2. the owner killed -------------------------------------------------------------


async def test_owner_killed_again_and_again_under_load_loses_nothing_acknowledged_and_no_event(
    own_database: Database, redis_server: PrivateRedis, tmp_path: Path
) -> None:
    """Everywhere ("acknowledged is never lost", "timers survive"), S6, S7, R7, through SIGKILLs
    of the owner at random moments: a follower takes over (a new epoch), the killed process
    comes back as a new instance; dashboards on every instance miss nothing."""
    seed = _seed()
    print(f"\ninstances seed {seed}: {KILLS} kills of the owner, up to {LOAD_SECONDS}s of load before each")
    rng = random.Random(seed)
    audits = Audits(seed)
    armed: list[audit.Armed] = []
    kills: list[float] = []
    seen_owner: list[float] = []
    fresh_won = 0  # takeovers won by the instance just started in the killed one's place
    async with opened(own_database, tmp_path, redis_server, seed) as site:
        try:
            owner, epoch = await site.owner(STARTUP)
            floor, sentinels = await open_floor(
                site, sentinels=KILLS, response_timeout=RESPONSE_TIMEOUT, prompt_timeout=PROMPT_TIMEOUT
            )
            boards = await _dashboards(site, floor, list(site.running))
            tasks = floor.start(seed)
            for round_no, sentinel in enumerate(sentinels, start=1):
                site.round = round_no
                thread_id = await arm_sentinel(site, floor, sentinel, round_no)
                await asyncio.sleep(rng.uniform(0.5, LOAD_SECONDS))
                survivors = [i for i in site.running if i is not owner]
                killed = site.kill(owner)
                kills.append(killed)
                armed.append(audit.Armed(sentinel, thread_id, killed))
                # The killed process comes back as a new instance; it contends for the lease at
                # once, like the others (its copy is read before), so it may be the one to win.
                fresh = site.new_instance()
                coming = asyncio.create_task(site.start_instance(fresh))
                new_owner, new_epoch = await site.owner(TAKEOVER_BOUND, among=[*survivors, fresh], starting=[fresh])
                seen_owner.append(time.time() - killed)
                assert new_epoch > epoch, f"round {round_no}: {new_owner} owns under epoch {new_epoch}, was {epoch}"
                owner, epoch = new_owner, new_epoch
                fresh_won += owner is fresh
                await coming
            try:
                kicked = [await kicked_out(site, s, RESPONSE_TIMEOUT + PROMPT_TIMEOUT) for s in sentinels]
            except AssertionError as error:
                error.add_note(await _sentinels_story(site, armed))
                raise
            await stop(tasks)
            site.round += 1
            picture = await _settled(site)
            streams = await _dashboard_problems(site, boards)
        except BaseException as error:
            error.add_note(f"seed {seed}; {await _state(site)}")
            raise
        takeovers = inst.takeover_seconds(kills, site.writes)
        audits.say(
            f"SIGKILL to a new owner on /healthz: {inst.figures(list(seen_owner))}; "
            f"{fresh_won} of {len(kills)} won by the instance started in the killed one's place"
        )
        audits.say(f"SIGKILL to the first write acknowledged by the new owner: {inst.figures(takeovers)}")
        audits.say(
            f"dashboards: {len(boards)}, {sum(len(b.ids) for b in boards)} events received, "
            f"{sum(len(b.connections) - 1 for b in boards)} reconnections"
        )
        log = audit.StatusLog(picture["log"])
        audits.add(
            "S6 through a takeover",
            audit.sentinel_problems(armed, kicked, log, picture["journal"], prompted_after_fault=True),
        )
        audits.add("dashboards' streams", streams)
        audits.add(
            "kills after which no write was acknowledged",
            [f"kill {n}" for n, t in enumerate(takeovers, start=1) if t is None],
        )
        await _common_audits(site, audits, picture)
    audits.check()


async def _sentinels_story(site: InstancesSite, armed: list[audit.Armed]) -> str:
    """Every journal event about the sentinels and their threads, and the command log's
    epochs around: what happened to S6's timers."""
    ids = {a.sentinel.id for a in armed}
    threads = {a.thread_id for a in armed}
    told = [
        f"{e.id} {e.at:.3f} {e.name} {e.data}"
        for e in await site.ledger.events()
        if e.data.get("agent_id") in ids or e.data.get("thread_id") in threads or e.data.get("to_agent_id") in ids
    ]
    kills = [f"{a.sentinel.username}: thread {a.thread_id}, kill at {a.fault:.3f}" for a in armed]
    return "the sentinels: " + "; ".join(kills) + "\n  their events:\n    " + "\n    ".join(told)


# -- 3. fencing ------------------------------------------------------------------------


@pytest.mark.parametrize("moment", ["anywhere", "mid-commit"])
async def test_a_paused_owner_is_replaced_and_once_resumed_commits_nothing_and_follows(
    own_database: Database, redis_server: PrivateRedis, tmp_path: Path, moment: str
) -> None:
    """docs/scale-out.md, "Ownership and fencing": the owner frozen (SIGSTOP) past its lease
    is replaced under a new epoch while writes go on; resumed (SIGCONT), it commits nothing
    under its old epoch (writes sent to it while frozen are answered by the new owner or
    refused, never committed by it), says it lost the workspace, and follows the new owner.

    `anywhere`: frozen wherever the load finds it. `mid-commit`: frozen between two
    statements of a commit, its fence's lock on the lease row held (its commit stalled on
    a table lock held here, the owner frozen, the lock let go): the takeover must not
    wait for it to resume."""
    seed = _seed()
    print(f"\ninstances seed {seed}: the owner paused past its lease, {moment}")
    audits = Audits(seed)
    async with opened(own_database, tmp_path, redis_server, seed) as site:
        try:
            floor, _ = await open_floor(
                site, sentinels=0, response_timeout=RESPONSE_TIMEOUT, prompt_timeout=PROMPT_TIMEOUT
            )
            tasks = floor.start(seed)
            await asyncio.sleep(1.0)
            old, old_epoch = await site.owner(SETTLE)
            others = [i for i in site.running if i is not old]
            site.out_of_rotation.add(old.name)  # as a load balancer would, once it stops answering
            if moment == "mid-commit":
                await _freeze_in_a_commit(site, old)
            else:
                old.pause()
            paused = time.time()
            # Writes sent straight to the frozen owner: they wait in its socket until it resumes.
            stuck = [asyncio.create_task(_client_message(site, floor, old, n)) for n in range(5)]
            new, new_epoch = await site.owner(TAKEOVER_BOUND, among=others)
            took_over = time.time()
            assert new_epoch > old_epoch, f"{new} owns under epoch {new_epoch}; the frozen {old} had {old_epoch}"

            def acknowledged_since() -> list[Write]:
                return [w for w in site.writes if w.status is not None and w.status < 300 and w.last_sent > took_over]

            async def going_on() -> bool:
                return len(acknowledged_since()) >= 20

            # Writes go on under the new owner, the old one still frozen: the load's, once the
            # followers' attempts held by the frozen owner have timed out (ATTEMPT_TIMEOUT).
            await poll(going_on, ATTEMPT_TIMEOUT + SETTLE, "writes acknowledged while the old owner is frozen")
            meanwhile = acknowledged_since()
            first_write = min(w.received for w in meanwhile) - took_over
            before = Counter(row.epoch for row in await site.ledger.command_log())
            old.resume()
            resumed = time.time()

            async def following() -> dict[str, Any] | None:
                health = await site.health(old)
                lease = await site.ledger.lease()
                if health is None or health["role"] != "follower" or lease is None:
                    return None
                return health if health.get("epoch") == lease[1] else None

            health = await poll(following, SETTLE, f"{old}, resumed, following under the new epoch")
            site.out_of_rotation.discard(old.name)
            results = await asyncio.gather(*stuck)
            await asyncio.sleep(1.0)  # the load through all three again
            await stop(tasks)
            picture = await _settled(site)
        except BaseException as error:
            error.add_note(f"seed {seed}; {await _state(site)}")
            raise
        after = Counter(row.epoch for row in await site.ledger.command_log())
        audits.say(
            f"paused {old} (epoch {old_epoch}); {new} owned under epoch {new_epoch} {took_over - paused:.2f}s later; "
            f"the first write acknowledged {first_write:.2f}s after that, {len(meanwhile)} while it was frozen; "
            "resumed after "
            f"{resumed - paused:.2f}s, following under epoch {health['epoch']}; the writes sent to it: {results}"
        )
        audits.add(
            "commits of the resumed owner under its old epoch",
            [f"epoch {old_epoch}: {before[old_epoch]} rows while frozen, {after[old_epoch]} after"]
            if after[old_epoch] != before[old_epoch]
            else [],
        )
        audits.add(
            "the resumed owner's log",
            []
            if old_epoch in old.lost_epochs()
            else [f"{old} never logged losing epoch {old_epoch}: {old.lost_epochs()}"],
        )
        await _common_audits(site, audits, picture)
    audits.check()


async def _freeze_in_a_commit(site: InstancesSite, owner: Instance) -> None:
    """SIGSTOP the owner between two statements of a commit: its next commit writing the
    status log waits for a lock held here (its fence passed, the lease row locked); the
    owner is frozen; the lock is let go. The commit's transaction stands open, its owner
    silent."""

    async def waiting() -> bool:
        return await site.ledger.waiting_on_status_log() > 0

    async with site.ledger.holding_status_log():
        await poll(waiting, SETTLE, "the owner's commit waiting for the status log")
        owner.pause()


async def _client_message(site: InstancesSite, floor: Floor, instance: Instance, n: int) -> int | None:
    """A client's message sent first to `instance` (then elsewhere, under the same key, as the
    client's retries go); its final status."""
    with first_to(instance):
        response = await site.call(
            floor.integration, "POST", "/threads", {"client_id": f"frozen-{n}", "text": floor.text("frozen")}
        )
    return response.status_code if response is not None else None


async def test_a_write_a_follower_is_forwarding_when_it_becomes_the_owner_is_applied_there(
    own_database: Database, redis_server: PrivateRedis, tmp_path: Path
) -> None:
    """A follower forwards a write to the owner, which is frozen; meanwhile the follower
    itself takes the workspace over (it is the only other instance). Once its attempt at
    the frozen owner has timed out, the write runs where it is, now the owner's: applied and
    answered, not sent round again to nobody until the forwarder gives up (503)."""
    seed = _seed()
    async with opened(own_database, tmp_path, redis_server, seed, count=2) as site:
        try:
            old, _ = await site.owner(STARTUP)
            [follower] = [i for i in site.running if i is not old]
            integration = await site.person("webchat", "integration")
            old.pause()
            sent = time.monotonic()
            answer = await site.send_to(
                follower, integration, "POST", "/threads", {"client_id": "c", "text": "while it takes over"}, 30
            )
            took = time.monotonic() - sent
            health = await site.health(follower)
        except BaseException as error:
            error.add_note(await _state(site))
            raise
        finally:
            old.resume()
    assert answer is not None and answer.status_code == 201, (
        f"{follower}, owner by then ({health}), answered {answer and answer.status_code} "
        f"{answer and answer.text} after {took:.1f}s"
    )
    assert took < FORWARD_WAIT, f"answered after {took:.1f}s: the forwarder waited out its {FORWARD_WAIT}s"
    messages = await site.ledger.messages()
    assert messages[("client", "while it takes over")] == 1, messages


# -- 4. Redis and PostgreSQL restarted ---------------------------------------------


def _cluster() -> tuple[str, str] | str:
    """The local PostgreSQL cluster the tests use, as (version, name); or why it cannot be
    restarted from here."""
    if not PG_ADMIN.startswith("postgresql://postgres@127.0.0.1:5432/"):
        return f"the tests' PostgreSQL ({PG_ADMIN}) is not the local cluster on 127.0.0.1:5432"
    if shutil.which("pg_ctlcluster") is None:
        return "pg_ctlcluster is not installed: the local PostgreSQL cannot be restarted"
    if os.geteuid() != 0:
        return "restarting PostgreSQL with pg_ctlcluster needs root"
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if len(versions) != 1 or not os.path.isdir(f"/etc/postgresql/{versions[0]}/main"):
        return f"not exactly one PostgreSQL cluster 'main' under /etc/postgresql: {versions}"
    return versions[0], "main"


def _pg_ctl(action: str) -> subprocess.CompletedProcess[str]:
    cluster = _cluster()
    assert not isinstance(cluster, str), cluster
    version, name = cluster
    return subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _restart_postgres() -> subprocess.CompletedProcess[str]:
    """Restarts the cluster once no other test is using it (the suite's other workers)."""
    with postgres_alone():
        return _pg_ctl("restart")


def _ensure_postgres() -> None:
    """PostgreSQL is left running, whatever happened."""
    if _pg_reachable() is None or isinstance(_cluster(), str):
        return
    _pg_ctl("start")
    end = time.monotonic() + 30
    while _pg_reachable() is not None and time.monotonic() < end:
        time.sleep(0.2)


@pytest.mark.restarts_postgres
async def test_every_instance_recovers_by_itself_from_redis_and_postgresql_restarts_losing_nothing(
    own_database: Database, redis_server: PrivateRedis, tmp_path: Path
) -> None:
    """Redis shut down and started again mid-load, then PostgreSQL restarted mid-load: every
    instance answers /healthz with an owner again within RECOVERY_BOUND, by itself; nothing
    acknowledged is lost; no dashboard misses an event."""
    cluster = _cluster()
    if isinstance(cluster, str):
        if IN_CI:
            pytest.fail(f"{cluster} (CI=true: the restart test must run)")
        pytest.skip(cluster)
    seed = _seed()
    rng = random.Random(seed)
    print(f"\ninstances seed {seed}: Redis and PostgreSQL restarted")
    audits = Audits(seed)
    async with opened(own_database, tmp_path, redis_server, seed) as site:
        try:
            await site.owner(STARTUP)
            floor, _ = await open_floor(
                site, sentinels=0, response_timeout=RESPONSE_TIMEOUT, prompt_timeout=PROMPT_TIMEOUT
            )
            boards = await _dashboards(site, floor, list(site.running))
            tasks = floor.start(seed)

            await asyncio.sleep(rng.uniform(0.5, LOAD_SECONDS))
            down = time.time()
            await asyncio.to_thread(redis_server.shutdown)
            await asyncio.sleep(rng.uniform(0.5, LOAD_SECONDS))  # the load without Redis
            await asyncio.to_thread(redis_server.start)
            redis_away = time.time() - down
            back = time.time()

            async def subscribed_again() -> bool:
                names = await asyncio.to_thread(redis_server.client_names)
                return all(f"onduty-{i.name}-sub" in names for i in site.running)

            # Each instance listens on the channel again by itself (RedisFanOut reconnects).
            await poll(subscribed_again, RECOVERY_BOUND, "every instance subscribed to Redis again")
            resubscribed = time.time() - back
            await site.owner(RECOVERY_BOUND)

            await asyncio.sleep(rng.uniform(0.5, LOAD_SECONDS))
            restarting = time.time()
            restarted = await asyncio.to_thread(_restart_postgres)
            assert restarted.returncode == 0, f"pg_ctlcluster restart: {restarted.stdout} {restarted.stderr}"
            postgres_back = time.time() - restarting
            owner, epoch = await site.owner(RECOVERY_BOUND)
            recovered = time.time() - restarting
            await asyncio.sleep(rng.uniform(0.5, LOAD_SECONDS))  # the load after both
            await stop(tasks)
            picture = await _settled(site)
            streams = await _dashboard_problems(site, boards)
        except BaseException as error:
            error.add_note(f"seed {seed}; {await _state(site)}")
            raise
        finally:
            await asyncio.to_thread(_ensure_postgres)
        audits.say(
            f"Redis away {redis_away:.2f}s, every instance subscribed again {resubscribed:.2f}s after it was back; "
            f"PostgreSQL restarted in {postgres_back:.2f}s, an owner again "
            f"({owner}, epoch {epoch}) and every instance answering {recovered:.2f}s after the restart began"
        )
        audits.say(
            f"dashboards: {len(boards)}, {sum(len(b.ids) for b in boards)} events received, "
            f"{sum(len(b.connections) - 1 for b in boards)} reconnections"
        )
        audits.add("dashboards' streams", streams)
        await _common_audits(site, audits, picture)
    audits.check()


# -- 5. S8 across instances --------------------------------------------------------------


async def test_s8_an_agents_stream_lives_through_the_owners_death_and_moves_with_its_instance(
    own_database: Database, redis_server: PrivateRedis, tmp_path: Path
) -> None:
    """S8 with several instances: an agent's page connected to a follower stays connected,
    with no grace begun, when the owner dies; when its own instance dies, the grace begins
    (the owner drops a gone instance's connections once its heartbeat lapsed), and the page
    reconnecting to another instance within it brings nobody a status change."""
    seed = _seed()
    print(f"\ninstances seed {seed}: S8")
    async with opened(own_database, tmp_path, redis_server, seed) as site:
        owner, _ = await site.owner(STARTUP)
        await site.must(site.admin, "PATCH", "/settings", {"disconnect_grace": 60, "idle_timeout": 0})
        ann = await site.person("ann", "agent")
        await site.must(ann, "POST", "/me/login")
        await site.must(ann, "PUT", "/me/status", {"state": "active"})
        page_on = next(i for i in site.running if i is not owner)
        headers = {"Authorization": f"Bearer {ann.token}"}

        async def row() -> dict[str, Any]:
            answer: dict[str, Any] = await site.must(site.admin, "GET", f"/agents/{ann.id}")
            return answer

        async def connected(value: bool) -> dict[str, Any] | None:
            seen = await row()
            return seen if seen["connected"] is value else None

        before = await site.ledger.last_event_id()
        async with connect(instance_stream_url(page_on, 0), additional_headers=headers) as _page:
            await poll(lambda: connected(True), 10, f"ann connected through {page_on}")
            site.kill(owner)
            await site.owner(TAKEOVER_BOUND)
            await asyncio.sleep(INSTANCE_HEARTBEAT_SECONDS + 1)  # the dead owner's connections are dropped by now
            seen = await row()
            assert (seen["connected"], seen["disconnect_deadline"], seen["status"]["state"]) == (
                True,
                None,
                "active",
            ), f"the owner's death moved ann, whose page is on {page_on}: {seen}\n{_logs(site)}"
            dropped = [e for e in await site.ledger.events(after=before) if e.name == "agent.disconnected"]
            assert dropped == [], f"the owner's death disconnected ann, whose page is on {page_on}: {dropped}"
            site.kill(page_on)
            await site.owner(TAKEOVER_BOUND)
            gone = await poll(lambda: connected(False), 15, f"ann's connection dropped with {page_on}")
            assert gone["disconnect_deadline"] is not None and gone["status"]["state"] == "active", gone
        elsewhere = site.running[0]
        async with connect(instance_stream_url(elsewhere, 0), additional_headers=headers) as _page:
            back = await poll(lambda: connected(True), 10, f"ann connected again through {elsewhere}")
            assert (back["disconnect_deadline"], back["status"]["state"]) == (None, "active"), back
        moved = [
            e
            for e in await site.ledger.events(after=before)
            if e.name == "agent.status_changed" and e.data["agent_id"] == ann.id
        ]
        assert moved == [], f"S8 moved ann though her page was back within the grace: {moved}"
