"""Background jobs a client can follow: one row per job with its status, progress and input.

A job is created with its input stored in the row (whichever worker machine takes it can read
it) and announced through the outbox in the same transaction, so no job is announced for a
rolled-back request. `runs(event_type, kind)` registers the function that does a kind of job.

A job never runs inside one long transaction. Its worker works in steps (a catalog import: a
batch of lines), each one transaction that carries the step's writes *and* the job's checkpoint:
how far through the input it got, the done and failed counts, the step's errors. So after any
crash the row says exactly what was applied, and `GET /admin/jobs/{id}` shows it as it goes.

Two workers never run one job at once: a worker first claims the job, which gives it a lease
(`SHOP_JOB_LEASE_SECONDS`) under a token of its own, and every checkpoint renews the lease only
if the token still holds it. A worker that dies stops renewing; once its lease has expired the
schedule's `jobs.resume` sends the job's task again (without waiting for the broker's visibility
timeout), and the worker that claims it continues after the last committed step. Should the
first worker only have stalled, its next checkpoint finds the token changed and raises
`LeaseLost`, which rolls its step back. The runner is an outbox handler that guards itself
(`outbox.handles_guarded`): it runs outside any delivery transaction, and its delivery counts
as done once the job has finished.
"""

import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import structlog
from sqlalchemy import DateTime, Index, Integer, LargeBinary, String, Text, bindparam, cast, func, select, text, update
from sqlalchemy.dialects.postgresql import JSONB, JSONPATH
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, deferred, mapped_column

from shop.core.config import Settings
from shop.core.db import Base, Database, TimestampMixin, new_id, unit_of_work
from shop.core.deps import SessionDep
from shop.core.errors import NotFound, error_responses
from shop.core.outbox import Event, handles_guarded, record_event
from shop.core.resources import Resources
from shop.core.routing import shop_router
from shop.core.schedule import periodic
from shop.core.schemas import Schema

log = structlog.get_logger()

# A file with a million bad lines must not make a row (and a response) of a hundred megabytes:
# the first errors are kept, `failed` still counts them all.
MAX_JOB_ERRORS = 1000


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


FINISHED = (JobStatus.succeeded, JobStatus.failed)
UNFINISHED = (JobStatus.queued, JobStatus.running)


