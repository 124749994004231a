"""`POST /admin/products/import` queues a job that a real worker runs; `GET /admin/jobs/{id}` follows it."""

import asyncio
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from shop.core.config import Settings
from shop.core.jobs import Job
from shop.core.resources import Resources
from shop.core.security import Role
from shop.products.catalog_file import CSV_HEADER
from shop.products.models import StockMovement
from tests.fixtures.auth import Account, create_user
from tests.fixtures.catalog import create_category
from tests.fixtures.settings import settings_env
from tests.fixtures.waiting import eventually
from tests.fixtures.workers import RunningWorker, run_worker

URL = "/api/v1/admin/products/import"
CATALOG = "\n".join(
    [
        CSV_HEADER,
        "TEE-S,tee,Tee,Soft cotton,shirts,S,1999,5,,,true",
        "MUG-1,mug,Mug,,kitchen,,900,1,,,true",
        "TEE-M,tee,Tee,Soft cotton,shirts,M,2499,0,,,true",
        "CAP-1,cap,Cap,,,,12.5,1,,,true",
        "",
    ]
)


@pytest.fixture(scope="module")
def worker(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningWorker]:
    with run_worker(settings_env(settings), settings, "imports", tmp_path_factory.mktemp("logs")) as running:
        yield running


@pytest.fixture
async def staff(resources: Resources) -> Account:
    return await create_user(resources, role=Role.staff)


def upload(name: str, content: str | bytes, content_type: str = "text/csv") -> dict[str, Any]:
    return {"file": (name, content if isinstance(content, bytes) else content.encode(), content_type)}


async def job_rows(resources: Resources) -> int:
    async with resources.database.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(Job)) or 0


async def finished(client: httpx.AsyncClient, staff: Account, job_id: str) -> dict[str, Any]:
    state: dict[str, Any] = {}

    async def done() -> bool:
        response = await client.get(f"/api/v1/admin/jobs/{job_id}", headers=staff.headers)
        assert response.status_code == 200, response.text
        state.update(response.json())
        return state["status"] in ("succeeded", "failed")

    await eventually(done, 60, "the import job finishes")
    return state


class TestImportJob:
    async def test_a_worker_runs_the_import_and_the_job_reports_each_rejected_line(
        self, client: httpx.AsyncClient, resources: Resources, staff: Account, worker: RunningWorker
    ) -> None:
        await create_category(resources, "Shirts")
        response = await client.post(URL, files=upload("catalog.csv", CATALOG), headers=staff.headers)
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        assert response.headers["location"] == f"/api/v1/admin/jobs/{job_id}"

        job = await finished(client, staff, job_id)
        assert {k: job[k] for k in ("id", "kind", "status", "total", "done", "failed", "errors")} == {
            "id": job_id,
            "kind": "catalog.import",
            "status": "succeeded",
            "total": 4,
            "done": 4,
            "failed": 2,
            "errors": [
                {"line": 3, "msg": "unknown category_slug 'kitchen'"},
                {"line": 5, "msg": "price_amount: must be a whole number (minor units for prices), not '12.5'"},
            ],
        }
        times = [datetime.fromisoformat(job[name]) for name in ("created_at", "started_at", "finished_at")]
        assert times == sorted(times)
        assert job["failure_reason"] is None
        tee = (await client.get("/api/v1/products/by-slug/tee")).json()
        assert sorted(v["sku"] for v in tee["variants"]) == ["TEE-M", "TEE-S"]
        async with resources.database.sessionmaker() as session:
            assert await session.scalar(select(Job.input).where(Job.id == job_id)) is None, "the upload is dropped"
            actors = set(await session.scalars(select(StockMovement.actor_id)))
        assert actors == {staff.id}, "the stock moves are the uploader's"

    async def test_jsonl_by_content_type_and_a_file_over_the_ordinary_body_limit(
        self, client: httpx.AsyncClient, resources: Resources, staff: Account, worker: RunningWorker
    ) -> None:
        line = b'{"sku": "A-1", "product_slug": "a", "product_name": "A", "price_amount": 100}\n'
        # Over the 1 MiB limit of ordinary bodies, well under the upload limit: blank lines are skipped.
        body = line + b"\n" * (2 * 1024 * 1024)
        response = await client.post(URL, files=upload("export", body, "application/x-ndjson"), headers=staff.headers)
        assert response.status_code == 202, response.text
        job = await finished(client, staff, response.json()["job_id"])
        assert (job["status"], job["total"], job["done"], job["failed"]) == ("succeeded", 1, 1, 0)
        assert (await client.get("/api/v1/products/by-slug/a")).status_code == 200

    async def test_progress_shows_while_the_job_runs(
        self, client: httpx.AsyncClient, resources: Resources, staff: Account, worker: RunningWorker
    ) -> None:
        lines = [
            f"SKU-{n},product-{n // 4},Product {n // 4},,,Size {n % 4},{1000 + n},{n % 7},,,true" for n in range(10_000)
        ]
        content = "\n".join([CSV_HEADER, *lines, ""])
        response = await client.post(URL, files=upload("big.csv", content), headers=staff.headers)
        assert response.status_code == 202
        job_id = response.json()["job_id"]
        seen: list[tuple[str, int]] = []
        deadline = asyncio.get_running_loop().time() + 120
        while not seen or seen[-1][0] not in ("succeeded", "failed"):
            assert asyncio.get_running_loop().time() < deadline, f"the job did not finish: {seen[-1:]}"
            job = (await client.get(f"/api/v1/admin/jobs/{job_id}", headers=staff.headers)).json()
            seen.append((job["status"], job["done"]))
            await asyncio.sleep(0.02)
        assert seen[-1] == ("succeeded", 10_000)
        assert any(status == "running" and 0 < done < 10_000 for status, done in seen), seen
        done_values = [done for _, done in seen]
        assert done_values == sorted(done_values), "progress only moves forward"


