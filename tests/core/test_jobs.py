"""The job rows: claims under a lease, checkpoints that commit with their step, resume, the end."""

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, update

from shop.core.db import unit_of_work
from shop.core.jobs import MAX_JOB_ERRORS, Job, JobError, JobRun, JobStatus, LeaseLost, jobs
from shop.core.outbox import OutboxEvent
from shop.core.resources import Resources
from shop.core.security import Role
from tests.fixtures.auth import create_user

LEASE = timedelta(minutes=5)


async def new_job(resources: Resources) -> uuid.UUID:
    async with unit_of_work(resources.database) as session:
        job = await jobs.create(
            session,
            "probe",
            announce="probe.job_requested",
            input=b"some input",
            params={"format": "csv"},
            total=0,
            created_by=None,
        )
    return job.id


async def load(resources: Resources, job_id: uuid.UUID) -> Job:
    async with resources.database.sessionmaker() as session:
        job = await jobs.get(session, job_id)
    assert job is not None
    return job


async def claim(resources: Resources, job_id: uuid.UUID, lease: timedelta = LEASE) -> JobRun | None:
    async with unit_of_work(resources.database) as session:
        return await jobs.claim(session, job_id, lease)


async def step(resources: Resources, run: JobRun, position: int, done: int, errors: list[JobError]) -> None:
    async with unit_of_work(resources.database) as session:
        await jobs.checkpoint(session, run, position=position, done=done, failed=len(errors), errors=errors)


async def quiet_for(resources: Resources, job_id: uuid.UUID, age: timedelta) -> None:
    async with unit_of_work(resources.database) as session:
        await session.execute(update(Job).where(Job.id == job_id).values(updated_at=func.now() - age))


async def test_a_job_is_announced_by_its_event_in_the_same_transaction(resources: Resources) -> None:
    job_id = await new_job(resources)
    async with resources.database.sessionmaker() as session:
        job = await session.get(Job, job_id)
        assert job is not None and job.event_id is not None
        event = await session.get(OutboxEvent, job.event_id)
    assert event is not None
    assert (event.type, event.payload) == ("probe.job_requested", {"job_id": str(job_id)})


async def test_checkpoints_add_up_and_keep_the_first_errors(resources: Resources) -> None:
    job_id = await new_job(resources)
    run = await claim(resources, job_id)
    assert run is not None and run.checkpoint == 0
    for batch in range(3):
        errors = [JobError(line=batch * 500 + n, msg=f"bad {n}") for n in range(500)]
        await step(resources, run, position=(batch + 1) * 500, done=500, errors=errors)
    job = await load(resources, job_id)
    assert (job.status, job.checkpoint, job.done, job.failed) == ("running", 1500, 1500, 1500)
    assert len(job.errors) == MAX_JOB_ERRORS
    assert job.errors[0] == {"line": 0, "msg": "bad 0"}
    assert job.errors[-1] == {"line": MAX_JOB_ERRORS - 1, "msg": f"bad {(MAX_JOB_ERRORS - 1) % 500}"}


async def test_a_checkpoint_commits_or_rolls_back_with_its_step(resources: Resources) -> None:
    job_id = await new_job(resources)
    run = await claim(resources, job_id)
    assert run is not None
    await step(resources, run, position=4, done=4, errors=[JobError(line=2, msg="x")])

    async def failing_step() -> None:
        async with unit_of_work(resources.database) as session:
            await jobs.checkpoint(session, run, position=9, done=5, failed=0, errors=[])
            raise RuntimeError("the step's own writes failed")

    with pytest.raises(RuntimeError):
        await failing_step()
    job = await load(resources, job_id)
    assert (job.checkpoint, job.done, job.failed, job.errors) == (4, 4, 1, [{"line": 2, "msg": "x"}])


async def test_a_held_job_cannot_be_claimed_and_a_run_whose_lease_was_taken_over_is_stopped(
    resources: Resources,
) -> None:
    job_id = await new_job(resources)
    first = await claim(resources, job_id, lease=timedelta(0))  # expires at once: as a dead worker's
    assert first is not None
    await step(resources, first, position=3, done=3, errors=[JobError(line=2, msg="bad")])
    async with unit_of_work(resources.database) as session:
        # A step renews the lease; make it expire again.
        await session.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=func.now()))
    second = await claim(resources, job_id)
    assert second is not None and second.token != first.token
    assert second.checkpoint == 3, "the new run continues after the last committed step"
    assert await claim(resources, job_id) is None, "a live lease keeps the job to its run"
    with pytest.raises(LeaseLost):
        await step(resources, first, position=6, done=3, errors=[])
    with pytest.raises(LeaseLost):
        async with unit_of_work(resources.database) as session:
            await jobs.finish(session, first, JobStatus.succeeded)
    await step(resources, second, position=6, done=3, errors=[])
    job = await load(resources, job_id)
    assert (job.status, job.checkpoint, job.done, job.failed) == ("running", 6, 6, 1)


async def test_a_finished_job_drops_its_input_and_stays_finished(resources: Resources) -> None:
    job_id = await new_job(resources)
    run = await claim(resources, job_id)
    assert run is not None
    async with unit_of_work(resources.database) as session:
        await jobs.finish(session, run, JobStatus.succeeded)
        assert await jobs.read_input(session, job_id) is None, "the input goes once the job is done"
    assert await claim(resources, job_id, lease=timedelta(0)) is None
    job = await load(resources, job_id)
    assert (job.status, job.lease_token, job.lease_expires_at) == ("succeeded", None, None)
    assert job.started_at is not None and job.finished_at is not None


async def test_resume_picks_jobs_quiet_for_a_lease_once_a_lease_and_never_a_held_one(resources: Resources) -> None:
    lease = timedelta(minutes=1)
    queued, held, dead = await new_job(resources), await new_job(resources), await new_job(resources)
    assert await claim(resources, held, lease) is not None
    assert await claim(resources, dead, lease=timedelta(0)) is not None
    for job_id in (queued, held, dead):
        await quiet_for(resources, job_id, 2 * lease)

    async def stale() -> set[uuid.UUID]:
        async with unit_of_work(resources.database) as session:
            return {job.job_id for job in await jobs.mark_stale(session, lease, kinds={"probe"})}

    mine = {queued, held, dead}
    assert await stale() & mine == {queued, dead}
    assert await stale() & mine == set(), "each is sent again once a lease, not at every look"
    await quiet_for(resources, queued, 2 * lease)
    async with unit_of_work(resources.database) as session:
        assert await jobs.mark_stale(session, lease, kinds={"catalog.import"}) == [], "only kinds it can run"


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
