"""What the OpenAPI document says beyond each route's own declarations: how a caller
signs (a bearer token), and that request bodies refuse fields they do not name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.enums import ParamType
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Schema,
    SecurityRequirement,
    SecurityScheme,
)

from onduty.service.idempotency import MAX_KEY_LENGTH

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.typing import FieldDefinition

BEARER = "bearer"
# Every API call but sign-in sends `Authorization: Bearer <token>` (routes declare it).
BEARER_TOKEN: list[SecurityRequirement] = [{BEARER: []}]


class StrictBodySchemas(StructSchemaPlugin):
    """Structs that forbid unknown fields (the API's inputs) say `additionalProperties: false`,
    so that a client generated from the document does not send what the server refuses."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return super().is_plugin_supported_field(field_definition) and _forbids_unknown_fields(field_definition.type_)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema


def _forbids_unknown_fields(kind: object) -> bool:
    return isinstance(kind, type) and issubclass(kind, msgspec.Struct) and kind.__struct_config__.forbid_unknown_fields


@dataclass
class AlsoCsv(Operation):
    """A report's operation: its 200 is JSON, or CSV with `format=csv` (the handler's return
    annotation can say only the first)."""

    def __post_init__(self) -> None:
        success = (self.responses or {}).get("200")
        if isinstance(success, OpenAPIResponse):
            success.content = {
                **(success.content or {}),
                "text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)),
            }


IDEMPOTENCY_KEY = Parameter(
    name="Idempotency-Key",
    param_in=ParamType.HEADER,
    required=False,
    description=(
        "Sent again under the same key within 10 minutes, the request's commands are applied once; the "
        "repeat is answered from the state as it is then (docs/rules.md, API extensions)."
    ),
    schema=Schema(type=OpenAPIType.STRING, min_length=1, max_length=MAX_KEY_LENGTH, pattern="^[ -~]+$"),
)
EVENT_ID = OpenAPIHeader(
    description="The journal's last event id the answering instance held when it answered",
    schema=Schema(type=OpenAPIType.STRING, pattern="^[0-9]+$"),
)


@dataclass
class KeyedWrite(Operation):
    """A write: it takes an `Idempotency-Key`, and its answers say `Onduty-Event-Id`
    (web/_forwarding.py)."""

    def __post_init__(self) -> None:
        self.parameters = [*(self.parameters or []), IDEMPOTENCY_KEY]
        for response in (self.responses or {}).values():
            if isinstance(response, OpenAPIResponse):
                response.headers = {**(response.headers or {}), "Onduty-Event-Id": EVENT_ID}


def openapi_config(title: str, version: str, description: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title=title,
        version=version,
        description=description,
        path="/schema",
        # The document only. Litestar's browsable viewers come from public CDNs and start
        # with inline code: they would run another host's code where the pages keep the
        # signed-in token, and nothing may come from a CDN (the service runs offline).
        render_plugins=[JsonRenderPlugin(), YamlRenderPlugin()],
        components=Components(
            security_schemes={
                BEARER: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="An API token: from POST /api/v1/auth/token, POST /api/v1/users or `onduty users add`",
                )
            }
        ),
    )
