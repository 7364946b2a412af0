"""`onduty migrate` and `onduty users add`."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
import msgspec

from onduty.cli._db import database_option, open_database, run_on
from onduty.domain.errors import DomainError
from onduty.service.node import Node
from onduty.storage.database import Database
from onduty.storage.lease import Leases
from onduty.storage.migrate import upgrade
from onduty.storage.store import SqlStore
from onduty.storage.users import UserStore
from onduty.web import schemas as s
from onduty.web.context import AppContext
from onduty.web.errors import ApiError
from onduty.web.routes_admin import create

T = TypeVar("T")


class InstancesRunning(click.ClickException):
    pass


async def _refuse_beside_instances(db: Database) -> None:
    if db.is_sqlite:
        return
    leases = Leases(db)
    try:
        held = await leases.current()
    finally:
        await leases.close()
    if held is not None and not held.lapsed:
        raise InstancesRunning(
            f"instances run on {db.shown()} (instance {held.owner} owns the workspace): make this change through "
            "the API (POST /api/v1/users as an admin), or stop them first"
        )


@click.command()
@database_option
def migrate(database_url: str | None) -> None:
    """Bring a database to the current schema (serve does it too)."""
    db = open_database(database_url)
    run_on(db, upgrade(db))
    click.echo(f"{db.shown()}: schema is current")


@click.group()
def users() -> None:
    """Manage users."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["agent", "supervisor", "admin", "integration"]), required=True)
@click.option("--team", default=None, help="Team (created if new); agents and supervisors only.")
@click.option("--capacity", type=click.IntRange(1, 1000), default=None, help="Threads at once (agents).")
@click.option("--password", default=None, help="Lets the user sign in on the web pages (8+ characters).")
@database_option
def add_user(
    name: str, role: str, team: str | None, capacity: int | None, password: str | None, database_url: str | None
) -> None:
    """Create a user and print {"id", "username", "role", "token"} as JSON."""
    db = open_database(database_url)
    try:
        created = run_on(db, create_user(db, name, role, team, capacity, password))
    except (ApiError, DomainError) as error:
        field = getattr(error, "field", None)
        raise click.UsageError(f"{field + ': ' if field else ''}{error.message}") from None
    click.echo(
        json.dumps({"id": created.id, "username": created.username, "role": created.role, "token": created.token})
    )


async def create_user(
    db: Database, name: str, role: str, team: str | None, capacity: int | None, password: str | None
) -> s.CreatedUser:
    """What `onduty users add` does: the database migrated, then the user created as the API
    creates one. ApiError or DomainError for what the API would refuse."""
    try:
        request = msgspec.convert(
            {"username": name, "role": role, "team": team, "capacity": capacity, "password": password},
            s.UserRequest,
        )
    except msgspec.ValidationError as error:
        raise ApiError(400, "invalid", str(error)) from None
    await upgrade(db)
    return await with_service(db, lambda ctx: create(ctx, request))


async def with_service(db: Database, work: Callable[[AppContext], Awaitable[T]]) -> T:
    """Run `work(ctx)` against a short-lived service on `db` (the same code path as the server).
    Refused while instances joined by --redis run on the database: a second writer beside
    their owner would commit what their engines never applied."""
    await _refuse_beside_instances(db)
    store = SqlStore(db)
    node = Node(db, store)
    await node.start()
    ctx = AppContext(node, UserStore(store))
    try:
        return await work(ctx)
    finally:
        ctx.passwords.close()
        await node.stop()
        await store.close()
