"""Request bodies every route treats alike: the media type a JSON route accepts, and what a body
that cannot be read answers.
"""

from collections.abc import Callable, Coroutine
from email.message import Message
from typing import Any

from fastapi import Request, Response, params
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from shop.core.errors import PayloadTooLarge, UnprocessableEntity, UnsupportedMediaType, error_responses

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def body_error_responses(route: APIRoute) -> dict[int | str, dict[str, Any]]:
    """The errors a route's body can cause, for its OpenAPI responses (none without a body)."""
    if route.body_field is None:
        return {}
    # Any body can be too large (shop.core.limits); a JSON body can have the wrong type.
    return (
        error_responses(PayloadTooLarge) if _is_form(route) else error_responses(PayloadTooLarge, UnsupportedMediaType)
    )


def checked_body(route: APIRoute, handler: Handler) -> Handler:
    """`handler`, refusing a JSON route's body of another media type (415) and an unreadable one (422)."""
    expects_json = route.body_field is not None and not _is_form(route)
    read = _unreadable_body_is_invalid(handler)

    async def run(request: Request) -> Response:
        if expects_json and _has_body(request) and not _is_json(request):
            raise UnsupportedMediaType("The request body must be application/json.")
        return await read(request)

    return run


def _unreadable_body_is_invalid(handler: Handler) -> Handler:
    """A body FastAPI or Starlette cannot parse is a 422 `validation_error`, as malformed JSON is.

    They answer a JSON body that is not UTF-8, or a broken multipart form, with a bare 400 of
    their own. Routes raise `ShopError`s only, so a 400 `HTTPException` here is always that.
    """

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except StarletteHTTPException as exc:
            if exc.status_code != 400:
                raise
            raise UnprocessableEntity(
                "The request body could not be read.",
                errors=[{"loc": ["body"], "msg": str(exc.detail), "type": "body_unreadable"}],
            ) from exc

    return run


def _is_form(route: APIRoute) -> bool:
    return route.body_field is not None and isinstance(route.body_field.field_info, params.Form)


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in request.headers


def _is_json(request: Request) -> bool:
    content_type = request.headers.get("content-type")
    if not content_type:
        return False
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))
