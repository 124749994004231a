"""The OpenAPI document, made to say exactly what the server does, so a generated client just works.

FastAPI builds the document from the routes; `install_openapi` then adds what no route can say
for itself, because middleware or shared machinery does it for every route:

- every error is problem+json (`Problem`), except an answer a route gives a model of its own
  (`/health/ready`'s readiness object);
- 503 `service_unavailable` with `Retry-After` on every operation that load shedding covers
  (`shop.core.shedding`), which is also every one that can lose its database or Redis;
- `X-Request-ID` on every response, `Idempotent-Replayed` wherever `Idempotency-Key` is taken,
  `ETag` and `If-None-Match` wherever a route answers 304, and what each declared header means;
- `security: []` on public operations, so a client knows they need no token;
- readable operationIds (`operation_id`) and readable names for the form bodies FastAPI makes.

A route declares only its own truth, with the helpers here: `NOT_MODIFIED` and
`TAKES_IF_NONE_MATCH` (it answers 304), `LOCATED` (its answer has a `Location`), `raw_json_body`
(it reads its JSON body itself).
"""

import re
from collections.abc import Iterator, Sequence
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel

from shop.core.errors import PROBLEM_JSON, Problem, ServiceUnavailable, ShopError

SCHEMA_REF = "#/components/schemas/{model}"
PROBLEM_REF = "#/components/schemas/Problem"
# FastAPI's own validation-error models describe a shape this API never sends.
FASTAPI_VALIDATION_REF = "#/components/schemas/HTTPValidationError"
FASTAPI_VALIDATION_MODELS = ("HTTPValidationError", "ValidationError")

# Relative: the API answers on whatever origin served this document.
SERVERS = [{"url": "/", "description": "The origin that serves this document"}]
LICENSE = {"name": "MIT", "identifier": "MIT"}
CONTACT = {"name": "The shop maintainers"}

# What each response header means; `required` is said where it is used.
HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id, in every log line about it: the `X-Request-ID` sent, "
        "when it is 1 to 128 of `A-Za-z0-9._:/+=-`, else a new one.",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:/+=-]{1,128}$"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    },
    "ETag": {
        "description": "The entity tag of this representation: send it as `If-None-Match` to get "
        "304 while it is unchanged.",
        "schema": {"type": "string"},
    },
    "Idempotent-Replayed": {
        "description": "`true` on the stored answer to a retry with the same `Idempotency-Key`: "
        "nothing was done again.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Location": {
        "description": "Where to follow what the request started.",
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "WWW-Authenticate": {
        "description": "`Bearer`: the request needs a valid access token.",
        "schema": {"type": "string"},
    },
}
# Entity tags are short (`shop.products.router` sends 26 characters); a longer header matches none.
MAX_IF_NONE_MATCH_LENGTH = 1024


async def _if_none_match(
    if_none_match: Annotated[
        str | None,
        Header(
            alias="If-None-Match",
            max_length=MAX_IF_NONE_MATCH_LENGTH,
            description="The `ETag` of the copy the client has: 304, without a body, while it is unchanged.",
        ),
    ] = None,
) -> None:
    """Declares and bounds the header; the route reads it itself, on its cached bytes' ETag."""


# For a route's `dependencies=`, with `NOT_MODIFIED`: it takes `If-None-Match` (refused past its bound).
TAKES_IF_NONE_MATCH = Depends(_if_none_match)
# For a route's `responses=`: it answers 304 to an `If-None-Match` that names its current ETag.
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not Modified: the representation still has the `ETag` given in `If-None-Match`."}
}
# For the entry of a route's success status in `responses=`: the answer says where to follow it.
LOCATED: dict[str, Any] = {"headers": {"Location": {"required": True}}}


def raw_json_body(model: type[BaseModel], *, required_headers: Sequence[str] = ()) -> dict[str, Any]:
    """`openapi_extra=` for a route that reads its JSON body itself (to check a signature over the
    raw bytes first), shaped as `model`; and the headers it takes as optional, to refuse a
    missing one with its own error, although no request can succeed without them."""
    schema = model.model_json_schema(ref_template=SCHEMA_REF)
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
        "parameters": [{"name": name, "in": "header", "required": True} for name in required_headers],
    }