class Job(TimestampMixin, Base):
    __tablename__ = "job"
    __table_args__ = (
        # `jobs.resume`'s work queue: only unfinished jobs are indexed, so the index stays tiny.
        Index("ix_job_unfinished", "updated_at", postgresql_where=text("status IN ('queued', 'running')")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.queued, server_default=JobStatus.queued.value)
    total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # [{"line": int, "msg": str}], at most MAX_JOB_ERRORS of them.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    # What the worker needs besides the input (its format, the uploaded file's name).
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    # Up to the upload limit: loaded only by the worker, and dropped once the job has finished.
    input: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    # The staff user who asked for it; no foreign key across domains.
    created_by: Mapped[uuid.UUID | None] = mapped_column()
    # How far through its input the last committed step got, in the kind's own unit (0: nowhere).
    checkpoint: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The outbox event that announced the job: `jobs.resume` sends its task again.
    event_id: Mapped[uuid.UUID | None] = mapped_column()
    # The run that holds the job, and until when (renewed by each checkpoint).
    lease_token: Mapped[uuid.UUID | None] = mapped_column()
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class JobError(Schema):
    line: int
    msg: str


class JobView(Schema):
    id: uuid.UUID
    kind: str
    status: JobStatus
    total: int
    done: int
    failed: int
    errors: list[JobError]
    failure_reason: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class LeaseLost(Exception):
    """Another worker has taken the job over (this run's lease had expired): stop, and roll back."""


@dataclass(frozen=True, slots=True)
class JobRun:
    """One worker's hold on a job, from its claim until it finishes or loses the lease."""

    job_id: uuid.UUID
    token: uuid.UUID
    lease: timedelta
    checkpoint: int  # where the last committed step left off: this run continues after it
    params: dict[str, Any]
    created_by: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Stale:
    """An unfinished job nobody has renewed for a lease: its task is to be sent again."""

    job_id: uuid.UUID
    kind: str
    event_id: uuid.UUID


class JobService:
    # Job times are wall-clock times (`clock_timestamp()`): `now()` is when the transaction began.
    async def create(
        self,
        session: AsyncSession,
        kind: str,
        *,
        announce: str,
        input: bytes,
        params: dict[str, Any],
        total: int,
        created_by: uuid.UUID | None,
    ) -> Job:
        """Add a queued job and its `announce` event (payload `{"job_id"}`) to the caller's transaction."""
        job = Job(id=new_id(), kind=kind, input=input, params=params, total=total, created_by=created_by)
        job.event_id = record_event(session, announce, {"job_id": str(job.id)})
        session.add(job)
        await session.flush()
        return job

    async def get(self, session: AsyncSession, job_id: uuid.UUID) -> Job | None:
        return await session.get(Job, job_id)

    async def read_input(self, session: AsyncSession, job_id: uuid.UUID) -> bytes | None:
        data: bytes | None = await session.scalar(select(Job.input).where(Job.id == job_id))
        return data

    async def claim(self, session: AsyncSession, job_id: uuid.UUID, lease: timedelta) -> JobRun | None:
        """Take an unfinished job nobody holds (or whose holder's lease expired); None otherwise."""
        now = func.clock_timestamp()
        token = new_id()
        row = (
            await session.execute(
                update(Job)
                .where(
                    Job.id == job_id,
                    Job.status.in_(UNFINISHED),
                    (Job.lease_expires_at.is_(None)) | (Job.lease_expires_at <= now),
                )
                .values(
                    status=JobStatus.running,
                    lease_token=token,
                    lease_expires_at=now + lease,
                    started_at=func.coalesce(Job.started_at, now),
                    updated_at=now,
                )
                .returning(Job.checkpoint, Job.params, Job.created_by)
            )
        ).one_or_none()
        if row is None:
            return None
        return JobRun(job_id, token, lease, row.checkpoint, row.params, row.created_by)

    async def checkpoint(
        self, session: AsyncSession, run: JobRun, *, position: int, done: int, failed: int, errors: list[JobError]
    ) -> None:
        """Record a step in the step's own transaction: `done` and `failed` more lines, its errors appended.

        Raises `LeaseLost` when the run no longer holds the job, so the step rolls back with it.
        """
        now = func.clock_timestamp()
        values: dict[str, Any] = {
            "checkpoint": position,
            "done": Job.done + done,
            "failed": Job.failed + failed,
            "lease_expires_at": now + run.lease,
            "updated_at": now,
        }
        if errors:
            appended = Job.errors.op("||")(bindparam("new_errors", [e.model_dump() for e in errors], JSONB))
            # Keep the first MAX_JOB_ERRORS: the path slice quietly stops at the array's end.
            values["errors"] = func.jsonb_path_query_array(appended, cast(f"$[0 to {MAX_JOB_ERRORS - 1}]", JSONPATH))
        await self._held(session, run, values)

    async def finish(
        self, session: AsyncSession, run: JobRun, status: JobStatus, failure_reason: str | None = None
    ) -> None:
        """End the job and drop its input; `LeaseLost` when the run no longer holds it."""
        now = func.clock_timestamp()
        values = {
            "status": status,
            "failure_reason": failure_reason,
            "input": None,
            "lease_token": None,
            "lease_expires_at": None,
            "finished_at": now,
            "updated_at": now,
        }
        await self._held(session, run, values)

    async def _held(self, session: AsyncSession, run: JobRun, values: dict[str, Any]) -> None:
        # The UPDATE locks the row: a worker taking over waits for this step, then sees its token.
        result = await session.execute(
            update(Job)
            .where(Job.id == run.job_id, Job.lease_token == run.token, Job.status == JobStatus.running)
            .values(**values)
            .returning(Job.id)
        )
        if result.scalar_one_or_none() is None:
            raise LeaseLost(str(run.job_id))

    async def mark_stale(
        self, session: AsyncSession, lease: timedelta, kinds: Collection[str], limit: int = 100
    ) -> Sequence[Stale]:
        """Unfinished jobs of `kinds` that nobody holds and nothing touched for a lease.

        They are touched here, so each is sent again at most once a lease.
        """
        now = func.clock_timestamp()
        stale = (
            select(Job.id)
            .where(
                Job.kind.in_(kinds),
                Job.status.in_(UNFINISHED),
                Job.updated_at <= now - lease,
                (Job.lease_expires_at.is_(None)) | (Job.lease_expires_at <= now),
                Job.event_id.is_not(None),
            )
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = await session.execute(
            update(Job)
            .where(Job.id.in_(stale.scalar_subquery()))
            .values(updated_at=now)
            .returning(Job.id, Job.kind, Job.event_id)
        )
        return [Stale(job_id, kind, event_id) for job_id, kind, event_id in rows if event_id is not None]


jobs = JobService()


# -- running -------------------------------------------------------------------------------

# What a kind of job does: its steps commit with `jobs.checkpoint`; the status and reason it ends with.
JobFunc = Callable[[Database, Settings, JobRun], Awaitable[tuple[JobStatus, str | None]]]
# The kinds this process can run: `jobs.resume` sends no task that no worker knows.
_kinds: set[str] = set()


def runs(event_type: str, kind: str) -> Callable[[JobFunc], JobFunc]:
    """Run jobs of `kind`, announced by `event_type`, with `func(database, settings, run)`.

    Registered as the guarded outbox handler named `kind` (the Celery task `jobs.resume` sends
    again). An unexpected error ends the job `failed`; the steps before it stay.
    """

    def register(work: JobFunc) -> JobFunc:
        async def handle(database: Database, event: Event, settings: Settings) -> bool:
            job_id = uuid.UUID(event.payload["job_id"])
            lease = timedelta(seconds=settings.job_lease_seconds)
            async with unit_of_work(database) as session:
                run = await jobs.claim(session, job_id, lease)
                if run is None:
                    job = await jobs.get(session, job_id)
                    # Finished (the delivery is done), or another worker holds it (not done yet).
                    return job is None or job.status in FINISHED
            with structlog.contextvars.bound_contextvars(job_id=str(job_id), job_kind=kind):
                return await _run(database, settings, work, run)

        handles_guarded(event_type, kind)(handle)
        _kinds.add(kind)
        return work

    return register


async def _run(database: Database, settings: Settings, work: JobFunc, run: JobRun) -> bool:
    """Do the job and finish it; whether it finished (False: another worker holds it now)."""
    log.info("jobs.claimed", resumed_after=run.checkpoint)
    try:
        status, reason = await work(database, settings, run)
    except LeaseLost:
        log.warning("jobs.lease_lost")
        return False
    except Exception:
        log.exception("jobs.crashed")
        status, reason = JobStatus.failed, "The job stopped on an unexpected error."
    try:
        async with unit_of_work(database) as session:
            await jobs.finish(session, run, status, reason)
    except LeaseLost:
        log.warning("jobs.lease_lost")
        return False
    log.info("jobs.finished", status=status.value)
    return True


# How often the schedule looks for jobs whose worker died: they wait a lease, then up to this.
RESUME_EVERY = timedelta(seconds=10)


@periodic("jobs.resume", every=RESUME_EVERY)
async def resume_jobs(resources: Resources) -> int:
    """Send the task of each job whose lease expired again: a worker claims it and continues."""
    lease = timedelta(seconds=resources.settings.job_lease_seconds)
    async with unit_of_work(resources.database) as session:
        stale = await jobs.mark_stale(session, lease, _kinds)
    for job in stale:
        # Should the broker refuse it, the job is stale again a lease later.
        await resources.publish(job.kind, job.event_id)
        log.warning("jobs.resumed", job_id=str(job.job_id), kind=job.kind)
    return len(stale)


def present(job: Job) -> JobView:
    return JobView(
        id=job.id,
        kind=job.kind,
        status=JobStatus(job.status),
        total=job.total,
        done=job.done,
        failed=job.failed,
        errors=[JobError.model_validate(error) for error in job.errors],
        failure_reason=job.failure_reason,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


# Mounted under `/admin` with the staff role required (see shop.api).
router = shop_router(prefix="/admin/jobs", tags=["jobs"])


@router.get("/{job_id}", responses=error_responses(NotFound))
async def get_job(job_id: uuid.UUID, session: SessionDep) -> JobView:
    """A background job's status and progress: lines done, lines failed, and why they failed."""
    job = await jobs.get(session, job_id)
    if job is None:
        raise NotFound("No such job.")
    return present(job)
