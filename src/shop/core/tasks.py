"""Celery tasks for the outbox handlers and the periodic jobs, run on the async shop code.

Each worker process gets its own event loop, in a thread of its own, and its own connections,
made on first use after the fork (an asyncpg pool must never cross a process boundary).
"""

import asyncio
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any, TypeVar

import structlog
from celery import Celery, Task
from prometheus_client import Counter, Histogram

from shop.core import outbox
from shop.core.config import Settings
from shop.core.resources import Resources, open_resources
from shop.core.schedule import PeriodicJob, periodic, periodic_jobs

log = structlog.get_logger()
T = TypeVar("T")

RETRY_CAP_SECONDS = 600.0
OUTBOX_SWEEP_SECONDS = 5.0
OUTBOX_RETENTION = timedelta(days=7)
# At process shutdown: longer than the relays' drain (core/resources.py), shorter than a kill.
CLOSE_TIMEOUT_SECONDS = 10.0

task_runs = Counter("shop_task_runs_total", "Background task runs by outcome.", ["task", "outcome"])
task_duration = Histogram(
    "shop_task_duration_seconds",
    "Background task run time.",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)


class WorkerRuntime:
    """The event loop and connections of one worker process.

    The loop runs for the life of the process in a thread of its own, and each task's coroutine
    is handed to it. A loop driven by `run_until_complete` would stand still between tasks, and
    with it whatever a task's commit started in the background: the relay of the events it
    recorded would wait for the next task, holding its pooled connection (and its row locks)
    meanwhile.
    """

    def __init__(self, settings: Settings, celery: Celery) -> None:
        self.settings = settings
        self.celery = celery
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._resources: Resources | None = None
        self._stack: AsyncExitStack | None = None
        self._starting = threading.Lock()  # a threads pool may start several tasks at once

    @property
    def resources(self) -> Resources:
        self._ensure_started()
        assert self._resources is not None
        return self._resources

    def run(self, coro_factory: Callable[[Resources], Coroutine[Any, Any, T]]) -> T:
        self._ensure_started()
        assert self._loop is not None and self._resources is not None
        future = asyncio.run_coroutine_threadsafe(coro_factory(self._resources), self._loop)
        try:
            return future.result()
        except BaseException:
            # Interrupted here (a time limit, a shutdown): the coroutine must not run on alone.
            future.cancel()
            raise

    def close(self) -> None:
        if self._pid == os.getpid() and self._loop is not None and self._stack is not None:
            try:
                asyncio.run_coroutine_threadsafe(self._stack.aclose(), self._loop).result(CLOSE_TIMEOUT_SECONDS)
            finally:
                _stop(self._loop, self._thread)
        self._pid = self._loop = self._thread = self._resources = self._stack = None

    def _ensure_started(self) -> None:
        with self._starting:
            if self._pid == os.getpid():
                return
            # A new process (forked worker child): nothing inherited may be reused, and nothing
            # is started before the fork, since a thread does not survive it.
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="shop-worker-loop", daemon=True)
            thread.start()
            stack = AsyncExitStack()
            opening = stack.enter_async_context(open_resources(self.settings, self.celery))
            try:
                self._resources = asyncio.run_coroutine_threadsafe(opening, loop).result()
            except BaseException:
                _stop(loop, thread)
                raise
            self._pid, self._loop, self._thread, self._stack = os.getpid(), loop, thread, stack


def _stop(loop: asyncio.AbstractEventLoop, thread: threading.Thread | None) -> None:
    loop.call_soon_threadsafe(loop.stop)
    if thread is not None:
        thread.join(CLOSE_TIMEOUT_SECONDS)
    if not loop.is_running():
        loop.close()


@periodic("outbox.sweep", every=timedelta(seconds=OUTBOX_SWEEP_SECONDS))
async def sweep_outbox(resources: Resources) -> int:
    total = 0
    while published := await outbox.relay_pending(resources.database, resources.publish):
        total += published
    return total


@periodic("outbox.purge", every=timedelta(hours=1))
async def purge_outbox(resources: Resources) -> int:
    return await outbox.delete_published_before(resources.database, OUTBOX_RETENTION)


def retry_delay(retries: int, base: float) -> float:
    """Exponential backoff with full jitter, so retries of many tasks do not arrive together."""
    return random.uniform(0, min(RETRY_CAP_SECONDS, base * 2**retries))


def register_tasks(celery: Celery, runtime: WorkerRuntime) -> None:
    """Create a Celery task for every registered handler and periodic job, and the schedule."""
    for handler in outbox.registered_handlers():
        _handler_task(celery, runtime, handler)
    schedule: dict[str, dict[str, Any]] = {}
    for job in periodic_jobs().values():
        _periodic_task(celery, runtime, job)
        seconds = job.period(runtime.settings).total_seconds()
        # A run that waited longer than its period is dropped: the next one does the same work.
        schedule[job.name] = {"task": job.name, "schedule": seconds, "options": {"expires": seconds}}
    celery.conf.beat_schedule = schedule


def _handler_task(celery: Celery, runtime: WorkerRuntime, handler: outbox.Handler) -> None:
    settings = runtime.settings

    @celery.task(name=handler.name, bind=True, max_retries=settings.task_max_retries)
    def handle(task: Task[Any, Any], event_id: str) -> None:
        started = time.perf_counter()
        parsed = uuid.UUID(event_id)
        try:
            ran = runtime.run(lambda r: outbox.run_handler(r.database, r.settings, handler.name, parsed))
        except Exception as exc:
            task_duration.labels(handler.name).observe(time.perf_counter() - started)
            if task.request.retries >= settings.task_max_retries:
                error = f"{type(exc).__name__}: {exc}"[:2000]
                runtime.run(lambda r: outbox.record_failure(r.database, handler.name, parsed, error))
                task_runs.labels(handler.name, "failed").inc()
                if handler.on_failure is not None:
                    handler.on_failure()
                log.error("outbox.handler_failed", task=handler.name, event_id=event_id, error=type(exc).__name__)
                return
            task_runs.labels(handler.name, "retry").inc()
            log.warning("outbox.handler_retry", task=handler.name, event_id=event_id, error=type(exc).__name__)
            delay = retry_delay(task.request.retries, settings.task_retry_base_seconds)
            raise task.retry(exc=exc, countdown=delay) from exc
        task_duration.labels(handler.name).observe(time.perf_counter() - started)
        task_runs.labels(handler.name, "done" if ran else "duplicate").inc()


def _periodic_task(celery: Celery, runtime: WorkerRuntime, job: PeriodicJob) -> None:
    @celery.task(name=job.name, ignore_result=True)
    def run_job() -> None:
        started = time.perf_counter()
        try:
            result = runtime.run(job.func)
        except Exception:
            task_runs.labels(job.name, "failed").inc()
            log.exception("jobs.failed", task=job.name)
            raise
        finally:
            task_duration.labels(job.name).observe(time.perf_counter() - started)
        task_runs.labels(job.name, "done").inc()
        if result:
            log.info("jobs.done", task=job.name, result=result)
