"""Background jobs a client can follow: one row per job with its status, progress and input.

A job is created with its input stored in the row (whichever worker machine takes it can read
it) and handed to a worker through the outbox, so no job is announced for a rolled-back request.
The worker reports progress in short transactions of its own, so `GET /admin/jobs/{id}` shows it
while the job runs. The domain that owns a kind of job decides what its lines and errors mean.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from fastapi import APIRouter
from sqlalchemy import DateTime, Integer, LargeBinary, String, Text, bindparam, cast, func, select, text, update
from sqlalchemy.dialects.postgresql import JSONB, JSONPATH
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, deferred, mapped_column

from shop.core.db import Base, TimestampMixin, new_id
from shop.core.deps import SessionDep
from shop.core.errors import NotFound, error_responses
from shop.core.routing import ShopRoute
from shop.core.schemas import Schema

# A file with a million bad lines must not make a row (and a response) of a hundred megabytes:
# the first errors are kept, `failed` still counts them all.
MAX_JOB_ERRORS = 1000


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


FINISHED = (JobStatus.succeeded, JobStatus.failed)


class Job(TimestampMixin, Base):
    __tablename__ = "job"

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


class JobService:
    # Job times are wall-clock times: `now()` is when the transaction began, and the worker's final
    # update runs in a transaction that began before the job started.
    async def create(
        self,
        session: AsyncSession,
        kind: str,
        *,
        input: bytes,
        params: dict[str, Any],
        total: int,
        created_by: uuid.UUID | None,
    ) -> Job:
        job = Job(id=new_id(), kind=kind, input=input, params=params, total=total, created_by=created_by)
        session.add(job)
        await session.flush()
        return job

    async def get(self, session: AsyncSession, job_id: uuid.UUID) -> Job | None:
        return await session.get(Job, job_id)

    async def read_input(self, session: AsyncSession, job_id: uuid.UUID) -> bytes | None:
        data: bytes | None = await session.scalar(select(Job.input).where(Job.id == job_id))
        return data

    async def start(self, session: AsyncSession, job_id: uuid.UUID, total: int) -> bool:
        """Mark the job running from scratch (a rerun after a crash restarts the counts); False if finished."""
        result = await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.not_in(FINISHED))
            .values(
                status=JobStatus.running,
                total=total,
                done=0,
                failed=0,
                errors=[],
                started_at=func.clock_timestamp(),
                updated_at=func.clock_timestamp(),
            )
            .returning(Job.id)
        )
        return result.scalar_one_or_none() is not None

    async def progress(
        self, session: AsyncSession, job_id: uuid.UUID, done: int, failed: int, new_errors: list[JobError]
    ) -> None:
        values: dict[str, Any] = {"done": done, "failed": failed, "updated_at": func.clock_timestamp()}
        if new_errors:
            appended = Job.errors.op("||")(bindparam("new_errors", [e.model_dump() for e in new_errors], JSONB))
            # Keep the first MAX_JOB_ERRORS: the path slice quietly stops at the array's end.
            values["errors"] = func.jsonb_path_query_array(appended, cast(f"$[0 to {MAX_JOB_ERRORS - 1}]", JSONPATH))
        await session.execute(update(Job).where(Job.id == job_id).values(**values))

    async def finish(
        self, session: AsyncSession, job_id: uuid.UUID, status: JobStatus, failure_reason: str | None = None
    ) -> None:
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                status=status,
                failure_reason=failure_reason,
                input=None,
                finished_at=func.clock_timestamp(),
                updated_at=func.clock_timestamp(),
            )
        )


jobs = JobService()


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
router = APIRouter(prefix="/admin/jobs", tags=["jobs"], route_class=ShopRoute)


@router.get("/{job_id}", responses=error_responses(NotFound))
async def get_job(job_id: uuid.UUID, session: SessionDep) -> JobView:
    """A background job's status and progress: lines done, lines failed, and why they failed."""
    job = await jobs.get(session, job_id)
    if job is None:
        raise NotFound("No such job.")
    return present(job)
