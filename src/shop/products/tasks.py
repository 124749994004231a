"""The catalog's background work: an uploaded file imported as a job a client can follow.

The upload is checked as a whole (type, header, UTF-8) while the client waits, then stored in a
job row together with an outbox event, so a job exists and is announced exactly when the request
commits. A worker runs the same import as `shop import-products`, reporting progress after each
batch in short transactions of its own. Should the worker die, the redelivered task runs the
import again from the start, which is harmless: the import is an upsert and a line that changes
nothing writes nothing.
"""

import asyncio
import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shop.core.cache import Cache, close_redis, create_redis
from shop.core.config import Settings
from shop.core.db import commit
from shop.core.jobs import FINISHED, JobError, JobStatus, jobs
from shop.core.outbox import Event, handles, record_event
from shop.products.catalog_file import CatalogFile, FileFormat, UnusableInput, format_of
from shop.products.errors import UnsupportedCatalogFile, UnusableCatalogFile
from shop.products.importing import ImportReport, Rejection, import_catalog

log = structlog.get_logger()

IMPORT_REQUESTED = "catalog.import_requested"
IMPORT_JOB = "catalog.import"


async def request_import(
    session: AsyncSession, data: bytes, filename: str | None, content_type: str | None, created_by: uuid.UUID | None
) -> uuid.UUID:
    """Check an uploaded file and queue its import; the job id. Nothing is queued for an unusable file."""
    try:
        file_format = format_of(filename, content_type)
    except UnusableInput as exc:
        raise UnsupportedCatalogFile(str(exc)) from None
    name = filename or "upload"
    try:
        # Reading 50 MiB takes a moment: off the event loop.
        total = await asyncio.to_thread(CatalogFile.from_bytes(data, file_format, name).check)
    except UnusableInput as exc:
        raise UnusableCatalogFile(
            f"The file cannot be imported: {exc}.",
            errors=[{"loc": ["body", "file"], "msg": str(exc), "type": "value_error"}],
        ) from None
    job = await jobs.create(
        session,
        IMPORT_JOB,
        input=data,
        params={"format": file_format.value, "filename": name},
        total=total,
        created_by=created_by,
    )
    record_event(session, IMPORT_REQUESTED, {"job_id": str(job.id)})
    log.info("catalog.import_requested", job_id=str(job.id), lines=total, format=file_format.value)
    return job.id


@handles(IMPORT_REQUESTED, IMPORT_JOB)
async def run_import_job(session: AsyncSession, event: Event, settings: Settings) -> None:
    """Run a queued import; its final status commits with the delivery, its progress on the way."""
    job_id = uuid.UUID(event.payload["job_id"])
    job = await jobs.get(session, job_id)
    if job is None or job.status in FINISHED:
        return
    data = await jobs.read_input(session, job_id) or b""
    source = CatalogFile.from_bytes(data, FileFormat(job.params["format"]), job.params.get("filename", "upload"))
    # The batches and the progress reports commit on their own, through the worker's engine.
    assert isinstance(session.bind, AsyncEngine)
    sessions = async_sessionmaker(session.bind, expire_on_commit=False, autoflush=False)
    try:
        total = source.check()
    except UnusableInput as exc:  # checked at upload; only a changed format could get here
        await jobs.finish(session, job_id, JobStatus.failed, f"The file cannot be imported: {exc}.")
        return
    async with sessions() as own:
        await jobs.start(own, job_id, total)
        await commit(own)
    report = await _import(sessions, settings, source, job_id, job.created_by)
    if report is None:
        await jobs.finish(session, job_id, JobStatus.failed, "The import stopped on an unexpected error.")
    else:
        await jobs.finish(session, job_id, JobStatus.succeeded)


async def _import(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    source: CatalogFile,
    job_id: uuid.UUID,
    actor_id: uuid.UUID | None,
) -> ImportReport | None:
    """The import's report, or None when it stopped on an error (logged; the lines before it stay)."""

    async def progress(report: ImportReport, rejected: list[Rejection]) -> None:
        async with sessions() as own:
            errors = [JobError(line=line, msg=reason) for line, reason in rejected]
            await jobs.progress(own, job_id, report.done, len(report.rejected), errors)
            await commit(own)

    redis = create_redis(settings.require_redis_url(), settings)
    try:
        return await import_catalog(
            sessions,
            Cache(redis, recent_write_seconds=settings.database_replica_max_lag_seconds),
            source.lines(),
            actor_id=actor_id,
            on_batch=progress,
        )
    except Exception:
        log.exception("catalog.import_job_failed", job_id=str(job_id))
        return None
    finally:
        await close_redis(redis)
