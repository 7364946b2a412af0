"""`onduty serve --demo`: a sample team in an empty database, and how to sign in."""

from __future__ import annotations

import click

from onduty.domain import commands as c
from onduty.domain.types import Actor, State
from onduty.storage.database import Database
from onduty.web import schemas as s
from onduty.web.context import AppContext
from onduty.web.routes_admin import create

TEAM = "support"
# (username, role, display name, what they are doing when the demo starts)
PEOPLE = (
    ("admin", "admin", "Ada Admin", None),
    ("sam", "supervisor", "Sam Supervisor", None),
    ("ann", "agent", "Ann Agent", "active"),
    ("bob", "agent", "Bob Agent", "active"),
    ("cai", "agent", "Cai Agent", "lunch"),
    ("dee", "agent", "Dee Agent", None),
    ("webchat", "integration", "Web chat", None),
)


def password_of(username: str) -> str:
    return f"{username}-demo"


async def seed(ctx: AppContext) -> dict[str, str] | None:
    """Add the sample team when the database has no users; the tokens, by username."""
    if await ctx.users.all():
        return None
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
            await ctx.service.execute(c.Login(created.id))
            state, reason = (State.ACTIVE, None) if doing == "active" else (State.INACTIVE, doing)
            await ctx.service.execute(c.SetStatus(created.id, state, reason, Actor.agent(created.id)))
    for client, text in (("client-1", "Hi, my order has not arrived."), ("client-2", "Can I change my plan?")):
        await ctx.service.execute(c.ReceiveClientMessage(client, text))
    return tokens


def announce(db: Database, tokens: dict[str, str], base: str) -> None:
    click.echo(f"\nDemo team added to {db.shown()}. Sign in with username / password:")
    for username, role, _, _ in PEOPLE:
        click.echo(f"  {role:<12} {username:<8} {password_of(username)}")
    click.echo("\nOr call the API with a token, for example:")
    click.echo(f"  curl -H 'Authorization: Bearer {tokens['sam']}' {base}/api/v1/agents")
    click.echo(
        f"  curl -H 'Authorization: Bearer {tokens['webchat']}' -H 'Content-Type: application/json' "
        f'-d \'{{"client_id": "client-3", "text": "Hello!"}}\' {base}/api/v1/threads\n'
    )
