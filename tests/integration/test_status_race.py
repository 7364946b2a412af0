"""Race test: several writers on one agent's status, as fast as they can, on a real
`onduty serve` (SQLite and PostgreSQL); every acknowledged answer compared with the status
log (S7).

Three writers: two clients of the agent themself (two sign-ins, S2) and their supervisor
(from the agent's card, S2). Each writer has statuses of its own and goes back and forth
between them, so every request changes the status and every answer says whose it is:

- A (the agent's first client): active <-> inactive/lunch
- B (the agent's second client): inactive/meeting <-> inactive/training
- S (the supervisor): active_own_clients <-> inactive/technical_break

What must hold ("no answer shows what was not saved"; the answer to a command is that
command's committed outcome):

- without a kill: every answer shows its own writer's requested status, set by that
  writer, and exactly the log row that request wrote (state, reason, since, set_by); each
  writer's rows in the log are its acknowledged requests, in order, one for one;
- with SIGKILL while the writers run (and a restart, several times): every status an
  acknowledged answer showed is in the log (a row set exactly it), and every acknowledged
  request's change is there.

To catch an answer built from state the server had not saved yet, the kill variant widens the
window between applying a batch and saving it: now and then another writer holds the
database's write lock for a moment (as an operator's `onduty users add` beside the server
may; a slow disk does the same). The server is killed the moment a client receives, while
that lock is held, an answer showing another writer's status (more than its own command
did), or else at a seeded random moment. The
seed is printed; ONDUTY_RACE_SEED replays one. Long runs:

    ONDUTY_RACE_REQUESTS=5000 ONDUTY_RACE_KILLS=40 pytest tests/integration/test_status_race.py -s --timeout=0

ONDUTY_RACE_REQUESTS: requests per writer without a kill (default 150). ONDUTY_RACE_KILLS:
kills in the kill variant (default 3).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from onduty.storage.database import Database
from tests.integration import crash_audit as audit
from tests.integration.crash_site import Ack, CrashSite, OutsideWriter, Person

# The fault tests load the machine: one worker runs them one after another (pyproject: -n 2).
pytestmark = pytest.mark.xdist_group("faults")

REQUESTS = int(os.environ.get("ONDUTY_RACE_REQUESTS", "150"))
KILLS = int(os.environ.get("ONDUTY_RACE_KILLS", "3"))


@dataclass(frozen=True, slots=True)
class Writer:
    name: str
    who: Person
    path: str
    statuses: tuple[tuple[str, str | None], tuple[str, str | None]]

    def body(self, turn: int) -> dict[str, Any]:
        state, reason = self.statuses[turn % 2]
        return {"state": state} if reason is None else {"state": state, "reason": reason}

    def owns(self, state: str, reason: str | None) -> bool:
        return (state, reason) in self.statuses

    def set(self, row_status: dict[str, Any], actor: dict[str, Any]) -> bool:
        """This writer's request set that status (a status and its author, as the API shows them)."""
        return self.owns(row_status["state"], row_status["reason"]) and audit.actor_key(actor) == (
            self.who.role,
            self.who.id,
            None,
        )


async def _writers(site: CrashSite) -> tuple[Person, list[Writer]]:
    agent = await site.person("racer", "agent", password="racer-password-1")
    supervisor = await site.person("sue", "supervisor")
    # The agent's second client: a second sign-in, a token of its own.
    signed_in = await site.must(
        site.admin, "POST", "/auth/token", {"username": "racer", "password": "racer-password-1"}
    )
    second = Person(agent.id, agent.username, "agent", signed_in["token"])
    await site.must(agent, "POST", "/me/login")  # not_ready: none of the writers' statuses
    return agent, [
        Writer("A", agent, "/me/status", (("active", None), ("inactive", "lunch"))),
        Writer("B", second, "/me/status", (("inactive", "meeting"), ("inactive", "training"))),
        Writer(
            "S",
            supervisor,
            f"/agents/{agent.id}/status",
            (("active_own_clients", None), ("inactive", "technical_break")),
        ),
    ]


def _writer_of(writers: list[Writer], ack: Ack) -> Writer:
    return next(w for w in writers if w.who.token == ack.who.token)


def _foreign(writer: Writer, answer: dict[str, Any]) -> bool:
    """The answer shows a status its own command did not set."""
    return not writer.set(answer, answer["set_by"])


async def _race(
    site: CrashSite, writers: list[Writer], requests: int | None, on_foreign: Callable[[], None] = lambda: None
) -> None:
    """Every writer as fast as it can: `requests` each, or until the server goes away."""

    async def run(writer: Writer) -> None:
        turn = 0
        while requests is None or turn < requests:
            response = await site.call(writer.who, "PUT", writer.path, writer.body(turn))
            if response is None:
                return  # killed under it
            assert response.status_code == 200, f"{writer.name}: {response.status_code} {response.text}"
            if _foreign(writer, response.json()):
                on_foreign()
            turn += 1

    await asyncio.gather(*(run(w) for w in writers))


