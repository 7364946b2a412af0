"""`onduty serve`: the service and its pages."""

from __future__ import annotations

import os
import secrets
import socket

import click
import uvicorn

from onduty import task_dump
from onduty.cli._db import database_option, open_database, run_on
from onduty.cli.admin import with_service
from onduty.cli.demo import announce, seed
from onduty.logs import configure_logging
from onduty.service.node import Cluster
from onduty.service.ownership import LEASE_SECONDS, RENEW_EVERY, check_timing
from onduty.service.sign_in_limits import SignInLimits
from onduty.storage.migrate import upgrade
from onduty.web.app import create_app

LIMITS = SignInLimits()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@database_option
@click.option("--demo", is_flag=True, help="Add a sample team when the database is empty.")
@click.option("--log-json", is_flag=True, help="Structured logs as JSON lines.")
@click.option(
    "--access-log",
    is_flag=True,
    help="Log every HTTP request (tokens and tickets in URLs are written as [redacted]).",
)
@click.option(
    "--ws-deflate",
    is_flag=True,
    help="Compress the event stream (permessage-deflate): less bandwidth, more CPU per dashboard.",
)
@click.option(
    "--sign-in-failures-per-user",
    type=click.IntRange(1),
    default=LIMITS.failures_per_username,
    show_default=True,
    help="Failed sign-ins a username may have within the window; beyond, sign-in answers 429.",
)
@click.option(
    "--sign-in-failures-per-address",
    type=click.IntRange(1),
    default=LIMITS.failures_per_address,
    show_default=True,
    help="Failed sign-ins one client address may have within the window, whatever the usernames.",
)
@click.option(
    "--sign-in-window",
    type=click.IntRange(1),
    default=int(LIMITS.window_seconds),
    show_default=True,
    metavar="SECONDS",
    help="The window the sign-in failures are counted in.",
)
@click.option(
    "--forwarded-allow-ips",
    envvar="FORWARDED_ALLOW_IPS",
    default=None,
    metavar="IPS",
    help=(
        'Comma-separated addresses of reverse proxies whose X-Forwarded-For is believed ("*": any; '
        "also read from FORWARDED_ALLOW_IPS). "
        "Without it the header is ignored and every client behind a proxy shares the proxy's address "
        "(and its sign-in limit)."
    ),
)
@click.option(
    "--redis",
    "redis_url",
    envvar="ONDUTY_REDIS_URL",
    default=None,
    metavar="URL",
    help=(
        "redis://host:6379/0: join the other instances that share this PostgreSQL database and this Redis "
        "(also read from ONDUTY_REDIS_URL). Without it, this process runs the workspace alone."
    ),
)
@click.option(
    "--advertise",
    "advertise_url",
    envvar="ONDUTY_ADVERTISE_URL",
    default=None,
    metavar="URL",
    help="With --redis: the base URL the other instances reach this one at (default: http://<host>:<port>).",
)
@click.option(
    "--instance-id",
    envvar="ONDUTY_INSTANCE_ID",
    default=None,
    metavar="NAME",
    help="With --redis: this process's name among the instances (default: host name, pid and a random suffix).",
)
@click.option(
    "--lease-seconds",
    envvar="ONDUTY_LEASE_SECONDS",
    type=click.FloatRange(0.2, 60),
    default=LEASE_SECONDS,
    show_default=True,
    help="With --redis: how long the owner's lease lasts unrenewed (a dead owner is replaced after about this).",
)
@click.option(
    "--renew-every",
    envvar="ONDUTY_RENEW_EVERY",
    type=click.FloatRange(0.1, 30),
    default=RENEW_EVERY,
    show_default=True,
    help="With --redis: how often the owner renews its lease, and the others try to take it (at most half the lease).",
)
def serve(
    host: str,
    port: int,
    database_url: str | None,
    demo: bool,
    log_json: bool,
    access_log: bool,
    ws_deflate: bool,
    sign_in_failures_per_user: int,
    sign_in_failures_per_address: int,
    sign_in_window: int,
    forwarded_allow_ips: str | None,
    redis_url: str | None,
    advertise_url: str | None,
    instance_id: str | None,
    lease_seconds: float,
    renew_every: float,
) -> None:
    """Run the service (creates or upgrades the database schema first)."""
    configure_logging(json=log_json)
    task_dump.ignore()  # SIGUSR1 dumps the tasks once the app runs (create_app's dump_tasks)
    db = open_database(database_url)
    cluster = None
    if redis_url is not None:
        if db.is_sqlite:
            raise click.BadParameter(
                "several instances share a PostgreSQL database; SQLite serves one instance (leave --redis out)",
                param_hint="'--redis'",
            )
        try:
            check_timing(lease_seconds, renew_every, renew_every)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="'--renew-every'") from None
        cluster = Cluster(
            redis_url,
            _instance_id(instance_id),
            (advertise_url or _default_address(host, port)).rstrip("/"),
            lease_seconds,
            renew_every,
        )
    run_on(db, upgrade(db))
    if demo:
        tokens = run_on(db, with_service(db, seed))
        if tokens is None:
            click.echo("Database has users already; --demo added nothing.")
        else:
            announce(db, tokens, f"http://{host}:{port}")
    joined = f", instance {cluster.instance_id} at {cluster.address}" if cluster is not None else ""
    click.echo(f"onduty on http://{host}:{port} with {db.shown()}{joined}")
    limits = SignInLimits(sign_in_failures_per_user, sign_in_failures_per_address, float(sign_in_window))
    # The server itself, not uvicorn.run(), so that the app can tell its own stop (streams closed
    # by the server, which record no disconnect: S8) from a client closing with the same code.
    server: uvicorn.Server | None = None
    app = create_app(
        db,
        settle_heap=True,
        sign_in_limits=limits,
        stopping=lambda: server is not None and server.should_exit,
        cluster=cluster,
        dump_tasks=True,
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        # The client's address counts failed sign-ins. uvicorn would take it from X-Forwarded-For
        # on any connection from this machine; a client can write anything there, so the header
        # is believed only from the proxies the operator names.
        proxy_headers=bool(forwarded_allow_ips),
        forwarded_allow_ips=forwarded_allow_ips or None,
        log_config=None,  # ours (logs.py): structured, and no token or ticket in any line
        # Off unless asked: a line per request is work added to the busiest calls (status
        # changes), and the WebSocket lines (uvicorn's "[accepted]") are written either way.
        access_log=access_log,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        # Off by default: events are small JSON frames, and compressing each one for each
        # dashboard cost more CPU than the rest of its delivery (docs/performance.md).
        ws_per_message_deflate=ws_deflate,
    )
    server = uvicorn.Server(config)
    server.run()


def _instance_id(given: str | None) -> str:
    if given is not None:
        if not 0 < len(given) <= 80:
            raise click.BadParameter("1 to 80 characters", param_hint="'--instance-id'")
        return given
    # Unique per process: two processes under one id would take the lease from each other.
    return f"{socket.gethostname()[:50]}-{os.getpid()}-{secrets.token_hex(3)}"


def _default_address(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::", ""):  # listening everywhere: the others reach it by its name
        host = socket.getfqdn()
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"
