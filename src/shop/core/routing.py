"""The route class every router uses: it commits the request's unit of work before responding.

FastAPI runs the exit code of a `yield` dependency after the response is sent, so committing
there could answer 201 for a change that then fails to commit. Here the commit happens after the
endpoint returned and before the response leaves; if it fails, the client gets the error instead.
An idempotent request's answer is stored in that same commit (`shop.core.idempotency`); what a
body must look like is `shop.core.bodies`'.

Build routers with `shop_router(...)`, which binds this route class.
"""

from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core import idempotency
from shop.core.bodies import body_error_responses, checked_body
from shop.core.db import commit, rollback
from shop.core.deps import SESSION_STATE_KEY
from shop.core.errors import ShopError, render_error
from shop.core.logging import bind_log_context, route_template

log = structlog.get_logger()


class ShopRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.responses = {**body_error_responses(self), **self.responses}

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = checked_body(self, super().get_route_handler())

        async def handle(request: Request) -> Response:
            bind_log_context(route=route_template(request.scope) or self.path_format)
            try:
                response = await handler(request)
            except idempotency.IdempotentReplay as replay:
                session = _session_of(request)
                if session is not None:
                    await rollback(session)
                log.info("idempotency.replayed", status=replay.response.status_code)
                return replay.response
            except BaseException as exc:
                return await _failed(request, exc)
            await idempotency.commit_with_answer(request, _session_of(request), response)
            return response

        return handle


def shop_router(**kwargs: Any) -> APIRouter:
    """An `APIRouter` whose routes commit before they answer (`ShopRoute`); takes APIRouter's arguments."""
    return APIRouter(route_class=ShopRoute, **kwargs)


async def _failed(request: Request, exc: BaseException) -> Response:
    """Undo (or keep) the request's writes and re-raise; an idempotent request's stored answer instead.

    A `ShopError` that `keeps_changes` commits what the request wrote and still answers the error.
    """
    session = _session_of(request)
    keep = isinstance(exc, ShopError) and exc.keeps_changes
    if session is not None and not keep:
        await rollback(session)
    if isinstance(exc, ShopError) and idempotency.stores_failure(request, exc):
        response = render_error(exc)
        await idempotency.commit_with_answer(request, session, response)
        return response
    if session is not None and keep:
        await commit(session)
    await idempotency.give_back(request)
    raise exc


def _session_of(request: Request) -> AsyncSession | None:
    session: AsyncSession | None = getattr(request.state, SESSION_STATE_KEY, None)
    return session
