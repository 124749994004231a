"""The worker's event loop keeps running between tasks: what a job's commit starts in the
background (the relay of the events it recorded) finishes without waiting for another task."""

import re
from pathlib import Path

import httpx

from shop.core.config import Settings
from shop.core.resources import Resources
from tests.fixtures import probe_events
from tests.fixtures.auth import outbox_events
from tests.fixtures.probe_events import PROBE_WORKER, received
from tests.fixtures.servers import free_port
from tests.fixtures.settings import settings_env
from tests.fixtures.waiting import eventually
from tests.fixtures.workers import run_worker, send_task

POOL_IN_USE = re.compile(r"^shop_db_pool_checked_out (\S+)$", re.MULTILINE)


async def handled(resources: Resources) -> bool:
    return len(await received(resources)) == 1


async def test_an_event_a_job_records_is_handled_with_no_sweep_running(
    own_broker: Settings, resources: Resources, probe_tables: None, tmp_path: Path
) -> None:
    # No schedule: only the relay that the job's commit starts can deliver the event.
    with run_worker(settings_env(own_broker), own_broker, "relaying", tmp_path, *PROBE_WORKER):
        send_task(own_broker, probe_events.RECORD_JOB)
        await eventually(lambda: handled(resources), 10, "the event of the job's commit is handled")


async def test_no_pooled_connection_stays_checked_out_between_jobs(
    own_broker: Settings, resources: Resources, probe_tables: None, tmp_path: Path
) -> None:
    port = free_port()
    env = settings_env(own_broker)
    with run_worker(env, own_broker, "pooled", tmp_path, *PROBE_WORKER, "--metrics-port", str(port)):
        send_task(own_broker, probe_events.RECORD_JOB)

        async def committed() -> bool:
            return len(await outbox_events(resources, probe_events.COUNTED)) == 1

        await eventually(committed, 10, "the job commits its event")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def pool_idle() -> bool:
                samples = POOL_IN_USE.findall((await http.get("/metrics")).text)
                assert samples, "the worker exports its pool's connections in use"
                return float(samples[0]) == 0

            # The relay that the job's commit started is done with its connection.
            await eventually(pool_idle, 10, "no connection checked out once the job is done")
        await eventually(lambda: handled(resources), 10, "the job's event is handled")
