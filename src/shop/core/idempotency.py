"""Idempotency keys: a retried POST gets the first answer instead of doing the work twice.

A route opts in with the dependency `idempotency_guard(authenticate)`. For a request that
carries `Idempotency-Key` it:

1. claims (user, endpoint, key) in a short transaction of its own, committed at once, so a
   concurrent duplicate sees the claim and gets 409 `idempotency_in_progress`;
2. lets the route run; `ShopRoute` then commits through `commit_with_answer`, which stores the
   response on the claim *in the route's own transaction*, so the stored answer commits together
   with the change it describes, or not at all;
3. answers a later retry with the stored status, headers and body bytes, plus
   `Idempotent-Replayed: true`.

A claim carries a lease: if the process dies mid-request, the key is free again once the lease
ends. A request rejected before it ran (validation) or that failed in a way a retry may fix
(a 5xx) gives its claim back (`give_back`) instead of storing an answer; one that failed for good
(`stores_failure`) stores its error like a success.
"""

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

import structlog
from fastapi import Depends, Header, Request, Response
from sqlalchemy import DateTime, Index, Integer, LargeBinary, String, UniqueConstraint, delete, func, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shop.core.db import Base, Database, commit, new_id, rollback, unit_of_work
from shop.core.deps import SessionDep, resources_of
from shop.core.errors import BadRequest, Conflict, ShopError, UnprocessableEntity
from shop.core.logging import route_template
from shop.core.resources import Resources
from shop.core.schedule import periodic
from shop.core.security import principal_of

