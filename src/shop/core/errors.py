"""The one error hierarchy of the shop and its RFC 9457 problem+json rendering.

Services raise a `ShopError` subclass; the handlers registered in `install_error_handlers`
turn it, FastAPI's validation errors and Starlette's HTTP errors into one response shape.
"""

import uuid
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from shop.core.pool import PoolExhausted

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger()


class ShopError(Exception):
    """Base of every error the API reports on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    # Most errors undo the request's writes. A few must keep them although the request fails
    # (revoking a stolen token's whole login): the route then commits before answering.
    keeps_changes: ClassVar[bool] = False
    # A 4xx is the request's outcome for good, and an Idempotency-Key replays it. Not so for a
    # "not now" (a rate limit, work in progress): the request did not run, and a retry may.
    final: ClassVar[bool] = True
    # Headers that every answer of this error carries, declared in the OpenAPI document.
    response_headers: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.detail = detail or HTTPStatus(self.status).phrase
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})
        super().__init__(self.detail)


class BadRequest(ShopError):
    status = 400
    code = "bad_request"


class Unauthorized(ShopError):
    status = 401
    code = "unauthorized"
    response_headers = ("WWW-Authenticate",)

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", "Bearer")


class Forbidden(ShopError):
    status = 403
    code = "forbidden"


class NotFound(ShopError):
    status = 404
    code = "not_found"


class MethodNotAllowed(ShopError):
    status = 405
    code = "method_not_allowed"


class Conflict(ShopError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ShopError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ShopError):
    status = 415
    code = "unsupported_media_type"


class UnprocessableEntity(ShopError):
    status = 422
    code = "validation_error"


class RateLimited(ShopError):
    status = 429
    code = "rate_limited"
    final = False
    response_headers = ("Retry-After",)

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


class ServiceUnavailable(ShopError):
    status = 503
    code = "service_unavailable"
    response_headers = ("Retry-After",)

    def __init__(self, detail: str | None = None, retry_after: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class ValidationErrorItem(BaseModel):
    """One invalid input: where it is (`loc`: `body`, `query`, `path` or `header`, then the field), what
    is wrong with it (`msg`, for people) and the kind of error (`type`, stable: `missing`, `too_long`…)."""

    model_config = ConfigDict(extra="forbid")

    loc: list[str | int]
    msg: str
    type: str


# What the refusals other than validation errors list in `errors`: each names what it is about.


class StockShortfall(BaseModel):
    """A variant without the units asked for (409 `insufficient_stock`)."""

    model_config = ConfigDict(extra="forbid")

    variant_id: uuid.UUID
    requested: int
    available: int


class VariantReference(BaseModel):
    """A variant that cannot be bought (422 `variant_unavailable`)."""

    model_config = ConfigDict(extra="forbid")

    variant_id: uuid.UUID


class SkuReference(BaseModel):
    """A SKU that another variant has (409 `sku_taken`)."""

    model_config = ConfigDict(extra="forbid")

    sku: str


class CountryZone(BaseModel):
    """A country that another shipping zone holds (409 `country_in_other_zone`)."""

    model_config = ConfigDict(extra="forbid")

    country: str
    zone_id: uuid.UUID


class Problem(BaseModel):
    """RFC 9457 problem details: the shape of every error response of the API."""

    type: str = Field(description="Always `about:blank`: `code` tells the errors apart.")
    title: str = Field(description="The HTTP status's phrase.")
    status: int
    detail: str = Field(description="What went wrong, for people.")
    code: str = Field(description="What went wrong, for programs: stable, snake_case (`insufficient_stock`).")
    # Left out of an answer when there is nothing to say: never null.
    errors: (
        list[ValidationErrorItem | StockShortfall | VariantReference | SkuReference | CountryZone]
        | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description="What the refusal is about: each invalid input, short variant, taken SKU, country in another zone.",
    )
    request_id: str | SkipJsonSchema[None] = Field(
        default=None, description="Only on a 500, which is a bug: quote it when reporting one."
    )


# Codes for errors raised by Starlette itself (unknown route, wrong method, body limit).
_HTTP_CODES: dict[int, str] = {
    error.status: error.code
    for error in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        PayloadTooLarge,
        UnsupportedMediaType,
        RateLimited,
        ServiceUnavailable,
    )
}


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    request_id: str | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = list(errors)
    if request_id is not None:
        body["request_id"] = request_id
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def error_responses(*errors: type[ShopError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries so `/docs` shows a route's problem+json answers.

    Each status lists its codes; a header is declared required when every code of the status
    sends it (`shop.core.openapi` fills in what each header means).
    """
    by_status: dict[int, list[type[ShopError]]] = {}
    all_errors: tuple[type[ShopError], ...] = (UnprocessableEntity, *errors)
    for error in all_errors:
        classes = by_status.setdefault(error.status, [])
        if error.code not in (known.code for known in classes):
            classes.append(error)
    declared: dict[int | str, dict[str, Any]] = {}
    for status, classes in by_status.items():
        names = {name for error in classes for name in error.response_headers}
        declared[status] = {
            "model": Problem,
            "content": {PROBLEM_JSON: {}},
            "description": ", ".join(error.code for error in classes),
            "headers": {
                name: {"required": all(name in error.response_headers for error in classes)} for name in sorted(names)
            },
        }
    return declared


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only loc/msg/type: `input` and `ctx` can echo secrets or hold non-JSON objects.
    return [
        {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", "")), "type": error.get("type", "")}
        for error in exc.errors()
    ]


def render_error(exc: ShopError) -> Response:
    return problem_response(exc.status, exc.code, exc.detail, errors=exc.errors, headers=exc.headers)


async def _shop_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ShopError)
    return render_error(exc)


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    return problem_response(422, "validation_error", "The request is not valid.", errors=errors)


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "internal_error" if exc.status_code >= 500 else "bad_request")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem_response(exc.status_code, code, detail, headers=exc.headers)


