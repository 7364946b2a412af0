"""For operators: health, Prometheus metrics, the OpenAPI document."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from onduty.web import schemas as s
from onduty.web.context import context_of
from onduty.web.errors import body


@get(
    "/healthz",
    summary="200 when the database answers, 503 when it does not",
    tags=["ops"],
    responses={503: ResponseSpec(data_container=s.ErrorResponse, description="The database does not answer")},
)
async def healthz(request: Request[Any, Any, Any]) -> Response[s.Health]:
    ctx = context_of(request)
    try:
        await ctx.reads.ping()
    except Exception:  # any failure to reach the database is "unhealthy", whatever the driver raised
        return body(503, "unavailable", "the database does not answer", None)
    health = ctx.node.health()
    if health is None:
        return Response(s.Health(status="ok", database=ctx.reads.dialect))
    return Response(
        s.Health(
            status="ok",
            database=ctx.reads.dialect,
            role=health.role,
            epoch=health.epoch,
            applied_event_id=health.applied_event_id,
        )
    )


@get("/ping", summary="Liveness: the process answers (no database, no token)", tags=["ops"])
async def ping() -> s.Pong:
    return PONG


PONG = s.Pong(ok=True)


@get("/metrics", summary="Prometheus metrics", tags=["ops"], media_type="text/plain")
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    registry = context_of(request).node.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@get("/openapi.json", summary="The OpenAPI document", include_in_schema=False, media_type=MediaType.JSON)
async def openapi_json(request: Request[Any, Any, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = request.app.openapi_schema.to_schema()
    return schema


ROUTES = [healthz, ping, metrics, openapi_json]
