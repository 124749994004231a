"""PostgreSQL: the declarative base, engines and sessions, and the one transaction pattern.

Every unit of work (a request, a task, a command) ends with `commit(session)`, which runs the
callbacks registered with `after_commit` only once the commit succeeded. Side effects that must
not happen for a rolled-back change (cache invalidation, publishing events) go there.
"""

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import structlog
import uuid_utils.compat as uuid_utils
from prometheus_client import Gauge
from sqlalchemy import DateTime, MetaData, event, func
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry

from shop.core import metrics
from shop.core.breaker import CircuitBreaker
from shop.core.config import Settings
from shop.core.errors import is_connection_error
from shop.core.pool import GatedPool

log = structlog.get_logger()

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

AfterCommit = Callable[[], Awaitable[None]]
_TRANSACTION_STATE_KEY = "shop.transaction"


def quote_identifier(name: str) -> str:
    """Quote a PostgreSQL identifier (a database name cannot be a bind parameter)."""
    return '"' + name.replace('"', '""') + '"'


def new_id() -> uuid.UUID:
    """A time-ordered UUIDv7: unique like uuid4, yet friendly to B-tree indexes."""
    return uuid_utils.uuid7()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


# After a replica fails, catalogue reads use the primary this long before trying it again.
REPLICA_COOLDOWN_SECONDS = 5.0


class Database:
    """The engines and session factories of one process (build one per process, after any fork).

    `sessionmaker` opens sessions on the primary: every write, and every read that must see the
    writes before it. `read_session()` is for catalogue reads that may lag the primary a little:
    on the replica when one is configured and answering, else on the primary. Its transactions
    are read-only either way, so a write that strays into a catalogue read fails in every setup.
    """

    def __init__(self, settings: Settings) -> None:
        self.engine = create_engine(settings.require_database_url(), settings)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.replica_engine = (
            create_engine(settings.database_replica_url, settings, replica=True)
            if settings.database_replica_url
            else None
        )
        self.replica_breaker = CircuitBreaker(REPLICA_COOLDOWN_SECONDS)
        self._primary_reads = _read_only_sessions(self.engine)
        self._replica_reads = _read_only_sessions(self.replica_engine) if self.replica_engine else None

    @asynccontextmanager
    async def read_session(self, *, primary: bool = False) -> AsyncIterator[AsyncSession]:
        """A read-only session for reads that may lag: the replica's, or the primary's.

        `primary=True` reads the primary, read-only all the same: for a read that must see a
        write the replica may not have replayed yet.
        """
        replica = self._replica_reads
        if primary or replica is None or not self.replica_breaker.closed:
            async with self._primary_reads() as session:
                yield session
            return
        async with replica() as session:
            try:
                yield session
            except Exception as exc:
                if is_connection_error(exc):
                    # This request fails (503); the next ones read the primary for a while.
                    self.replica_breaker.trip()
                    log.warning("db.replica_unavailable", error=type(exc).__name__)
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.replica_engine is not None:
            await self.replica_engine.dispose()


def _read_only_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    read_only = engine.execution_options(postgresql_readonly=True)
    return async_sessionmaker(read_only, expire_on_commit=False, autoflush=False)


def create_engine(url: str, settings: Settings, *, replica: bool = False) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout,
        pool_recycle=1800,
        poolclass=GatedPool,
        connect_args=_connect_args(settings),
    )
    if replica:
        _track_pool(engine, metrics.db_replica_pool_size, metrics.db_replica_pool_checked_out)
    else:
        _track_pool(engine, metrics.db_pool_size, metrics.db_pool_checked_out)
    _ping_idle_connections(engine)
    return engine


