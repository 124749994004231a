"""Failed deliveries: retried with backoff, then marked failed, listed and retried by `shop outbox`."""

import asyncio
import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from shop.core.config import Settings
from shop.core.db import unit_of_work
from shop.core.outbox import DeliveryStatus, OutboxDelivery, record_event
from shop.core.resources import Resources
from tests.fixtures import probe_events
from tests.fixtures.invariants import audit_invariants
from tests.fixtures.probe_events import PROBE_WORKER, received
from tests.fixtures.settings import settings_env
from tests.fixtures.waiting import eventually
from tests.fixtures.workers import RunningWorker, run_worker

pytestmark = pytest.mark.usefixtures("probe_tables")


@pytest.fixture(scope="module")
def impatient_worker(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningWorker]:
    env = settings_env(settings, task_max_retries=2, task_retry_base_seconds=0.05)
    with run_worker(env, settings, "impatient", tmp_path_factory.mktemp("logs"), *PROBE_WORKER) as running:
        yield running


class TestFailures:
    async def test_a_handler_that_keeps_failing_is_marked_failed_then_retried_by_command(
        self, resources: Resources, impatient_worker: RunningWorker, settings: Settings
    ) -> None:
        async with unit_of_work(resources.database) as session:
            event_id = record_event(session, probe_events.FLAKY, {})

        async def failed() -> bool:
            async with resources.database.sessionmaker() as session:
                delivery = await session.get(OutboxDelivery, (event_id, "probe.flaky"))
                return delivery is not None and delivery.status == DeliveryStatus.failed

        await eventually(failed, 30, "the delivery is marked failed after its retries")
        listing = await shop(settings, "outbox", "list")
        assert f"{event_id}  probe.flaky" in listing.stdout
        assert "1 failed deliveries" in listing.stdout

        async with resources.database.engine.begin() as connection:
            await connection.execute(text("INSERT INTO probe_switch VALUES ('flaky', true)"))
        retried = await shop(settings, "outbox", "retry", "--all")
        assert retried.stdout.strip() == "1 deliveries sent again"

        async def handled() -> bool:
            return await received(resources, "probe.flaky") == [event_id]

        await eventually(handled, 30, "the retried delivery succeeds")
        assert "0 failed deliveries" in (await shop(settings, "outbox", "list")).stdout
        await audit_invariants(resources.database)

    async def test_retry_needs_an_event_or_all(self, settings: Settings) -> None:
        result = await shop(settings, "outbox", "retry", check=False)
        assert result.returncode == 2
        assert result.stderr.strip() == "shop: give an EVENT_ID or --all"


async def shop(settings: Settings, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**settings_env(settings), "PATH": "/usr/bin:/bin"}
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "shop.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result
