"""The web application: the API under /api/v1, the event stream, ops endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from onduty import __version__
from onduty.service.clock import Clock
from onduty.service.fanout import FanOut
from onduty.service.heap import settle_after_start
from onduty.service.service import Service
from onduty.storage.database import Database
from onduty.storage.store import Store
from onduty.storage.users import UserStore
from onduty.web import (
    hot_path,
    routes_admin,
    routes_agents,
    routes_events,
    routes_me,
    routes_ops,
    routes_reports,
    routes_threads,
)
from onduty.web.context import AppContext, provide_caller, provide_ctx
from onduty.web.errors import EXCEPTION_HANDLERS
from onduty.web.events_ws import events
from onduty.web.pages import TEMPLATES, pages, static
from onduty.web.routing_helpers import strict_body

MAX_BODY = 1024 * 1024


class App(Litestar):
    """Litestar, with the agents' own status change served ahead of it (hot_path.py)."""

    serve_hot_path = True

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.serve_hot_path and hot_path.takes(scope) and (ctx := getattr(self.state, "ctx", None)) is not None:
            receive = await hot_path.serve_own_status(
                ctx, scope, receive, send, max_body=MAX_BODY, cors=self.cors_config
            )
            if receive is None:
                return
        await super().__call__(scope, receive, send)


def create_app(
    db: Database,
    *,
    clock: Clock | None = None,
    fanout: FanOut | None = None,
    settle_heap: bool = False,
    with_hot_path: bool = True,
) -> App:
    """The app for a database whose schema is current (run migrations first). `settle_heap`:
    tune the garbage collector for a long-running server once started (heap.py); for the
    server process, not for tests that start many apps in one process. `with_hot_path`:
    False sends every request through the framework (tests compare the two)."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        store = Store(db)
        service = Service(store, clock=clock, fanout=fanout)
        await service.start()
        app.state.ctx = ctx = AppContext(service, UserStore(store))
        routes_events.install_tickets(app, ctx)
        if settle_heap:
            settle_after_start()
        try:
            yield
        finally:
            await service.stop()
            await store.close()

    api = Router(
        "/api/v1",
        route_handlers=[
            *routes_me.ROUTES,
            *routes_agents.ROUTES,
            *routes_threads.ROUTES,
            *routes_admin.ROUTES,
            *routes_reports.ROUTES,
            *routes_events.ROUTES,
            events,
        ],
        dependencies={"caller": Provide(provide_caller), "ctx": Provide(provide_ctx, sync_to_thread=False)},
        before_request=strict_body,
    )
    app = App(
        route_handlers=[api, *routes_ops.ROUTES, pages, static],
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title="onduty",
            version=__version__,
            description="Presence and routing for customer-support teams. Times are ISO 8601 UTC.",
            path="/schema",
        ),
        request_max_body_size=MAX_BODY,
        cors_config=CORSConfig(allow_origins=[]),
        debug=False,
        logging_config=None,  # structlog is configured by `onduty serve`
    )
    app.serve_hot_path = with_hot_path
    return app
