"""The catalog's background work: an uploaded file imported as a job a client can follow.

The upload is checked as a whole (type, header, UTF-8) while the client waits, then stored in a
job row together with its outbox event, so a job exists and is announced exactly when the request
commits. A worker runs the same import as `shop import-products`, batch by batch; each batch
commits together with the job's checkpoint (the file line it reached, the done and failed counts,
the batch's rejected lines), so the job's numbers and error list are exact after any crash.
Should the worker die, the job is resumed (core/jobs.py) by another worker, which skips the lines
up to the checkpoint and carries on: every line is applied and reported once.
"""

import asyncio
import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from shop import events
from shop.core.config import Settings
from shop.core.db import Database
from shop.core.jobs import JobError, JobRun, JobStatus, jobs, runs
from shop.products.catalog_file import CatalogFile, FileFormat, UnusableInput, format_of
from shop.products.errors import UnsupportedCatalogFile, UnusableCatalogFile
from shop.products.importing import Batch, import_catalog

log = structlog.get_logger()

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
        announce=events.CATALOG_IMPORT_REQUESTED,
        input=data,
        params={"format": file_format.value, "filename": name},
        total=total,
        created_by=created_by,
    )
    log.info("catalog.import_requested", job_id=str(job.id), lines=total, format=file_format.value)
    return job.id


@runs(events.CATALOG_IMPORT_REQUESTED, IMPORT_JOB)
async def run_import_job(database: Database, settings: Settings, run: JobRun) -> tuple[JobStatus, str | None]:
    """Import the job's file from its checkpoint on, each batch committing with its checkpoint."""
    async with database.sessionmaker() as session:
        data = await jobs.read_input(session, run.job_id) or b""
    source = CatalogFile.from_bytes(data, FileFormat(run.params["format"]), run.params.get("filename", "upload"))
    try:
        await asyncio.to_thread(source.check)
    except UnusableInput as exc:  # checked at upload; only a changed format could get here
        return JobStatus.failed, f"The file cannot be imported: {exc}."

    async def checkpoint(session: AsyncSession, batch: Batch) -> None:
        errors = [JobError(line=line, msg=reason) for line, reason in batch.rejected]
        await jobs.checkpoint(
            session, run, position=batch.last_line, done=batch.lines, failed=len(batch.rejected), errors=errors
        )

    # The process's sessions drop the cache entries of what each batch changed (core/resources.py).
    await import_catalog(
        database.sessionmaker,
        (line for line in source.lines() if line.line > run.checkpoint),
        actor_id=run.created_by,
        batch_size=settings.import_batch_size,
        checkpoint=checkpoint,
    )
    return JobStatus.succeeded, None
