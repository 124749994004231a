"""An import job survives its worker: killed mid-file, it is resumed and every line counts once.

Real `shop worker` processes on the real broker: one is SIGKILLed halfway through a file of small
batches, another (with the schedule) takes the job over after its lease expires. The Redis
broker would hand the killed task back only after its visibility timeout (an hour), so the job
can only finish within the test through `jobs.resume`.
"""

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text

from shop.core.config import Settings
from shop.core.jobs import Job
from shop.core.outbox import DeliveryStatus, OutboxDelivery
from shop.core.resources import Resources
from shop.core.security import Role
from shop.products.catalog_file import CSV_HEADER
from shop.products.models import Product, StockMovement, Variant
from tests.fixtures.auth import Account, create_user
from tests.fixtures.catalog import create_category
from tests.fixtures.settings import settings_env
from tests.fixtures.waiting import eventually
from tests.fixtures.workers import RunningWorker, run_worker

URL = "/api/v1/admin/products/import"
LINES = 3000
BATCH = 10
LEASE_SECONDS = 2


def catalog() -> tuple[str, list[str], list[dict[str, object]]]:
    """The file, the SKUs of its good lines, and the errors its bad lines must be reported with."""
    rows, good, errors = [], [], []
    for n in range(LINES):
        line = n + 2  # the header is line 1
        if n % 10 == 3:
            rows.append(f"BAD-{n},bad-{n},Bad,,,,12.5,1,,,true")
            errors.append(
                {"line": line, "msg": "price_amount: must be a whole number (minor units for prices), not '12.5'"}
            )
        elif n % 10 == 7:
            rows.append(f"LOST-{n},lost-{n},Lost,,nowhere,,100,1,,,true")
            errors.append({"line": line, "msg": "unknown category_slug 'nowhere'"})
        else:
            # Four variants to a product, spread over batches; stock >= 1, so one movement each.
            rows.append(f"SKU-{n},product-{n // 4},Product {n // 4},,shirts,Size {n % 4},{1000 + n},{1 + n % 5},,,true")
            good.append(f"SKU-{n}")
    return "\n".join([CSV_HEADER, *rows, ""]), good, errors


@pytest.fixture
def worker_env(settings: Settings) -> dict[str, str]:
    return settings_env(settings, import_batch_size=BATCH, job_lease_seconds=LEASE_SECONDS)


@pytest.fixture
def first_worker(worker_env: dict[str, str], settings: Settings, tmp_path: Path) -> Iterator[RunningWorker]:
    with run_worker(worker_env, settings, "import-doomed", tmp_path) as running:
        yield running


async def job_state(resources: Resources, job_id: uuid.UUID) -> Job:
    async with resources.database.sessionmaker() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        return job


async def oldest_open_transaction_began_before(resources: Resources, job: Job) -> list[str]:
    """Other sessions on this database whose transaction began before the job started."""
    async with resources.database.sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT state FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL AND xact_start <= :started"
            ),
            {"started": job.started_at},
        )
        return [state for (state,) in rows]


class TestKilledMidFile:
    async def test_the_job_resumes_after_its_last_batch_and_every_line_counts_once(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        settings: Settings,
        worker_env: dict[str, str],
        first_worker: RunningWorker,
        tmp_path: Path,
    ) -> None:
        await create_category(resources, "Shirts")
        staff: Account = await create_user(resources, role=Role.staff)
        content, good, errors = catalog()
        response = await client.post(
            URL, files={"file": ("big.csv", content.encode(), "text/csv")}, headers=staff.headers
        )
        assert response.status_code == 202, response.text
        job_id = uuid.UUID(response.json()["job_id"])

        async def under_way() -> bool:
            return (await job_state(resources, job_id)).done > 0

        await eventually(under_way, 60, "the import has committed a batch")
        job = await job_state(resources, job_id)
        # No transaction spans the file: everything open now began after the job started.
        assert await oldest_open_transaction_began_before(resources, job) == []
        first_worker.kill()
        killed = await job_state(resources, job_id)
        assert killed.status == "running"
        assert 0 < killed.done < LINES, f"the kill must land mid-file, not at {killed.done}"
        assert killed.checkpoint > 1 and killed.done == killed.checkpoint - 1

        # keep_queued: the killed worker's task went back to the queue, for the heir to take.
        with run_worker(worker_env, settings, "import-heir", tmp_path, "--beat", keep_queued=True):

            async def finished() -> bool:
                return (await job_state(resources, job_id)).status in ("succeeded", "failed")

            await eventually(finished, 60, "another worker resumes and finishes the job")
        job = await job_state(resources, job_id)
        assert (job.status, job.total, job.done, job.failed) == ("succeeded", LINES, LINES, len(errors))
        assert job.errors == errors, "each bad line reported once, with its line number, in order"

        async with resources.database.sessionmaker() as session:
            moves = dict(
                (
                    await session.execute(
                        select(Variant.sku, func.count())
                        .join(StockMovement, StockMovement.variant_id == Variant.id)
                        .where(StockMovement.reason == "import")
                        .group_by(Variant.sku)
                    )
                ).all()
            )
            products = await session.scalar(select(func.count()).select_from(Product))
            delivery = await session.scalar(
                select(OutboxDelivery.status).where(OutboxDelivery.handler == "catalog.import")
            )
        assert moves == dict.fromkeys(good, 1), "every good line applied exactly once"
        assert products == len({sku_product(sku) for sku in good})
        assert delivery == DeliveryStatus.done


def sku_product(sku: str) -> int:
    return int(sku.removeprefix("SKU-")) // 4