class TestRefusedUploads:
    @pytest.mark.parametrize(
        ("name", "content", "content_type", "status", "code"),
        [
            ("catalog.xlsx", "whatever", "application/octet-stream", 415, "unsupported_media_type"),
            ("catalog.csv", "sku,name\nA,B\n", "text/csv", 422, "validation_error"),
            (
                "catalog.csv",
                f"{CSV_HEADER}\nA,b,Caf\xe9,,,,1,1,,,true\n".encode("latin-1"),
                "text/csv",
                422,
                "validation_error",
            ),
        ],
    )
    async def test_an_unusable_file_is_a_problem_and_queues_nothing(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        staff: Account,
        name: str,
        content: str | bytes,
        content_type: str,
        status: int,
        code: str,
    ) -> None:
        response = await client.post(URL, files=upload(name, content, content_type), headers=staff.headers)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code
        assert await job_rows(resources) == 0

    async def test_a_body_over_the_upload_limit_is_413(
        self, client: httpx.AsyncClient, resources: Resources, staff: Account, settings: Settings
    ) -> None:
        too_big = b"\n" * (settings.max_upload_bytes + 1)
        response = await client.post(URL, files=upload("catalog.csv", too_big), headers=staff.headers)
        assert response.status_code == 413
        assert response.json()["code"] == "payload_too_large"
        assert await job_rows(resources) == 0

    async def test_only_staff_may_import_or_read_jobs(self, client: httpx.AsyncClient, resources: Resources) -> None:
        customer = await create_user(resources)
        forbidden = await client.post(URL, files=upload("catalog.csv", CATALOG), headers=customer.headers)
        assert (forbidden.status_code, forbidden.json()["code"]) == (403, "forbidden")
        anonymous = await client.post(URL, files=upload("catalog.csv", CATALOG))
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == "Bearer"
        assert await job_rows(resources) == 0
        job = await client.get(f"/api/v1/admin/jobs/{uuid.uuid4()}", headers=customer.headers)
        assert job.status_code == 403
        staff = await create_user(resources, role=Role.staff)
        unknown = await client.get(f"/api/v1/admin/jobs/{uuid.uuid4()}", headers=staff.headers)
        assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
        assert (await client.get("/api/v1/admin/jobs/not-an-id", headers=staff.headers)).status_code == 422
