"""The route class every router uses: it commits the request's unit of work before responding.

FastAPI runs the exit code of a `yield` dependency after the response is sent, so committing
there could answer 201 for a change that then fails to commit. Here the commit happens after the
endpoint returned and before the response leaves; if it fails, the client gets the error instead.
"""

from collections.abc import Callable, Coroutine
from email.message import Message
from typing import Any

from fastapi import Request, Response, params
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.db import commit, rollback
from shop.core.errors import ShopError, UnsupportedMediaType
from shop.core.logging import bind_log_context, route_template

SESSION_STATE_KEY = "db_session"


class ShopRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        expects_json = self.body_field is not None and not _is_form(self)

        async def handle(request: Request) -> Response:
            bind_log_context(route=route_template(request.scope) or self.path_format)
            if expects_json and _has_body(request) and not _is_json(request):
                raise UnsupportedMediaType("The request body must be application/json.")
            try:
                response = await handler(request)
            except BaseException as exc:
                session = _session_of(request)
                if session is not None:
                    if isinstance(exc, ShopError) and exc.keeps_changes:
                        await commit(session)
                    else:
                        await rollback(session)
                raise
            session = _session_of(request)
            if session is not None:
                await commit(session)
            return response

        return handle


def _session_of(request: Request) -> AsyncSession | None:
    session: AsyncSession | None = getattr(request.state, SESSION_STATE_KEY, None)
    return session


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
