"""`onduty serve --demo`: a sample team in an empty database, and how to sign in.

The demo is for a newcomer looking around, so it must not act like a busy floor on
them: nobody starts `active`, so the sample threads wait in the queue (R6, which the
supervisor's page explains) until the newcomer makes an agent Active; and its
timeouts are long, so that nobody is asked "continue working?" and kicked out (S6)
while they read the pages.
"""

from __future__ import annotations

import click

from onduty.domain import commands as c
from onduty.domain.types import Actor, State
from onduty.storage.database import Database
from onduty.web import schemas as s
from onduty.web.context import AppContext
from onduty.web.routes_admin import create

TEAM = "support"
# (username, role, display name, their status when the demo starts: a state, a reason
# code, or None for not logged in). Nobody is `active`: see the module's docstring.
PEOPLE = (
    ("admin", "admin", "Ada Admin", None),
    ("sam", "supervisor", "Sam Supervisor", None),
    ("ann", "agent", "Ann Agent", "not_ready"),
    ("bob", "agent", "Bob Agent", "active_own_clients"),
    ("cai", "agent", "Cai Agent", "lunch"),
    ("dee", "agent", "Dee Agent", None),
    ("webchat", "integration", "Web chat", None),
)
SAMPLE_THREADS = (("client-1", "Hi, my order has not arrived."), ("client-2", "Can I change my plan?"))
# Ten minutes to answer a thread, two to confirm "continue working?" (defaults: 60 s, 30 s).
SETTINGS = {"response_timeout": 600.0, "prompt_timeout": 120.0}
_STATES = frozenset(state.value for state in State)


def password_of(username: str) -> str:
    return f"{username}-demo"


async def seed(ctx: AppContext) -> dict[str, str] | None:
    """Add the sample team when the database has no users; the tokens, by username."""
    if await ctx.accounts.all():
        return None
    await ctx.node.execute(c.ChangeSettings(dict(SETTINGS)))
    tokens: dict[str, str] = {}
    for username, role, name, doing in PEOPLE:
        created = await create(
            ctx,
            s.UserRequest(
                username=username,
                role=role,  # type: ignore[arg-type]
                name=name,
                password=password_of(username),
                team=TEAM if role in ("agent", "supervisor") else None,
            ),
        )
        tokens[username] = created.token
        if doing is not None:
            await _start(ctx, created.id, doing)
    for client, text in SAMPLE_THREADS:
        await ctx.node.execute(c.ReceiveClientMessage(client, text))
    return tokens


async def _start(ctx: AppContext, agent_id: int, doing: str) -> None:
    """Log the agent in (S5: not ready), then set what they are doing, as they would."""
    await ctx.node.execute(c.Login(agent_id))
    if doing == State.NOT_READY.value:
        return
    state, reason = (State(doing), None) if doing in _STATES else (State.INACTIVE, doing)
    await ctx.node.execute(c.SetStatus(agent_id, state, reason, Actor.agent(agent_id)))


def announce(db: Database, tokens: dict[str, str], base: str) -> None:
    click.echo(f"\nDemo team added to {db.shown()}. Sign in at {base}/login with username / password,")
    click.echo("or call the API with the person's token (Authorization: Bearer <token>):\n")
    click.echo(f"  {'role':<12} {'username':<9} {'password':<13} API token")
    for username, role, _, _ in PEOPLE:
        click.echo(f"  {role:<12} {username:<9} {password_of(username):<13} {tokens[username]}")
    click.echo(
        f"\nNobody starts Active, so the {len(SAMPLE_THREADS)} sample threads wait in the queue (R6): "
        "sign in as ann and choose Active to receive them."
    )
    click.echo(
        f"Demo timeouts: {_minutes(SETTINGS['response_timeout'])} to answer a thread before "
        f'"continue working?" (response_timeout), {_minutes(SETTINGS["prompt_timeout"])} to confirm '
        "(prompt_timeout); an admin changes them under Administration."
    )
    click.echo("\nFor example:")
    click.echo(f"  curl -H 'Authorization: Bearer {tokens['sam']}' {base}/api/v1/agents")
    click.echo(
        f"  curl -H 'Authorization: Bearer {tokens['webchat']}' -H 'Content-Type: application/json' "
        f'-d \'{{"client_id": "client-3", "text": "Hello!"}}\' {base}/api/v1/threads\n'
    )


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min"