def _own_outcome_problems(writers: list[Writer], acks: list[Ack], log: audit.StatusLog, agent_id: int) -> list[str]:
    """Each answer shows its own command's committed outcome, and each writer's log rows are its
    acknowledged requests, one for one, in order."""
    problems = []
    for writer in writers:
        mine = [a for a in acks if a.who.token == writer.who.token and a.method == "PUT"]
        rows = [r for r in log.rows.get(agent_id, []) if writer.set(r["to"], r["actor"])]
        if len(rows) != len(mine):
            problems.append(f"{writer.name}: {len(mine)} acknowledged requests, {len(rows)} rows of theirs in the log")
        for ack, row in zip(mine, rows, strict=False):
            asked = (ack.body["state"], ack.body.get("reason"))
            if (row["to"]["state"], row["to"]["reason"]) != asked:
                problems.append(f"{writer.name}: asked {asked}; their row in that place is {audit.brief(row)}")
            elif audit.shown_key(ack.answer) != audit.row_key(row):
                problems.append(
                    f"{writer.name}: asked {asked}, the answer shows {ack.answer['state']}:{ack.answer['reason']} "
                    f"since {ack.answer['since']} by {ack.answer['set_by']}; the request's row is {audit.brief(row)}"
                )
    return problems


async def test_s7_each_answer_shows_its_own_committed_status_while_writers_race(
    database: Database, tmp_path: Path
) -> None:
    """S2, S7: two clients of one agent and their supervisor change the agent's status as
    fast as they can; each answer shows that request's own outcome, as the log has it."""
    async with CrashSite(database.url, tmp_path) as site:
        site.open()
        agent, writers = await _writers(site)
        site.round = 1
        await _race(site, writers, REQUESTS)
        log = audit.StatusLog(await site.status_log())
    acks = [a for a in site.calls.acks if a.method == "PUT"]
    foreign = [a for a in acks if _foreign(_writer_of(writers, a), a.answer)]
    unsaved, checked = audit.answers_show_only_what_was_saved(acks, log)
    own = _own_outcome_problems(writers, acks, log, agent.id)
    chain = audit.status_log_is_a_chain(log)
    print(
        f"\nrace ({database.url.split(':')[0]}): {len(acks)} answers; {len(foreign)} showed another writer's status, "
        f"{len(unsaved)} a status not in the log or not in effect while they ran, {len(own)} own-outcome problems"
    )
    report = (
        audit.section("answers showing another writer's status", [audit.describe(a) for a in foreign])
        + audit.section("answers showing what the log does not hold there", unsaved)
        + audit.section("answers and log rows out of step", own)
        + audit.section("status log not a chain (S7)", chain)
    )
    assert checked == len(acks) == 3 * REQUESTS, report
    assert not chain, report
    assert not foreign, report
    assert not unsaved, report
    assert not own, report


async def test_s7_no_answer_shows_a_status_lost_to_sigkill_while_writers_race(
    database: Database, tmp_path: Path
) -> None:
    """Everywhere ("acknowledged is never lost"), S7: the racing writers of the test above, the
    server killed with SIGKILL while they run and started again, several times; every status
    an acknowledged answer showed is in the log, and every acknowledged change is."""
    seed = int(os.environ.get("ONDUTY_RACE_SEED", random.randrange(2**32)))
    print(f"\nrace seed {seed} ({database.url.split(':')[0]}, {KILLS} kills)")
    rng = random.Random(seed)
    triggered = 0
    outside = OutsideWriter(database)
    async with CrashSite(database.url, tmp_path) as site:
        site.open()
        _, writers = await _writers(site)
        for round_no in range(1, KILLS + 1):
            site.round = round_no
            suspicious = asyncio.Event()

            def on_foreign(suspicious: asyncio.Event = suspicious) -> None:
                if outside.holding:  # an answer shows another writer's status while nothing can be saved
                    suspicious.set()

            race = asyncio.create_task(_race(site, writers, None, on_foreign))
            stalls = asyncio.create_task(outside.now_and_then(random.Random(rng.random())))
            try:
                await asyncio.wait_for(suspicious.wait(), rng.uniform(0.5, 2.0))
                triggered += 1
            except TimeoutError:
                pass
            site.crash()  # at once: nothing runs between the suspicious answer and the kill but this
            await race
            stalls.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stalls
            await site.restart()
        log = audit.StatusLog(await site.status_log())
    acks = [a for a in site.calls.acks if a.method == "PUT"]
    unsaved, checked = audit.answers_show_only_what_was_saved(acks, log)
    lost, _ = audit.acknowledged_writes_kept(acks, log, [], {}, {})
    foreign = [a for a in acks if _foreign(_writer_of(writers, a), a.answer)]
    chain = audit.status_log_is_a_chain(log)
    print(
        f"race seed {seed}: {len(acks)} answers over {KILLS} kills ({triggered} right after an answer showing "
        f"another writer's status); {len(unsaved)} showed a status the log does not hold there, "
        f"{len(foreign)} showed another writer's status; {len(lost)} acknowledged changes missing"
    )
    report = (
        f"seed {seed}:"
        + audit.section("answers showing a status not saved (or not in effect then)", unsaved)
        + audit.section("acknowledged changes missing", lost)
        + audit.section("status log not a chain (S7)", chain)
    )
    assert checked == len(acks) > 0, report
    assert not lost, report
    assert not chain, report
    assert not unsaved, report