def operation_id(route: APIRoute) -> str:
    """FastAPI's `generate_unique_id_function`: `list_products` → `listProducts`.

    A route whose function name reads badly as an operation, or is another router's too
    (`list_orders` of the customer and of staff), names its own with `operation_id=`.
    """
    if route.operation_id:
        return route.operation_id
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def install_openapi(app: FastAPI, *, unshed_prefixes: tuple[str, ...]) -> None:
    """Generate the document once, as the server answers; `unshed_prefixes`: paths never shed."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                servers=SERVERS,
                license_info=LICENSE,
                contact=CONTACT,
            )
            describe(document, unshed_prefixes=unshed_prefixes)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def describe(document: dict[str, Any], *, unshed_prefixes: tuple[str, ...]) -> None:
    """Complete FastAPI's document in place (see the module's docstring)."""
    components: dict[str, Any] = document.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    headers: dict[str, Any] = components.setdefault("headers", {})
    for path, _, operation in operations(document):
        # Named after the operation, not the function: `logIn` is "Log in", not "Token".
        operation["summary"] = _sentence(operation["operationId"])
        _restate_parameters(operation)
        _hoist_body_models(operation, schemas)
        responses: dict[str, Any] = operation["responses"]
        if not path.startswith(unshed_prefixes):
            responses.setdefault("503", _problem_response(ServiceUnavailable))
        for status, response in responses.items():
            if status.startswith(("4", "5")) and _is_problem(response):
                response["content"] = {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}
                if response.get("description") == "Validation Error":  # FastAPI's default 422
                    response["description"] = "validation_error"
        if "304" in responses:
            _conditional(operation)
        if any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in operation.get("parameters", [])):
            _replayable(responses)
        for response in responses.values():
            _complete_headers(response, headers)
        # Operations without a security requirement are public: say so, rather than leave it open.
        operation.setdefault("security", [])
    if PROBLEM_REF.rsplit("/", 1)[1] not in schemas:  # FastAPI adds it when a route declares an error
        _add_model(schemas, Problem)
    for name in FASTAPI_VALIDATION_MODELS:
        schemas.pop(name, None)
    _name_form_bodies(document)


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document.get("paths", {}).items():
        for method, operation in methods.items():
            yield path, method, operation


def _sentence(operation_id: str) -> str:
    words = re.sub(r"(?<!^)([A-Z])", r" \1", operation_id).lower()
    return words[0].upper() + words[1:]


def _problem_response(error: type[ShopError]) -> dict[str, Any]:
    return {
        "description": error.code,
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
        "headers": {name: {"required": True} for name in error.response_headers},
    }


def _is_problem(response: dict[str, Any]) -> bool:
    """An error answer of the shared shape: no model, `Problem`, or FastAPI's validation error."""
    refs = {media.get("schema", {}).get("$ref") for media in response.get("content", {}).values()}
    return refs <= {None, PROBLEM_REF, FASTAPI_VALIDATION_REF}


def _restate_parameters(operation: dict[str, Any]) -> None:
    """A parameter that `openapi_extra` states again is one parameter, with the later statement's terms."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for parameter in operation.get("parameters", []):
        key = (parameter["in"], parameter["name"])
        merged[key] = {**merged.get(key, {}), **parameter}
        if merged[key].get("required"):
            merged[key]["schema"] = _not_null(merged[key].get("schema", {"type": "string"}))
    if merged:
        operation["parameters"] = list(merged.values())


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [X, null]` of an optional Python argument, as X: a required parameter is never null."""
    options = [option for option in schema.get("anyOf", []) if option.get("type") != "null"]
    if len(options) != 1:
        return schema
    rest = {key: value for key, value in schema.items() if key not in ("anyOf", "title")}
    return {**options[0], **rest}


def _hoist_body_models(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """A body that `raw_json_body` gave as a whole model's schema becomes a reference to a component."""
    for media in operation.get("requestBody", {}).get("content", {}).values():
        schema = media.get("schema", {})
        if "$ref" not in schema and "title" in schema and schema.get("type") == "object":
            media["schema"] = {"$ref": SCHEMA_REF.format(model=_add_schema(schemas, schema))}


def _add_model(schemas: dict[str, Any], model: type[BaseModel]) -> None:
    _add_schema(schemas, model.model_json_schema(ref_template=SCHEMA_REF, mode="serialization"))


def _add_schema(schemas: dict[str, Any], schema: dict[str, Any]) -> str:
    """Put a model's schema and those it nests into the components; a name never means two shapes."""
    schema = dict(schema)
    named = {**schema.pop("$defs", {}), schema["title"]: schema}
    for name, definition in named.items():
        if schemas.setdefault(name, definition) != definition:
            raise ValueError(f"two different schemas are both called {name!r}")
    return str(schema["title"])


def _conditional(operation: dict[str, Any]) -> None:
    """An operation that answers 304 tags its 200 and 304 with an ETag."""
    for status in ("200", "304"):
        operation["responses"][status].setdefault("headers", {})["ETag"] = {"required": True}


def _replayable(responses: dict[str, Any]) -> None:
    # The stored answer of a request that ran: its success or its final refusal, never a 5xx or a
    # 429 (a refusal that did not run the request is not stored, see shop.core.routing).
    for status, response in responses.items():
        if status < "500" and status != "429":
            response.setdefault("headers", {})["Idempotent-Replayed"] = {"required": False}


def _complete_headers(response: dict[str, Any], components: dict[str, Any]) -> None:
    """Every answer has an `X-Request-ID`. A header every answer of a status has is a reference to
    its component; one that only some have is written out, not required."""
    headers: dict[str, Any] = response.setdefault("headers", {})
    headers["X-Request-ID"] = {"required": True}
    for name, header in headers.items():
        if header.get("required"):
            components.setdefault(name, {**HEADERS[name], "required": True})
            headers[name] = {"$ref": f"#/components/headers/{name}"}
        else:
            headers[name] = {**HEADERS[name], **header}


def _name_form_bodies(document: dict[str, Any]) -> None:
    """FastAPI names a form body `Body_<operationId>`: `Body_logIn` becomes `LogInForm`."""
    schemas: dict[str, Any] = document["components"]["schemas"]
    renamed = {name: f"{name[5].upper()}{name[6:]}Form" for name in schemas if name.startswith("Body_")}
    for old, new in renamed.items():
        schemas[new] = {**schemas.pop(old), "title": new}
    refs = {SCHEMA_REF.format(model=old): SCHEMA_REF.format(model=new) for old, new in renamed.items()}
    if refs:
        _rewrite_refs(document, refs)


def _rewrite_refs(node: Any, refs: dict[str, str]) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str) and node["$ref"] in refs:
            node["$ref"] = refs[node["$ref"]]
        for value in node.values():
            _rewrite_refs(value, refs)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, refs)
