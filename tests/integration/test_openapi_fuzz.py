"""Schemathesis against a real `onduty serve` (SQLite, the demo team), as an admin and as an
agent, with every check it has (`--checks all`): each request it builds from /openapi.json,
valid or not, must get an answer the document describes, and nothing the document allows may
be refused (nor anything it forbids accepted).

Bounded for CI: a few cases per operation and phase, the same each run.
`ONDUTY_FUZZ_EXAMPLES=500` runs many more, drawn afresh (with `--timeout=0`: longer than the suite allows a test)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis import Case
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import positive_data_acceptance, use_after_free

from tests.serve_process import ServeProcess

EXAMPLES = int(os.environ.get("ONDUTY_FUZZ_EXAMPLES", "4"))
# CI's short run draws the same cases every time; a longer one, asked for, draws afresh.
DERANDOMIZE = "ONDUTY_FUZZ_EXAMPLES" not in os.environ
DEMO_PASSWORDS = {"admin": ("admin", "admin-demo"), "agent": ("ann", "ann-demo")}

# On one worker: the tests share one server (module-scoped), which another worker would start again.
pytestmark = pytest.mark.xdist_group("openapi_fuzz")

# `positive_data_acceptance` expects every request the document allows to be accepted. These
# operations refuse (400, naming the field) some such requests for rules that JSON Schema
# cannot state in this document: rules that depend on the workspace's catalogue or on another
# field or parameter. The check still runs everywhere else; the other checks run here too.
NOT_EXPRESSIBLE = {
    # S1-S3: a reason must be one of the catalogue's, and goes with `inactive` alone.
    "PUT /api/v1/me/status": "the reason must be in the catalogue and goes only with inactive",
    "PUT /api/v1/agents/{agent_id}/status": "the reason must be in the catalogue and goes only with inactive",
    # W2: `status=` takes a reason code from the catalogue (or a state, or active_free).
    "GET /api/v1/agents": "a status filter names a reason in the catalogue",
    "GET /api/v1/reports/status-log": "period/date or from/to, not both; from before to; a catalogue reason",
    "GET /api/v1/reports/workload": "period/date or from/to, not both; from before to",
    "PATCH /api/v1/settings": "at least one change; a known time zone; idle_timeout 0 or >= 120; a catalogue reason",
    "POST /api/v1/users": "only agents have a capacity, only agents and supervisors a team; usernames' characters",
    # A username has no control, invisible, private-use or unassigned character: Unicode's
    # categories, which this document's patterns cannot name portably (said in its description).
    "POST /api/v1/auth/token": "a username's characters",
    "POST /api/v1/reasons": "a reason code may not be the name of a status",
    "POST /api/v1/threads/{thread_id}/transfer": "threads go only to agents, by id",
    # C1: a message goes to a conversation or to a person, one of the two, never oneself; a read
    # mark names a message of the conversation.
    "POST /api/v1/chat/messages": "conversation_id or to_user_id, one of the two; not oneself",
    "POST /api/v1/chat/conversations/{conversation_id}/read": "up_to is a message of the conversation",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[ServeProcess]:
    workdir: Path = tmp_path_factory.mktemp("fuzz")
    shutil.copy(sqlite_template, workdir / "onduty.db")  # migrated: the server adds the demo team at once
    server = ServeProcess(f"sqlite:///{workdir / 'onduty.db'}", workdir, "--demo")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def tokens(server: ServeProcess) -> dict[str, str]:
    """A token per role, signed in as the demo's admin and agent (before the fuzzing starts
    failing sign-ins and the address is held back)."""
    found = {}
    for role, (username, password) in DEMO_PASSWORDS.items():
        answer = httpx.post(
            f"{server.base}/api/v1/auth/token", json={"username": username, "password": password}, timeout=30
        )
        assert answer.status_code == 200, answer.text
        found[role] = answer.json()["token"]
    return found


def schema_for(server: ServeProcess, tokens: dict[str, str], role: str) -> BaseSchema:
    """The document as the server serves it, each request signed with the role's token
    (schemathesis leaves it off where it checks that a missing token is refused)."""
    loaded = schemathesis.openapi.from_url(f"{server.base}/openapi.json")

    class Bearer:
        def get(self, case: Case[Any], ctx: Any) -> str:
            if case.operation.label == "POST /api/v1/auth/logout":  # it revokes the token it is sent with
                return throwaway_token(server, tokens["admin"], role)
            return tokens[role]

        def set(self, case: Case[Any], data: str, ctx: Any) -> None:
            case.headers["Authorization"] = f"Bearer {data}"

    loaded.auth.auth(refresh_interval=None)(Bearer)
    return loaded


@pytest.fixture(scope="module")
def admin_schema(server: ServeProcess, tokens: dict[str, str]) -> BaseSchema:
    return schema_for(server, tokens, "admin")


@pytest.fixture(scope="module")
def agent_schema(server: ServeProcess, tokens: dict[str, str]) -> BaseSchema:
    return schema_for(server, tokens, "agent")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """Schemathesis's lazy schemas read and rename a test's `_nodeid` (to name each
    operation), an attribute pytest 9 no longer sets."""
    node: Any = request.node
    if not hasattr(node, "_nodeid"):
        node._nodeid = node.nodeid


def throwaway_token(server: ServeProcess, admin_token: str, role: str) -> str:
    """A new user's token, for sign-out (which revokes the token it is sent with)."""
    answer = httpx.post(
        f"{server.base}/api/v1/users",
        json={"username": f"fuzz-{os.urandom(6).hex()}", "role": role},
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    token: str = answer.json()["token"]
    return token


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=list(HealthCheck),
)


