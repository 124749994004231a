"""The job rows: progress in short transactions, a capped error list, reruns and the end."""

import uuid

import httpx

from shop.core.db import unit_of_work
from shop.core.jobs import MAX_JOB_ERRORS, Job, JobError, JobStatus, jobs
from shop.core.resources import Resources
from shop.core.security import Role
from tests.fixtures.auth import create_user


async def new_job(resources: Resources) -> uuid.UUID:
    async with unit_of_work(resources.database) as session:
        job = await jobs.create(
            session, "probe", input=b"some input", params={"format": "csv"}, total=0, created_by=None
        )
    return job.id


async def load(resources: Resources, job_id: uuid.UUID) -> Job:
    async with resources.database.sessionmaker() as session:
        job = await jobs.get(session, job_id)
    assert job is not None
    return job


async def test_progress_keeps_the_first_errors_and_counts_them_all(resources: Resources) -> None:
    job_id = await new_job(resources)
    async with unit_of_work(resources.database) as session:
        assert await jobs.start(session, job_id, total=MAX_JOB_ERRORS + 500)
    for batch in range(3):
        errors = [JobError(line=batch * 500 + n, msg=f"bad {n}") for n in range(500)]
        async with unit_of_work(resources.database) as session:
            await jobs.progress(session, job_id, done=(batch + 1) * 500, failed=(batch + 1) * 500, new_errors=errors)
    job = await load(resources, job_id)
    assert (job.status, job.total, job.done, job.failed) == ("running", MAX_JOB_ERRORS + 500, 1500, 1500)
    assert len(job.errors) == MAX_JOB_ERRORS
    assert job.errors[0] == {"line": 0, "msg": "bad 0"}
    assert job.errors[-1] == {"line": MAX_JOB_ERRORS - 1, "msg": f"bad {(MAX_JOB_ERRORS - 1) % 500}"}


async def test_a_rerun_restarts_the_counts_and_a_finished_job_stays_finished(resources: Resources) -> None:
    job_id = await new_job(resources)
    async with unit_of_work(resources.database) as session:
        await jobs.start(session, job_id, total=10)
        await jobs.progress(session, job_id, done=4, failed=1, new_errors=[JobError(line=2, msg="x")])
    async with unit_of_work(resources.database) as session:
        assert await jobs.start(session, job_id, total=10), "a crashed run is started again"
    job = await load(resources, job_id)
    assert (job.done, job.failed, job.errors) == (0, 0, [])
    async with unit_of_work(resources.database) as session:
        await jobs.finish(session, job_id, JobStatus.succeeded)
        assert await jobs.read_input(session, job_id) is None, "the input goes once the job is done"
        assert not await jobs.start(session, job_id, total=10)
    assert (await load(resources, job_id)).status == JobStatus.succeeded


async def test_get_job_is_for_staff(client: httpx.AsyncClient, resources: Resources) -> None:
    job_id = await new_job(resources)
    staff = await create_user(resources, role=Role.staff)
    customer = await create_user(resources)
    response = await client.get(f"/api/v1/admin/jobs/{job_id}", headers=staff.headers)
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("id", "kind", "status", "total", "done", "failed", "errors")} == {
        "id": str(job_id),
        "kind": "probe",
        "status": "queued",
        "total": 0,
        "done": 0,
        "failed": 0,
        "errors": [],
    }
    assert (await client.get(f"/api/v1/admin/jobs/{job_id}", headers=customer.headers)).status_code == 403
    assert (await client.get(f"/api/v1/admin/jobs/{job_id}")).status_code == 401
    unknown = await client.get(f"/api/v1/admin/jobs/{uuid.uuid4()}", headers=staff.headers)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
