"""Route decorators that document our error shape, and view-to-struct conversion."""

from __future__ import annotations

from functools import partial
from typing import Any, TypeVar

import msgspec
from litestar import delete, get, patch, post, put

from onduty.web.errors import ERROR_RESPONSES, invalid

T = TypeVar("T")

api_get = partial(get, responses=ERROR_RESPONSES)
api_post = partial(post, responses=ERROR_RESPONSES)
api_put = partial(put, responses=ERROR_RESPONSES)
api_patch = partial(patch, responses=ERROR_RESPONSES)
api_delete = partial(delete, responses=ERROR_RESPONSES)


def as_struct(value: Any, kind: type[T]) -> T:
    return msgspec.convert(value, kind)


def parse_ids(raw: str | None, field: str) -> list[int] | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        return [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise invalid(f"{field} must be comma-separated whole numbers, like 3,7,12", field) from None
