"""The transactional outbox: events recorded with the change that caused them, delivered once.

1. `record_event(session, type, payload)` adds a row in the caller's transaction. A rollback
   drops it, so nothing is ever announced for a change that did not happen.
2. After the commit the relay publishes one Celery task per handler of the event type, right
   away; a scheduled sweep publishes whatever that missed (a crash, the broker down). Relays
   claim rows with `FOR UPDATE SKIP LOCKED`, so two relays never publish one event at once.
3. A handler runs under a delivery row keyed by (event, handler), locked for the duration: a
   redelivered or duplicate task finds it done and does nothing.
4. Work too long for one transaction (a background job) registers with `handles_guarded`
   instead: it guards itself against running twice at once (a job's lease, see core/jobs.py),
   commits its own short transactions, and runs outside any delivery transaction. It returns
   whether its work is settled; only then is its delivery marked done, in a short transaction of
   its own, so a task sent again (say by `jobs.resume`) runs it again until it is.
"""

import asyncio
import enum
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shop.core.config import Settings
from shop.core.db import Base, Database, after_commit, new_id, transaction_state, unit_of_work

log = structlog.get_logger()

RELAY_BATCH_SIZE = 500


class OutboxEvent(Base):
    __tablename__ = "outbox_event"
    __table_args__ = (
        # The relays' work queue: only pending rows are indexed, so the index stays tiny.
        Index("ix_outbox_event_pending", "id", postgresql_where=text("published_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DeliveryStatus(enum.StrEnum):
    done = "done"
    failed = "failed"


class OutboxDelivery(Base):
    __tablename__ = "outbox_delivery"

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outbox_event.id", ondelete="CASCADE"), primary_key=True)
    handler: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str | None] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


@dataclass(frozen=True, slots=True)
class Event:
    """What a handler receives."""

    id: uuid.UUID
    type: str
    payload: dict[str, Any]
    request_id: str | None
    created_at: datetime


HandlerFunc = Callable[[AsyncSession, Event, Settings], Awaitable[None]]
# Runs outside any transaction with the process's database; True once its work is settled.
GuardedHandlerFunc = Callable[[Database, Event, Settings], Awaitable[bool]]
Publisher = Callable[[str, uuid.UUID], Awaitable[None]]
FailureHook = Callable[[], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Handler:
    name: str  # also the Celery task name, "<domain>.<verb>"
    event_type: str
    on_failure: FailureHook | None = None  # called once a delivery is marked failed (its last retry)


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionHandler(Handler):
    func: HandlerFunc


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardedHandler(Handler):
    func: GuardedHandlerFunc


AnyHandler = TransactionHandler | GuardedHandler
_handlers: dict[str, AnyHandler] = {}


def _register(handler: AnyHandler) -> None:
    existing = _handlers.get(handler.name)
    if existing is not None and existing.func is not handler.func:
        raise ValueError(f"a handler named {handler.name!r} is already registered")
    _handlers[handler.name] = handler


def handles(
    event_type: str, name: str, *, on_failure: FailureHook | None = None
) -> Callable[[HandlerFunc], HandlerFunc]:
    """Subscribe `func(session, event, settings)` to events of `event_type`, as task `name`.

    The handler runs in the transaction that marks its delivery done: its own writes commit
    with that mark, or roll back with it for a retry. `on_failure` runs in the worker each time
    a delivery gives up after its last retry.
    """

    def register(func: HandlerFunc) -> HandlerFunc:
        _register(TransactionHandler(name=name, event_type=event_type, func=func, on_failure=on_failure))
        return func

    return register


def handles_guarded(event_type: str, name: str) -> Callable[[GuardedHandlerFunc], GuardedHandlerFunc]:
    """Subscribe `func(database, event, settings)`, which guards itself, to events of `event_type`.

    It runs outside any delivery transaction and commits its own; the delivery is marked done
    when it returns True (its work is settled), and left open when it returns False.
    """

    def register(func: GuardedHandlerFunc) -> GuardedHandlerFunc:
        _register(GuardedHandler(name=name, event_type=event_type, func=func))
        return func

    return register


def registered_handlers() -> list[AnyHandler]:
    return list(_handlers.values())


def handlers_for(event_type: str) -> list[AnyHandler]:
    return [handler for handler in _handlers.values() if handler.event_type == event_type]


def get_handler(name: str) -> AnyHandler:
    return _handlers[name]


# -- recording -----------------------------------------------------------------------------

# Sessions whose factory puts an `ImmediateRelay` under this key relay right after commit.
RELAY_SESSION_INFO_KEY = "shop.outbox.relay"
ImmediateRelay = Callable[[list[uuid.UUID]], None]


def record_event(session: AsyncSession, event_type: str, payload: dict[str, Any]) -> uuid.UUID:
    """Add an event to the caller's transaction; it is relayed once that transaction commits."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    event = OutboxEvent(id=new_id(), type=event_type, payload=payload, request_id=request_id)
    session.add(event)
    relay: ImmediateRelay | None = session.info.get(RELAY_SESSION_INFO_KEY)
    if relay is not None:
        state = transaction_state(session)
        pending: list[uuid.UUID] | None = state.get("outbox_pending")
        if pending is None:
            pending = state["outbox_pending"] = []
            ids = pending

            async def relay_committed() -> None:
                relay(ids)

            after_commit(session, relay_committed)
        pending.append(event.id)
    return event.id


# -- relaying ------------------------------------------------------------------------------


async def relay_pending(
    database: Database, publish: Publisher, ids: Sequence[uuid.UUID] | None = None, limit: int = RELAY_BATCH_SIZE
) -> int:
    """Publish pending events (all, or those of `ids`); returns how many went out."""
    async with unit_of_work(database) as session:
        query = (
            select(OutboxEvent.id, OutboxEvent.type)
            .where(OutboxEvent.published_at.is_(None))
            .order_by(OutboxEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if ids is not None:
            query = query.where(OutboxEvent.id.in_(ids))
        rows = (await session.execute(query)).all()
        published: list[uuid.UUID] = []
        for event_id, event_type in rows:
            try:
                for handler in handlers_for(event_type):
                    await publish(handler.name, event_id)
            except Exception as exc:
                # The broker is unreachable: leave the rest pending for the next sweep.
                log.warning("outbox.publish_failed", event_id=str(event_id), error=type(exc).__name__)
                break
            published.append(event_id)
        if published:
            await session.execute(
                update(OutboxEvent).where(OutboxEvent.id.in_(published)).values(published_at=func.now())
            )
        return len(published)


@dataclass(frozen=True, slots=True)
class Backlog:
    pending: int
    oldest_age_seconds: float  # 0 when nothing is pending


async def backlog(database: Database) -> Backlog:
    """Events not yet published, and how long the oldest has waited (the database's clock)."""
    async with database.sessionmaker() as session:
        pending, age = (
            await session.execute(
                select(
                    func.count(),
                    func.coalesce(func.extract("epoch", func.now() - func.min(OutboxEvent.created_at)), 0),
                ).where(OutboxEvent.published_at.is_(None))
            )
        ).one()
        return Backlog(pending=int(pending), oldest_age_seconds=max(float(age), 0.0))


async def delete_published_before(database: Database, age: timedelta) -> int:
    """Retention: drop published events (and their deliveries) older than `age`."""
    async with unit_of_work(database) as session:
        result = await session.execute(
            delete(OutboxEvent).where(
                OutboxEvent.published_at.is_not(None),
                OutboxEvent.created_at < func.now() - age,
                ~select(OutboxDelivery.event_id)
                .where(OutboxDelivery.event_id == OutboxEvent.id, OutboxDelivery.status == DeliveryStatus.failed)
                .exists(),
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


# -- handling ------------------------------------------------------------------------------


async def run_handler(database: Database, settings: Settings, handler_name: str, event_id: uuid.UUID) -> bool:
    """Run one handler for one event at most once; False when it had already run (or failed).

    A guarded handler runs again until its work is settled; False also when it deferred.
    """
    handler = get_handler(handler_name)
    if isinstance(handler, GuardedHandler):
        return await _run_guarded(database, settings, handler, event_id)
    async with unit_of_work(database) as session:
        await session.execute(
            insert(OutboxDelivery)
            .values(event_id=event_id, handler=handler_name)
            .on_conflict_do_nothing(index_elements=["event_id", "handler"])
        )
        # The row lock makes a concurrent duplicate wait, then see the outcome.
        delivery = await session.scalar(
            select(OutboxDelivery)
            .where(OutboxDelivery.event_id == event_id, OutboxDelivery.handler == handler_name)
            .with_for_update()
        )
        if delivery is None or delivery.status is not None:
            return False
        row = await session.get(OutboxEvent, event_id)
        if row is None:
            return False
        event = Event(row.id, row.type, row.payload, row.request_id, row.created_at)
        with structlog.contextvars.bound_contextvars(
            request_id=event.request_id, event_id=str(event.id), event_type=event.type, handler=handler_name
        ):
            await handler.func(session, event, settings)
            log.info("outbox.handled")
        delivery.status = DeliveryStatus.done
        delivery.attempts += 1
        return True


async def _run_guarded(database: Database, settings: Settings, handler: GuardedHandler, event_id: uuid.UUID) -> bool:
    async with unit_of_work(database) as session:
        await session.execute(
            insert(OutboxDelivery)
            .values(event_id=event_id, handler=handler.name)
            .on_conflict_do_nothing(index_elements=["event_id", "handler"])
        )
        status = await session.scalar(
            select(OutboxDelivery.status).where(
                OutboxDelivery.event_id == event_id, OutboxDelivery.handler == handler.name
            )
        )
        row = await session.get(OutboxEvent, event_id)
        # A failed mark only records that an earlier run gave up: the handler guards itself.
        if status == DeliveryStatus.done or row is None:
            return False
        event = Event(row.id, row.type, row.payload, row.request_id, row.created_at)
    with structlog.contextvars.bound_contextvars(
        request_id=event.request_id, event_id=str(event.id), event_type=event.type, handler=handler.name
    ):
        if not await handler.func(database, event, settings):
            log.info("outbox.handler_deferred")  # its work is held elsewhere for now
            return False
        async with unit_of_work(database) as session:
            await session.execute(
                update(OutboxDelivery)
                .where(OutboxDelivery.event_id == event_id, OutboxDelivery.handler == handler.name)
                .values(status=DeliveryStatus.done, attempts=OutboxDelivery.attempts + 1, last_error=None)
            )
        log.info("outbox.handled")
    return True


async def record_failure(database: Database, handler_name: str, event_id: uuid.UUID, error: str) -> None:
    """The last retry failed: mark the delivery failed, for `shop outbox` to show and retry."""
    async with unit_of_work(database) as session:
        await session.execute(
            insert(OutboxDelivery)
            .values(event_id=event_id, handler=handler_name, status=DeliveryStatus.failed, attempts=1, last_error=error)
            .on_conflict_do_update(
                index_elements=["event_id", "handler"],
                set_={
                    "status": DeliveryStatus.failed,
                    "attempts": OutboxDelivery.attempts + 1,
                    "last_error": error,
                    "updated_at": func.now(),
                },
                where=OutboxDelivery.status.is_distinct_from(DeliveryStatus.done),
            )
        )


class BackgroundRelay:
    """Relays just-committed events without making the request wait for the broker.

    One relay runs at a time per process, and takes every event committed while the previous
    batch went out: under load, one transaction and one UPDATE carry many events instead of a
    transaction per commit. If it fails (the broker is down, the process dies), the events stay
    pending for the sweep.
    """

    def __init__(self, database: Database, publish: Publisher) -> None:
        self.database = database
        self.publish = publish
        self._waiting: list[uuid.UUID] = []
        self._task: asyncio.Task[None] | None = None

    def __call__(self, ids: list[uuid.UUID]) -> None:
        self._waiting.extend(ids)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._relay_waiting())

    async def _relay_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:RELAY_BATCH_SIZE], self._waiting[RELAY_BATCH_SIZE:]
            try:
                await relay_pending(self.database, self.publish, batch)
            except Exception as exc:
                log.warning("outbox.relay_failed", error=type(exc).__name__, events=len(batch))

    async def drain(self, seconds: float) -> None:
        """At shutdown: let the relay in flight finish (the sweep covers what it does not)."""
        if self._task is not None and not self._task.done():
            await asyncio.wait({self._task}, timeout=seconds)


# -- operations (`shop outbox`) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FailedDelivery:
    event_id: uuid.UUID
    event_type: str
    handler: str
    attempts: int
    last_error: str | None
    failed_at: datetime


async def list_failed(database: Database, limit: int = 100) -> list[FailedDelivery]:
    async with database.sessionmaker() as session:
        rows = await session.execute(
            select(OutboxDelivery, OutboxEvent.type)
            .join(OutboxEvent, OutboxEvent.id == OutboxDelivery.event_id)
            .where(OutboxDelivery.status == DeliveryStatus.failed)
            .order_by(OutboxDelivery.updated_at)
            .limit(limit)
        )
        return [
            FailedDelivery(d.event_id, event_type, d.handler, d.attempts, d.last_error, d.updated_at)
            for d, event_type in rows
        ]


async def retry_failed(database: Database, publish: Publisher, event_id: uuid.UUID | None = None) -> int:
    """Give failed deliveries (all, or one event's) another run; returns how many were sent."""
    async with unit_of_work(database) as session:
        query = (
            update(OutboxDelivery)
            .where(OutboxDelivery.status == DeliveryStatus.failed)
            .values(status=None, last_error=None)
            .returning(OutboxDelivery.event_id, OutboxDelivery.handler)
        )
        if event_id is not None:
            query = query.where(OutboxDelivery.event_id == event_id)
        retried = (await session.execute(query)).all()
        for failed_event_id, handler in retried:
            await publish(handler, failed_event_id)
        return len(retried)
