"""The web application: the API under /api/v1, the event stream, ops endpoints."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from onduty import __version__, task_dump
from onduty.service._heap import settle_after_start
from onduty.service._tasks import cancelled
from onduty.service.clock import Clock
from onduty.service.fanout import FanOut
from onduty.service.node import Cluster, Node
from onduty.service.session_ends import SessionEnds
from onduty.service.sign_in_limits import SignInLimits
from onduty.storage.database import Database
from onduty.storage.store import SqlStore
from onduty.storage.users import UserStore
from onduty.usernames import skeleton
from onduty.web import (
    routes_admin,
    routes_agents,
    routes_chat,
    routes_events,
    routes_floor,
    routes_internal,
    routes_me,
    routes_ops,
    routes_reports,
    routes_threads,
)
from onduty.web._events_ws import events
from onduty.web._forwarding import Forwarding
from onduty.web._methods import allow_every_method
from onduty.web._openapi import StrictBodySchemas, openapi_config
from onduty.web._pages import TEMPLATES, pages, static
from onduty.web._routing_helpers import strict_body
from onduty.web._security_headers import SecurityHeaders
from onduty.web.context import AppContext, provide_caller, provide_ctx
from onduty.web.errors import EXCEPTION_HANDLERS

MAX_BODY = 1024 * 1024


def create_app(
    db: Database,
    *,
    clock: Clock | None = None,
    fanout: FanOut | None = None,
    settle_heap: bool = False,
    sign_in_limits: SignInLimits | None = None,
    stopping: Callable[[], bool] = lambda: False,
    cluster: Cluster | None = None,
    dump_tasks: bool = False,
) -> Litestar:
    """The app for a database whose schema is current (run migrations first). `settle_heap`:
    tune the garbage collector for a long-running server once started (service/_heap.py); for the
    server process, not for tests that start many apps in one process. `sign_in_limits`: failed
    sign-ins allowed per username and per client address (service/sign_in_limits.py). `stopping`:
    whether the server is shutting down (its own closing of the streams records no disconnect).
    `cluster`: join the other instances sharing this PostgreSQL database (service/node.py).
    `dump_tasks`: log what every asyncio task waits on at SIGUSR1 (task_dump.py; the server
    process's main thread only)."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if dump_tasks:  # from the start: a start that never ends is what it is for
            task_dump.install(asyncio.get_running_loop())
        store = SqlStore(db)
        node = Node(db, store, clock=clock, fanout=fanout, cluster=cluster)
        await node.start()
        # The confusables table takes a tenth of a second to read: off the loop, before a request.
        await asyncio.to_thread(skeleton, "")
        app.state.ctx = ctx = AppContext(node, UserStore(store), sign_in_limits or SignInLimits())
        # Sign-outs and team changes made on any instance (this one's too, a second time):
        # alone or among others, one code path.
        session_ends = SessionEnds(ctx.users.ended, on_session=ctx.session_ended, on_user=ctx.forget_user)
        app.state.stopping = stopping
        reconciling = asyncio.create_task(ctx.streams.keep_reconciled(), name="onduty-connections")
        try:
            await session_ends.start()  # before the first request: from here on, nothing is missed
            if settle_heap:
                settle_after_start()
            yield
        finally:
            await cancelled(reconciling)
            await session_ends.stop()
            ctx.passwords.close()
            await node.stop()
            await store.close()
            if dump_tasks:
                task_dump.uninstall(asyncio.get_running_loop())

    api = Router(
        "/api/v1",
        route_handlers=[
            *routes_me.ROUTES,
            *routes_agents.ROUTES,
            *routes_floor.ROUTES,
            *routes_threads.ROUTES,
            *routes_admin.ROUTES,
            *routes_reports.ROUTES,
            *routes_events.ROUTES,
            *routes_chat.ROUTES,
            events,
        ],
        dependencies={"caller": Provide(provide_caller), "ctx": Provide(provide_ctx, sync_to_thread=False)},
        before_request=strict_body,
    )
    app = Litestar(
        route_handlers=[api, *routes_ops.ROUTES, *routes_internal.ROUTES, pages, static],
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi_config(
            "onduty", __version__, "Presence and routing for customer-support teams. Times are ISO 8601 UTC."
        ),
        plugins=[StrictBodySchemas()],
        middleware=[allow_every_method],
        request_max_body_size=MAX_BODY,
        cors_config=CORSConfig(allow_origins=[]),
        debug=False,
        logging_config=None,  # structlog is configured by `onduty serve`
    )
    # Around Litestar's own handler rather than as route middleware: the router's 404s and
    # 405s, and the CORS answers, get the headers too.
    app.asgi_handler = SecurityHeaders(Forwarding(app.asgi_handler, app, max_body=MAX_BODY))
    return app
