"""The route class every router uses: it commits the request's unit of work before responding.

FastAPI runs the exit code of a `yield` dependency after the response is sent, so committing
there could answer 201 for a change that then fails to commit. Here the commit happens after the
endpoint returned and before the response leaves; if it fails, the client gets the error instead.
For a request under an Idempotency-Key (`shop.core.idempotency`), the answer is stored in that
same transaction.
"""

from collections.abc import Callable, Coroutine
from email.message import Message
from typing import Any

import structlog
from fastapi import Request, Response, params
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException

from shop.core import idempotency
from shop.core.db import commit, rollback
from shop.core.deps import SESSION_STATE_KEY, resources_of
from shop.core.errors import (
    PayloadTooLarge,
    ShopError,
    UnprocessableEntity,
    UnsupportedMediaType,
    error_responses,
    render_error,
)
from shop.core.logging import bind_log_context, route_template

log = structlog.get_logger()


class ShopRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if self.body_field is not None:
            # Any body can be too large (shop.core.limits); a JSON body can have the wrong type.
            body_errors = [PayloadTooLarge] if _is_form(self) else [PayloadTooLarge, UnsupportedMediaType]
            self.responses = {**error_responses(*body_errors), **self.responses}

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = _unreadable_body_is_invalid(super().get_route_handler())
        expects_json = self.body_field is not None and not _is_form(self)

        async def handle(request: Request) -> Response:
            bind_log_context(route=route_template(request.scope) or self.path_format)
            if expects_json and _has_body(request) and not _is_json(request):
                raise UnsupportedMediaType("The request body must be application/json.")
            try:
                response = await handler(request)
            except idempotency.IdempotentReplay as replay:
                session = _session_of(request)
                if session is not None:
                    await rollback(session)
                log.info("idempotency.replayed", status=replay.response.status_code)
                return replay.response
            except BaseException as exc:
                stored = await _failed(request, exc)
                if stored is None:
                    raise
                return stored
            await _succeeded(request, response)
            return response

        return handle


def _unreadable_body_is_invalid(
    handler: Callable[[Request], Coroutine[Any, Any, Response]],
) -> Callable[[Request], Coroutine[Any, Any, Response]]:
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


async def _succeeded(request: Request, response: Response) -> None:
    session = _session_of(request)
    claim = idempotency.claim_of(request)
    if claim is None:
        if session is not None:
            await commit(session)
        return
    try:
        await _store_and_commit(request, session, claim, response)
    except BaseException:
        await _give_back(request, claim)
        raise


async def _failed(request: Request, exc: BaseException) -> Response | None:
    """Undo (or keep) the request's writes; the error's answer when an idempotent request stored it."""
    session = _session_of(request)
    claim = idempotency.claim_of(request)
    keep = isinstance(exc, ShopError) and exc.keeps_changes
    if claim is not None and isinstance(exc, ShopError) and exc.status < 500 and exc.final:
        # The request ran and failed for good (409 insufficient_stock, 402 declined…): a retry
        # must get the same answer, so it is stored like a success, with any kept changes.
        if session is not None and not keep:
            await rollback(session)
        response = render_error(exc)
        try:
            await _store_and_commit(request, session, claim, response)
        except BaseException:
            await _give_back(request, claim)
            raise
        return response
    if session is not None:
        if keep:
            await commit(session)
        else:
            await rollback(session)
    if claim is not None:
        # Rejected before it ran (a validation error, a limit), or a failure a retry may not repeat (5xx).
        await _give_back(request, claim)
    return None


async def _store_and_commit(
    request: Request, session: AsyncSession | None, claim: idempotency.Claim, response: Response
) -> None:
    if session is None:
        async with resources_of(request).database.sessionmaker() as own:
            await _store_and_commit(request, own, claim, response)
        return
    try:
        await idempotency.store_response(session, claim, response)
        await commit(session)
    except BaseException:
        await rollback(session)
        raise


async def _give_back(request: Request, claim: idempotency.Claim) -> None:
    idempotency.forget_claim(request)
    try:
        await idempotency.release(resources_of(request).database, claim)
    except Exception as exc:
        # The claim's lease frees the key soon anyway.
        log.warning("idempotency.release_failed", error=type(exc).__name__)


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