# `use_after_free` expects a DELETEd resource to be gone (404). `DELETE /reasons/{code}` retires
# a reason (API.md, S1): it stays in the catalogue, marked retired, readable and relabelable,
# because past statuses and reports still name it.
RETIRED_NOT_DELETED = "/api/v1/reasons/{code}"


def excluded_checks(case: Case[Any]) -> list[Any]:
    excluded: list[Any] = [positive_data_acceptance] if case.operation.label in NOT_EXPRESSIBLE else []
    if case.operation.path == RETIRED_NOT_DELETED:
        excluded.append(use_after_free)
    return excluded


def call_and_validate(case: Case[Any]) -> None:
    case.call_and_validate(excluded_checks=excluded_checks(case), timeout=30)


@schemathesis.pytest.from_fixture("admin_schema").parametrize()
@FUZZ_SETTINGS
def test_every_answer_to_an_admin_matches_the_openapi_document(case: Case[Any]) -> None:
    call_and_validate(case)


@schemathesis.pytest.from_fixture("agent_schema").parametrize()
@FUZZ_SETTINGS
def test_every_answer_to_an_agent_matches_the_openapi_document(case: Case[Any]) -> None:
    call_and_validate(case)


def run_scenarios(loaded: BaseSchema) -> None:
    """Schemathesis's stateful phase: sequences of calls joined by the links it infers (an id
    one call answers, used by the next), each answer checked like the cases above."""
    base = loaded.as_state_machine()

    class Scenarios(base):  # type: ignore[valid-type,misc]
        def validate_response(self, response: Any, case: Case[Any], **kwargs: Any) -> None:
            case.validate_response(
                response,
                excluded_checks=excluded_checks(case),
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

    # What a step draws depends on what the server answered before (ids from earlier answers),
    # so on a long run Hypothesis can meet a scenario it cannot draw the same way twice.
    # Schemathesis's own runner ends the phase there as a success too; a check that failed
    # raises its own error, not this one.
    with contextlib.suppress(FlakyStrategyDefinition):
        Scenarios.run(
            settings=settings(
                max_examples=5 * EXAMPLES,  # a scenario is cheap: a few calls
                stateful_step_count=10,
                deadline=None,
                derandomize=DERANDOMIZE,
                suppress_health_check=list(HealthCheck),
            )
        )


def test_call_sequences_as_an_admin_match_the_openapi_document(admin_schema: BaseSchema) -> None:
    run_scenarios(admin_schema)


def test_call_sequences_as_an_agent_match_the_openapi_document(agent_schema: BaseSchema) -> None:
    run_scenarios(agent_schema)
