"""The registry of periodic jobs: what runs on the schedule, and how often.

A leaf module: a job registers here from wherever its code lives (idempotency's purge, the
orders' expiry), and only the worker (`core/tasks.py`) turns the registry into Celery tasks and a
beat schedule. So the code that registers a job, the HTTP layer included, never imports the task
queue.
"""

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from shop.core.config import Settings

if TYPE_CHECKING:
    from shop.core.resources import Resources

T = TypeVar("T")

# A fixed period, or one read from the settings when the schedule is built.
Period = timedelta | Callable[[Settings], timedelta]
JobFunc = Callable[["Resources"], Coroutine[Any, Any, T]]


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    name: str
    every: Period
    func: JobFunc[object]

    def period(self, settings: Settings) -> timedelta:
        return self.every if isinstance(self.every, timedelta) else self.every(settings)


_periodic: dict[str, PeriodicJob] = {}


def periodic(name: str, every: Period) -> Callable[[JobFunc[T]], JobFunc[T]]:
    """Run `func(resources)` every `every` from the schedule (Celery beat), as task `name`."""

    def register(func: JobFunc[T]) -> JobFunc[T]:
        _periodic[name] = PeriodicJob(name=name, every=every, func=func)
        return func

    return register


def periodic_jobs() -> dict[str, PeriodicJob]:
    """Every registered job by name (a copy)."""
    return dict(_periodic)