# A connection back in the pool for less than this is handed out again without a ping.
PING_AFTER_IDLE_SECONDS = 1.0
_IDLE_SINCE = "shop_idle_since"


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Ping a pooled connection before use only when it has been idle for a while.

    A connection that died with a PostgreSQL restart must be replaced, not handed out. A ping
    on every checkout (`pool_pre_ping`) costs three round trips with asyncpg (BEGIN, `;`,
    ROLLBACK), more than a cached read itself. A connection that served a request within the
    last second was alive then; and when one fails mid-request, SQLAlchemy invalidates the whole
    pool, so its siblings reconnect too. (HikariCP skips its validation the same way.)
    """
    pool = engine.sync_engine.pool
    dialect = engine.dialect

    @event.listens_for(pool, "checkin")
    def _checkin(_conn: object, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: object) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # a new connection, or one in use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                # The pool drops this connection and checks out another (a new one if need be).
                raise DisconnectionError() from exc
            raise


def _connect_args(settings: Settings) -> dict[str, Any]:
    statement_timeout_ms = settings.database_statement_timeout_ms
    args: dict[str, Any] = {
        "timeout": settings.database_pool_timeout,
        "command_timeout": statement_timeout_ms / 1000 or None,
        "server_settings": {"application_name": "shop"},
    }
    if settings.database_pgbouncer:
        # Transaction pooling gives each transaction whichever server connection is free: a
        # statement prepared on one is missing from the next, and a name counted per client
        # ("__asyncpg_stmt_1__") is already taken there. So no statement caches, a unique name
        # for every statement, and no statement_timeout startup parameter (PgBouncer refuses
        # it): set that on the role instead (docs/scaling.md); command_timeout still applies.
        args.update(
            statement_cache_size=0,
            prepared_statement_cache_size=0,
            prepared_statement_name_func=unique_statement_name,
        )
    else:
        args["server_settings"]["statement_timeout"] = str(statement_timeout_ms)
    return args


def unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


def _track_pool(engine: AsyncEngine, size: Gauge, checked_out: Gauge) -> None:
    """Export the pool's own count of connections in use.

    Read from the pool rather than counted by these events: a checkout whose idle ping fails
    fires the checkout event again for the replacement, and a count would drift up for good.
    The engine's current pool is read each time, since `dispose()` replaces it.
    """
    pool = engine.sync_engine.pool
    size.set(pool.size())  # type: ignore[attr-defined]

    def in_use() -> int:
        count: int = engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined]
        return count

    @event.listens_for(pool, "checkout")
    def _checkout(*_: object) -> None:
        checked_out.set(in_use())

    @event.listens_for(pool, "checkin")
    def _checkin(_conn: object, _record: ConnectionPoolEntry) -> None:
        # The event comes before the connection is back in the pool, which still counts it.
        checked_out.set(in_use() - 1)


def transaction_state(session: AsyncSession) -> dict[str, Any]:
    """Scratch space that lives as long as the session's current transaction."""
    state: dict[str, Any] = session.info.setdefault(_TRANSACTION_STATE_KEY, {})
    return state


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once this session's transaction has committed; drop it on rollback."""
    transaction_state(session).setdefault("after_commit", []).append(callback)


async def commit(session: AsyncSession) -> None:
    """Commit the unit of work, then run its after-commit callbacks (never failing the caller)."""
    await session.commit()
    state = session.info.pop(_TRANSACTION_STATE_KEY, {})
    callbacks: list[AfterCommit] = state.get("after_commit", [])
    for callback in callbacks:
        try:
            await callback()
        except Exception:
            # The change is committed; a failed side effect is for its own retry path to handle.
            log.exception("db.after_commit_failed", callback=getattr(callback, "__qualname__", repr(callback)))


async def commit_intent(session: AsyncSession) -> None:
    """Commit what the unit of work has recorded so far, before it calls the outside world.

    The one exception to "one commit, at the end": an intent (a payment or refund about to be
    asked of a provider) must be durable before the call, and no transaction may stay open (or
    hold a row lock) while the call waits. The session goes on in a new transaction, which
    records the outcome and commits at the end of the unit of work as usual.
    """
    await commit(session)


async def rollback(session: AsyncSession) -> None:
    session.info.pop(_TRANSACTION_STATE_KEY, None)
    await session.rollback()


@asynccontextmanager
async def unit_of_work(database: Database) -> AsyncIterator[AsyncSession]:
    """A session for work outside a request (tasks, commands): commits at the end, or rolls back."""
    async with database.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await rollback(session)
            raise
        await commit(session)


@asynccontextmanager
async def unit_of_work_beside(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """A unit of work of its own on `session`'s database, with the same outbox relay: for work
    that an after-commit callback of `session` does (it must not reuse a finished session)."""
    info = {key: value for key, value in session.info.items() if key != _TRANSACTION_STATE_KEY}
    async with AsyncSession(session.bind, info=info, expire_on_commit=False, autoflush=False) as own:
        try:
            yield own
        except BaseException:
            await rollback(own)
            raise
        await commit(own)


def violated_constraint(error: IntegrityError) -> str | None:
    """The name of the constraint an INSERT/UPDATE broke (named by NAMING_CONVENTION)."""
    cause = getattr(error.orig, "__cause__", None)
    name = getattr(cause, "constraint_name", None) or getattr(error.orig, "constraint_name", None)
    return name if isinstance(name, str) else None
