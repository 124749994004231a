"""The OpenAPI document as the API really answers: every error is problem+json."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from shop.core.errors import PROBLEM_JSON, Problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def install_openapi(app: FastAPI) -> None:
    """Generate the schema once, with error responses documented under application/problem+json."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            _errors_as_problems(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _errors_as_problems(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if not str(status).startswith(("4", "5")):
                    continue
                content = response.setdefault("content", {})
                content.pop("application/json", None)
                content[PROBLEM_JSON] = {"schema": PROBLEM_REF}
    components.setdefault("Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}"))
    # FastAPI's own validation-error models describe a shape this API never sends.
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
