"""Request ids: echoed or generated, and on every log line of the request; tracebacks without locals."""

import io
import logging
import re
from pathlib import Path

import httpx
import pytest
import structlog

from shop.core.config import Settings
from shop.core.logging import configure_logging
from tests.fixtures.settings import make_settings


class TestRequestId:
    async def test_a_sent_id_is_echoed(self, probe: httpx.AsyncClient) -> None:
        response = await probe.get("/health/live", headers={"X-Request-ID": "abc-123"})
        assert response.headers["x-request-id"] == "abc-123"

    async def test_an_id_is_generated_when_none_is_sent(self, probe: httpx.AsyncClient) -> None:
        first = (await probe.get("/health/live")).headers["x-request-id"]
        second = (await probe.get("/health/live")).headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", first)
        assert first != second

    async def test_an_unsafe_id_is_replaced(self, probe: httpx.AsyncClient) -> None:
        response = await probe.get("/health/live", headers={"X-Request-ID": "bad id\twith spaces"})
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])

    async def test_errors_carry_the_id_too(self, probe: httpx.AsyncClient) -> None:
        response = await probe.get("/api/v1/nowhere", headers={"X-Request-ID": "nf-1"})
        assert response.headers["x-request-id"] == "nf-1"


class TestLogContext:
    async def test_every_line_of_a_request_has_its_id_method_and_route(
        self, probe: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.INFO):
            await probe.get("/api/v1/probe/log", headers={"X-Request-ID": "log-1"})
        events = {r.msg["event"]: r.msg for r in caplog.records if isinstance(r.msg, dict)}
        for name in ("probe.logged", "http.request"):
            assert events[name]["request_id"] == "log-1"
            assert events[name]["method"] == "GET"
            assert events[name]["route"] == "/api/v1/probe/log"
        assert events["probe.logged"]["answer"] == 42
        assert events["http.request"]["status"] == 200

    async def test_the_route_of_an_included_router_is_its_whole_template(
        self, probe: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.INFO):
            await probe.get("/api/v1/probe/nested/3")
        events = {r.msg["event"]: r.msg for r in caplog.records if isinstance(r.msg, dict)}
        assert events["probe.nested"]["route"] == "/api/v1/probe/nested/{thing_id}"
        assert events["http.request"]["route"] == "/api/v1/probe/nested/{thing_id}"


class TestTracebacks:
    @pytest.mark.parametrize("log_format", ["console", "json"])
    def test_a_logged_traceback_shows_no_local_variables(
        self, settings: Settings, tmp_path: Path, log_format: str
    ) -> None:
        secret = "-".join(["local", "value", "never", "logged"])  # not on a line a traceback shows
        configure_logging(
            make_settings(settings.require_database_url(), "redis://127.0.0.1:1/0", tmp_path, log_format=log_format)
        )
        try:
            root = logging.getLogger()
            output = io.StringIO()
            handler = logging.StreamHandler(output)
            handler.setFormatter(root.handlers[0].formatter)
            root.addHandler(handler)
            try:
                fail_holding(secret)
            except RuntimeError:
                structlog.get_logger().exception("probe.failed")
            root.removeHandler(handler)
        finally:
            configure_logging(settings)
        assert "RuntimeError" in output.getvalue()
        assert "fail_holding" in output.getvalue()
        assert secret not in output.getvalue()


def fail_holding(value: str) -> None:
    copy = value.upper().lower()
    raise RuntimeError(f"failed after {len(copy)} characters")
