"""Process-local copies of the configuration every checkout reads and staff rarely write (tax
rates, shipping methods, automatic promotions), coherent through one generation number.

Why not the Redis cache (cache.py): these are read on every cart and checkout request, where a
round trip to Redis per read would cost about what the query it saves does. Here a hit costs
nothing, and the coherence check rides on a query the request makes anyway (its clock).

Coherence: triggers on the configuration tables (migration 0013) set `config_generation` to a
new random number in the writing transaction, so a reader sees the new generation exactly when it
can see the write, whichever process or tool (the admin API, `shop seed-demo`, psql) made it. A request reads the
generation with its clock (`generation_column`) and only then asks the cache, whose loader reads
the tables after that: what is stored under a generation is never older than that generation's
data. All entries are dropped when the generation changes.
"""

from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import BigInteger, CheckConstraint, Integer, ScalarSelect, select
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shop.core.db import Base

T = TypeVar("T")


class ConfigGeneration(Base):
    """One row: a new random number from the triggers of every cached configuration table."""

    __tablename__ = "config_generation"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(BigInteger)


def generation_column() -> ScalarSelect[int]:
    """The current generation, to select with something the request reads anyway."""
    return select(ConfigGeneration.generation).where(ConfigGeneration.id == 1).scalar_subquery()


class ConfigCache:
    """Values loaded under one generation of one database; a read under another starts afresh."""

    def __init__(self) -> None:
        self._stamp: tuple[URL, int] | None = None
        self._values: dict[Hashable, Any] = {}

    async def get(self, session: AsyncSession, generation: int, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        """The value of `key` at `generation` (read in `session`'s transaction); `load` reads the
        tables in that transaction, after the generation was read."""
        # A process may talk to several databases (a test's own, say): a generation is theirs.
        stamp = (session.get_bind().engine.url, generation)
        if stamp == self._stamp and key in self._values:
            value: T = self._values[key]
            return value
        value = await load()
        if stamp != self._stamp:
            self._stamp, self._values = stamp, {}
        self._values[key] = value
        return value
