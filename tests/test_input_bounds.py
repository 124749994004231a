"""Every string a client can send is bounded, as the OpenAPI document declares it.

The walk covers each operation's parameters (path, query, header) and request bodies, through
`$ref`s, unions, arrays and maps. A string is bounded by `maxLength`, an `enum` or `const`, a
format of fixed size, or an anchored pattern without an open-ended repetition. File uploads are
the one exception: they are bounded by `SHOP_MAX_UPLOAD_BYTES` (413, tests/products/test_import_jobs.py).
"""

import re
from collections.abc import Iterator
from typing import Any

import httpx

BOUNDING_KEYWORDS = frozenset({"maxLength", "enum", "const", "format", "pattern"})
FIXED_SIZE_FORMATS = frozenset({"uuid", "date-time", "date", "time", "duration"})
_OPEN_REPETITION = re.compile(r"(?<!\\)[*+]|\{\d*,\}")


def bounded_pattern(pattern: str) -> bool:
    return pattern.startswith("^") and pattern.endswith("$") and not _OPEN_REPETITION.search(pattern)


def is_bounded_string(schema: dict[str, Any]) -> bool:
    if "maxLength" in schema or "enum" in schema or "const" in schema:
        return True
    if schema.get("format") in FIXED_SIZE_FORMATS:
        return True
    if schema.get("contentMediaType") == "application/octet-stream":  # an uploaded file
        return True
    return bounded_pattern(schema.get("pattern", ""))


def unbounded_strings(
    schema: dict[str, Any],
    where: str,
    components: dict[str, Any],
    seen: frozenset[str] = frozenset(),
    outer: dict[str, Any] | None = None,
) -> Iterator[str]:
    """`outer`: the bounds of an enclosing union, which apply to its string member too (JSON Schema)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from unbounded_strings(components[name], f"{where} -> {name}", components, seen | {name})
        return
    if schema.get("type") == "string" and not is_bounded_string({**(outer or {}), **schema}):
        yield where
    bounds = {key: value for key, value in schema.items() if key in BOUNDING_KEYWORDS}
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            yield from unbounded_strings(option, where, components, seen, {**(outer or {}), **bounds})
    if isinstance(schema.get("items"), dict):
        yield from unbounded_strings(schema["items"], f"{where}[]", components, seen)
    for name, field in schema.get("properties", {}).items():
        yield from unbounded_strings(field, f"{where}.{name}", components, seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from unbounded_strings(schema["additionalProperties"], f"{where}{{}}", components, seen)


def client_inputs(document: dict[str, Any]) -> Iterator[str]:
    components = document.get("components", {}).get("schemas", {})
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                where = f"{method.upper()} {path} {parameter['in']} {parameter['name']}"
                yield from unbounded_strings(parameter["schema"], where, components)
            for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
                yield from unbounded_strings(
                    content["schema"], f"{method.upper()} {path} body ({media_type})", components
                )


async def test_every_string_a_client_sends_is_bounded(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert list(client_inputs(document)) == []


class TestTheWalk:
    """The walk itself finds what it must: it is the only thing between a new field and a 10 MB name."""

    def test_it_follows_refs_unions_arrays_and_maps(self) -> None:
        document = {
            "paths": {
                "/things": {
                    "post": {
                        "parameters": [
                            {"in": "query", "name": "q", "schema": {"anyOf": [{"type": "string"}, {"type": "null"}]}}
                        ],
                        "requestBody": {
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}
                        },
                    }
                }
            },
            "components": {
                "schemas": {
                    "Thing": {
                        "properties": {
                            "name": {"type": "string", "maxLength": 10},
                            "tags": {"type": "array", "items": {"type": "string"}},
                            "attributes": {"type": "object", "additionalProperties": {"type": "string"}},
                            "self": {"$ref": "#/components/schemas/Thing"},
                            "id": {"type": "string", "format": "uuid"},
                            "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
                            "sku": {"type": "string", "pattern": "^[A-Z][A-Z0-9]*$"},
                            "kind": {"type": "string", "enum": ["a", "b"]},
                        }
                    }
                }
            },
        }
        assert sorted(client_inputs(document)) == [
            "POST /things body (application/json) -> Thing.attributes{}",
            "POST /things body (application/json) -> Thing.sku",
            "POST /things body (application/json) -> Thing.tags[]",
            "POST /things query q",
        ]

    def test_a_password_format_bounds_nothing(self) -> None:
        assert not is_bounded_string({"type": "string", "format": "password"})
        assert not bounded_pattern("^x{2,}$")
        assert bounded_pattern("^\\+?[0-9][0-9 ()./-]{2,29}$")