# PostgreSQL stores no NUL character in text or in JSON (SQLSTATE 22021, 22P05). The input is at
# fault wherever it came from (a query, a path, a body), so it is refused like any invalid input.
_UNSTORABLE_TEXT = frozenset({"22021", "22P05"})


async def _database_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, sa_exc.DBAPIError) and getattr(exc.orig, "pgcode", None) in _UNSTORABLE_TEXT:
        errors = [{"loc": ["request"], "msg": "Text may not contain the NUL character.", "type": "string_unstorable"}]
        return problem_response(422, "validation_error", "The request is not valid.", errors=errors)
    return await _database_unavailable(request, exc)


async def _database_unavailable(_: Request, exc: Exception) -> Response:
    # A lost connection is an outage, not a bug: answer fast and retryable.
    if isinstance(exc, sa_exc.DBAPIError) and not is_connection_error(exc):
        raise exc
    log.warning("database.unavailable", error=type(exc).__name__)
    error = ServiceUnavailable("The database is unavailable; retry shortly.")
    return problem_response(error.status, error.code, error.detail, headers=error.headers)


# The connections free up as soon as the requests holding them finish.
POOL_EXHAUSTED_RETRY_AFTER_SECONDS = 1


async def _pool_exhausted(_: Request, exc: Exception) -> Response:
    # Every pooled connection stayed in use for the whole wait (SQLAlchemy's TimeoutError, or
    # shop.core.pool.PoolExhausted): the database answers, this process has more work than
    # connections. Overload, said as such; never "the database is unavailable".
    if isinstance(exc, PoolExhausted):
        log.warning("database.pool_exhausted", connections=exc.capacity, waiting=exc.waiting, waited_s=exc.timeout)
    else:
        log.warning("database.pool_exhausted", error=type(exc).__name__)
    error = ServiceUnavailable(
        "The server is busy: every database connection is in use; retry shortly.",
        retry_after=POOL_EXHAUSTED_RETRY_AFTER_SECONDS,
    )
    return problem_response(error.status, error.code, error.detail, headers=error.headers)


def is_connection_error(exc: BaseException) -> bool:
    """Did the server go away (refused, reset, stopped), rather than refuse a statement?"""
    if isinstance(exc, sa_exc.DBAPIError):
        return exc.connection_invalidated or isinstance(exc, sa_exc.InterfaceError | sa_exc.OperationalError)
    return isinstance(exc, OSError)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ShopError, _shop_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(sa_exc.TimeoutError, _pool_exhausted)
    app.add_exception_handler(sa_exc.DBAPIError, _database_error)
    # Connecting to a stopped server fails below SQLAlchemy with a plain OSError (refused,
    # socket missing, timed out): a dependency outage as well.
    app.add_exception_handler(OSError, _database_unavailable)
