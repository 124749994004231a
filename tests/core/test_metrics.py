"""Prometheus metrics: labelled by route template, and summed over every server process."""

import re
import uuid
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from shop.core.config import Settings
from tests.conftest import settings_env
from tests.fixtures.servers import run_server


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


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
