"""`shop worker --metrics-port`: the pool's task counters, summed, on a Prometheus endpoint."""

from pathlib import Path

import httpx

from shop.core.config import Settings
from shop.core.db import unit_of_work
from shop.core.outbox import record_event
from shop.core.resources import Resources
from tests.fixtures import probe_events
from tests.fixtures.probe_events import PROBE_WORKER, received
from tests.fixtures.servers import free_port
from tests.fixtures.settings import settings_env
from tests.fixtures.waiting import eventually
from tests.fixtures.workers import run_worker


async def test_the_worker_exports_task_metrics(
    settings: Settings, resources: Resources, probe_tables: None, tmp_path: Path
) -> None:
    port = free_port()
    with run_worker(settings_env(settings), settings, "metered", tmp_path, *PROBE_WORKER, "--metrics-port", str(port)):
        async with unit_of_work(resources.database) as session:
            event_id = record_event(session, probe_events.COUNTED, {})

        async def arrived() -> bool:
            return event_id in await received(resources)

        await eventually(arrived, 30, "the event is handled")

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def exported() -> bool:
                text_ = (await http.get("/metrics")).text
                return 'shop_task_runs_total{outcome="done",task="probe.count"} 1.0' in text_

            await eventually(exported, 10, "the task counter is exported")
            assert "shop_task_duration_seconds_bucket" in (await http.get("/metrics")).text