log = structlog.get_logger()

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_TTL = timedelta(hours=24)
# Longer than any request runs (statements time out after 15 s); a crashed request's key is
# blocked for at most this long.
LEASE = timedelta(seconds=60)
MAX_KEY_LENGTH = 255
_CLAIM_STATE_KEY = "idempotency_claim"
_CLAIM_ATTEMPTS = 3
# Not replayed: recomputed for every response, or per request.
_UNSTORED_HEADERS = frozenset({"content-length", "x-request-id", "date", "server", "set-cookie"})
IN_PROGRESS = "in_progress"
DONE = "done"


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_record"
    __table_args__ = (
        UniqueConstraint("user_id", "scope", "key"),
        Index("ix_idempotency_record_expires_at", "expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column()  # no foreign key: core knows no domain's tables
    scope: Mapped[str] = mapped_column(String(300))  # "POST /api/v1/orders/{order_id}/pay"
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    token: Mapped[uuid.UUID] = mapped_column()  # which request holds the claim
    locked_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_headers: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class InvalidIdempotencyKey(BadRequest):
    code = "invalid_idempotency_key"


class IdempotencyKeyReused(UnprocessableEntity):
    code = "idempotency_key_reused"


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"
    response_headers = ("Retry-After",)

    def __init__(self, detail: str = "A request with this Idempotency-Key is still running; retry shortly.") -> None:
        super().__init__(detail, headers={"Retry-After": "1"})


class IdempotentReplay(Exception):
    """Raised by the guard to answer with a stored response; `ShopRoute` returns it as is."""

    def __init__(self, response: Response) -> None:
        super().__init__("idempotent replay")
        self.response = response


@dataclass(frozen=True, slots=True)
class Claim:
    record_id: uuid.UUID
    token: uuid.UUID


# -- the key and the request's fingerprint -------------------------------------------------


def parse_key(raw: str) -> str:
    """The key: 1..255 printable ASCII characters, or an RFC 8941 string holding them."""
    value = raw.strip(" \t")
    if value.startswith('"'):
        value = _unquote(value)
    if not 1 <= len(value) <= MAX_KEY_LENGTH or not all(" " <= ch <= "~" for ch in value):
        raise InvalidIdempotencyKey(f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.")
    return value


def _unquote(value: str) -> str:
    # A structured-field sf-string: "..." where only \" and \\ are escapes.
    if len(value) < 2 or not value.endswith('"'):
        raise InvalidIdempotencyKey(f"{HEADER} is a badly quoted string.")
    chars: list[str] = []
    inner = iter(value[1:-1])
    for ch in inner:
        if ch == "\\":
            ch = next(inner, "")
            if ch not in ('"', "\\"):
                raise InvalidIdempotencyKey(f"{HEADER} is a badly quoted string.")
        elif ch == '"':
            raise InvalidIdempotencyKey(f"{HEADER} is a badly quoted string.")
        chars.append(ch)
    return "".join(chars)


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """A digest of what the request asks for; JSON bodies are compared by value, not spelling."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode() if body else b""
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


# -- the dependency --------------------------------------------------------------------------


def idempotency_guard(authenticate: Callable[..., Any]) -> Callable[..., Awaitable[None]]:
    """A dependency making a route idempotent per caller; `authenticate` runs first and sets the principal.

    Use it in the route's `dependencies=[...]`, so it runs before anything the route writes.
    """

    async def guard(
        request: Request,
        _: Annotated[object, Depends(authenticate)],
        session: SessionDep,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias=HEADER,
                description="Makes a retry safe: the same key and body within 24 h get the first answer.",
                # Checked by `parse_key`, which answers 400 `invalid_idempotency_key` (API.md), not 422.
                json_schema_extra={"maxLength": MAX_KEY_LENGTH + 2},  # + the quotes of an sf-string
            ),
        ] = None,
    ) -> None:
        if idempotency_key is None:
            return
        key = parse_key(idempotency_key)
        user_id = principal_of(request).user_id
        scope = f"{request.method} {route_template(request.scope) or request.url.path}"
        body = await request.body()
        digest = fingerprint(request.method, request.url.path, request.url.query, body)
        claim = await claim_key(session, user_id, scope, key, digest)
        setattr(request.state, _CLAIM_STATE_KEY, claim)

    return guard


def claim_of(request: Request) -> Claim | None:
    claim: Claim | None = getattr(request.state, _CLAIM_STATE_KEY, None)
    return claim


def _forget_claim(request: Request) -> None:
    setattr(request.state, _CLAIM_STATE_KEY, None)


# -- the request's outcome (called by `ShopRoute`) -------------------------------------------


async def commit_with_answer(request: Request, session: AsyncSession | None, response: Response) -> None:
    """Commit the request's transaction, with `response` stored on its claim when it has one.

    If that fails, the claim is given back and the error raised: nothing was stored.
    """
    claim = claim_of(request)
    if claim is None:
        if session is not None:
            await commit(session)
        return
    try:
        await _store_and_commit(request, session, claim, response)
    except BaseException:
        await give_back(request)
        raise


def stores_failure(request: Request, exc: ShopError) -> bool:
    """Whether an idempotent request's error is its answer for good, to store and replay.

    It ran and failed in a way a retry would repeat (409 insufficient_stock, 402 declined…); a
    request rejected before it ran, or a 5xx, gives its key back instead.
    """
    return claim_of(request) is not None and exc.status < 500 and exc.final


async def give_back(request: Request) -> None:
    """Free the request's claim, if it has one: a retry with its key runs again."""
    claim = claim_of(request)
    if claim is None:
        return
    _forget_claim(request)
    try:
        await release(resources_of(request).database, claim)
    except Exception as exc:
        # The claim's lease frees the key soon anyway.
        log.warning("idempotency.release_failed", error=type(exc).__name__)


async def _store_and_commit(request: Request, session: AsyncSession | None, claim: Claim, response: Response) -> None:
    if session is None:
        async with resources_of(request).database.sessionmaker() as own:
            await _store_and_commit(request, own, claim, response)
        return
    try:
        await store_response(session, claim, response)
        await commit(session)
    except BaseException:
        await rollback(session)
        raise


# -- claiming, storing, releasing ------------------------------------------------------------


async def claim_key(session: AsyncSession, user_id: uuid.UUID, scope: str, key: str, digest: str) -> Claim:
    """Claim the key for this request and commit the claim, or raise: replay, 422 reused, 409 in progress.

    It runs on the request's own session, which holds no writes yet, and commits at once: a
    second connection per request could starve the pool under load (every request holding one
    and waiting for another).
    """
    for _ in range(_CLAIM_ATTEMPTS):
        claim = await _insert_claim(session, user_id, scope, key, digest)
        if claim is None:
            found = (
                await session.execute(
                    select(IdempotencyRecord, func.now())
                    .where(
                        IdempotencyRecord.user_id == user_id,
                        IdempotencyRecord.scope == scope,
                        IdempotencyRecord.key == key,
                    )
                    .execution_options(populate_existing=True)
                )
            ).one_or_none()
            if found is None:
                continue  # purged between our INSERT and SELECT: try again
            record, now = found
            _refuse_unless_free(record, now, digest)
            # Expired, or a claim whose request died: take it over unless someone else just did.
            claim = await _take_over(session, record, digest)
        if claim is not None:
            await commit(session)
            return claim
    raise IdempotencyInProgress()


def _refuse_unless_free(record: IdempotencyRecord, now: datetime, digest: str) -> None:
    if record.expires_at <= now:
        return
    if record.fingerprint != digest:
        raise IdempotencyKeyReused(f"This {HEADER} was used with another request.")
    if record.status == DONE:
        raise IdempotentReplay(replay_response(record))
    if record.locked_until > now:
        raise IdempotencyInProgress()


async def _insert_claim(session: AsyncSession, user_id: uuid.UUID, scope: str, key: str, digest: str) -> Claim | None:
    token = new_id()
    record_id: uuid.UUID | None = await session.scalar(
        insert(IdempotencyRecord)
        .values(
            id=new_id(),
            user_id=user_id,
            scope=scope,
            key=key,
            fingerprint=digest,
            status=IN_PROGRESS,
            token=token,
            locked_until=func.now() + LEASE,
            expires_at=func.now() + KEY_TTL,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "scope", "key"])
        .returning(IdempotencyRecord.id)
    )
    return Claim(record_id, token) if record_id is not None else None


async def _take_over(session: AsyncSession, record: IdempotencyRecord, digest: str) -> Claim | None:
    token = new_id()
    expired = IdempotencyRecord.expires_at <= func.now()
    abandoned = (IdempotencyRecord.status == IN_PROGRESS) & (IdempotencyRecord.locked_until <= func.now())
    taken: uuid.UUID | None = await session.scalar(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record.id, IdempotencyRecord.token == record.token, expired | abandoned)
        .values(
            fingerprint=digest,
            status=IN_PROGRESS,
            token=token,
            locked_until=func.now() + LEASE,
            expires_at=func.now() + KEY_TTL,
            created_at=func.now(),
            response_status=None,
            response_headers=None,
            response_body=None,
        )
        .returning(IdempotencyRecord.id)
    )
    return Claim(taken, token) if taken is not None else None


async def store_response(session: AsyncSession, claim: Claim, response: Response) -> None:
    """Store the answer in the caller's transaction; 409 if the claim was lost (nothing may commit)."""
    headers = {name: value for name, value in response.headers.items() if name not in _UNSTORED_HEADERS}
    result = await session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.id == claim.record_id,
            IdempotencyRecord.token == claim.token,
            IdempotencyRecord.status == IN_PROGRESS,
        )
        .values(
            status=DONE,
            response_status=response.status_code,
            response_headers=headers,
            response_body=bytes(response.body),
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        # Our lease ran out and another request took the key: its outcome is the one that counts.
        raise IdempotencyInProgress("This request took too long and another one with its key took over.")


async def release(database: Database, claim: Claim) -> None:
    """Give the key back: the request did not run, or failed in a way a retry may fix."""
    async with unit_of_work(database) as session:
        await session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.id == claim.record_id,
                IdempotencyRecord.token == claim.token,
                IdempotencyRecord.status == IN_PROGRESS,
            )
        )


def replay_response(record: IdempotencyRecord) -> Response:
    assert record.response_status is not None and record.response_body is not None
    headers = {**(record.response_headers or {}), REPLAYED_HEADER: "true"}
    return Response(content=record.response_body, status_code=record.response_status, headers=headers)


@periodic("idempotency.purge", every=timedelta(hours=1))
async def purge_expired(resources: Resources) -> int:
    """Retention: answers older than 24 h are never replayed again."""
    async with unit_of_work(resources.database) as session:
        result = await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= func.now()))
        return int(result.rowcount)  # type: ignore[attr-defined]
