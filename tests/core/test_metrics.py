"""Prometheus metrics: labelled by route template, and summed over every server process."""

import asyncio
import re
import time
import uuid
from pathlib import Path

import httpx
from prometheus_client import REGISTRY
from sqlalchemy import text as sql

from shop.core.config import Settings
from shop.core.db import PING_AFTER_IDLE_SECONDS, Database, unit_of_work
from shop.core.outbox import record_event
from shop.core.resources import Resources
from tests.fixtures import probe_events
from tests.fixtures.app import client_for, running_app
from tests.fixtures.metrics import samples
from tests.fixtures.servers import run_server
from tests.fixtures.settings import make_settings, settings_env


def count(text: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(value for key, value in samples(text, "shop_http_requests_total").items() if wanted <= set(key))


class TestLabels:
    async def test_requests_are_labelled_by_route_template_not_raw_path(self, probe: httpx.AsyncClient) -> None:
        ids = [str(uuid.uuid4()) for _ in range(3)]
        for item_id in ids:
            assert (await probe.get(f"/api/v1/probe/items/{item_id}")).status_code == 404
        text = (await probe.get("/metrics")).text
        assert count(text, route="/api/v1/probe/items/{item_id}", method="GET", status="404") >= 3
        assert not any(item_id in text for item_id in ids)

    async def test_a_route_of_an_included_router_has_its_whole_template(self, probe: httpx.AsyncClient) -> None:
        assert (await probe.get("/api/v1/probe/nested/7")).status_code == 200
        text = (await probe.get("/metrics")).text
        assert count(text, route="/api/v1/probe/nested/{thing_id}", method="GET", status="200") >= 1

    async def test_unmatched_paths_share_one_label(self, probe: httpx.AsyncClient) -> None:
        await probe.get(f"/no/such/{uuid.uuid4()}")
        text = (await probe.get("/metrics")).text
        assert count(text, route="unmatched", status="404") >= 1

    async def test_latency_pool_and_in_flight_are_exported(self, probe: httpx.AsyncClient) -> None:
        await probe.get("/health/ready")
        text = (await probe.get("/metrics")).text
        assert 'shop_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/health/ready"}' in text
        assert re.search(r"^shop_db_pool_size \d", text, re.MULTILINE)
        assert "shop_db_pool_checked_out" in text
        assert "shop_http_requests_in_flight" in text


def test_several_worker_processes_are_aggregated(settings: Settings, tmp_path: Path) -> None:
    env = {**settings_env(settings), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    with run_server(env, 2) as server:
        sent = 1  # the readiness wait of run_server
        # New connections until both workers have answered some (the kernel picks the worker).
        while len(list(tmp_path.glob("counter_*.db"))) < 2 and sent < 2000:
            for _ in range(20):
                response = httpx.get(f"{server.base_url}/health/live", headers={"Connection": "close"})
                assert response.status_code == 200
                sent += 1
        assert len(list(tmp_path.glob("counter_*.db"))) == 2
        text = httpx.get(f"{server.base_url}/metrics").text
        assert count(text, route="/health/live", status="200") == sent
        assert "pid=" not in text, "samples are summed, not reported per process"


PENDING = "shop_outbox_pending_events"
OLDEST = "shop_outbox_oldest_pending_age_seconds"


def gauge(text: str, name: str) -> float | None:
    values = samples(text, name)
    assert len(values) <= 1, f"{name} is reported once, not per process: {values}"
    return next(iter(values.values()), None)


async def leave_pending(settings: Settings, count: int, age_seconds: int) -> None:
    """`count` events that no relay publishes (a plain engine has no immediate relay), the oldest aged."""
    plain = Database(settings)
    try:
        async with unit_of_work(plain) as session:
            for n in range(count):
                record_event(session, probe_events.COUNTED, {"n": n})
        async with unit_of_work(plain) as session:
            await session.execute(
                sql(
                    "UPDATE outbox_event SET created_at = now() - make_interval(secs => :age)"
                    " WHERE id = (SELECT id FROM outbox_event ORDER BY id LIMIT 1)"
                ),
                {"age": age_seconds},
            )
    finally:
        await plain.dispose()


class TestOutboxBacklog:
    async def test_pending_events_and_the_oldest_age_are_read_at_scrape_time(
        self, probe: httpx.AsyncClient, resources: Resources, settings: Settings
    ) -> None:
        text = (await probe.get("/metrics")).text
        assert (gauge(text, PENDING), gauge(text, OLDEST)) == (0, 0)
        await leave_pending(settings, 3, age_seconds=120)
        text = (await probe.get("/metrics")).text
        assert gauge(text, PENDING) == 3
        oldest = gauge(text, OLDEST)
        assert oldest is not None and 120 <= oldest < 600
        async with unit_of_work(resources.database) as session:
            await session.execute(sql("UPDATE outbox_event SET published_at = now()"))
        text = (await probe.get("/metrics")).text
        assert (gauge(text, PENDING), gauge(text, OLDEST)) == (0, 0)

    async def test_a_database_that_does_not_answer_in_time_leaves_the_gauges_out_not_the_scrape(
        self, settings: Settings, tmp_path: Path
    ) -> None:
        # One pooled connection, held here: the scrape's backlog query would wait 30 s for it.
        own = make_settings(
            settings.database_url or "",
            settings.redis_url or "",
            tmp_path,
            database_pool_size=1,
            database_max_overflow=0,
            database_pool_timeout=30,
        )
        async with running_app(own) as app, client_for(app) as client:
            assert gauge((await client.get("/metrics")).text, PENDING) is not None
            async with app.state.resources.database.engine.connect():
                started = time.monotonic()
                response = await client.get("/metrics")
                waited = time.monotonic() - started
            assert response.status_code == 200
            assert gauge(response.text, PENDING) is None
            assert gauge(response.text, OLDEST) is None
            assert "shop_http_requests_total" in response.text, "the rest of the scrape is there"
            assert waited < 15, f"the scrape waited {waited:.1f} s"
            assert samples(response.text, "shop_dependency_errors_total")[(("dependency", "database"),)] >= 1
            assert gauge((await client.get("/metrics")).text, PENDING) == 0, "back once the pool is free"


async def test_the_backlog_is_not_summed_over_server_processes(
    settings: Settings, resources: Resources, tmp_path: Path
) -> None:
    await leave_pending(settings, 4, age_seconds=60)
    env = {**settings_env(settings), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    with run_server(env, 2) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            for _ in range(6):  # new connections: both processes answer some of them
                text = (await http.get("/metrics", headers={"Connection": "close"})).text
                assert gauge(text, PENDING) == 4


async def test_the_pool_gauge_holds_after_a_pooled_connection_died(settings: Settings, resources: Resources) -> None:
    """A connection found dead on checkout is replaced; the gauge still reads the pool's count."""
    database = Database(settings)
    try:
        async with database.engine.connect() as connection:
            backend = await connection.scalar(sql("SELECT pg_backend_pid()"))
        await asyncio.sleep(PING_AFTER_IDLE_SECONDS + 0.2)  # idle long enough to be pinged
        async with resources.database.engine.connect() as other:
            await other.execute(sql("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        async with database.engine.connect() as connection:
            assert await connection.scalar(sql("SELECT pg_backend_pid()")) != backend
            assert REGISTRY.get_sample_value("shop_db_pool_checked_out") == 1
        assert REGISTRY.get_sample_value("shop_db_pool_checked_out") == 0
    finally:
        await database.dispose()
