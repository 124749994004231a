"""Cross-cutting HTTP behaviour: compression, CORS, docs."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from shop.core.config import Settings
from tests.fixtures.app import client_for, running_app
from tests.fixtures.settings import make_settings


async def test_large_bodies_are_gzipped(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["openapi"].startswith("3.1")


async def test_small_bodies_are_not(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        ("/docs", ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/docs/assets/swagger-init.js"]),
        ("/redoc", ["/redoc/redoc.standalone.js", "/docs/assets/redoc.css"]),
    ],
)
async def test_docs_are_served_with_their_assets(client: httpx.AsyncClient, page: str, assets: list[str]) -> None:
    # Rendered in a real browser by tests/core/test_apidocs.py; here, that the app serves it all.
    response = await client.get(page)
    assert response.status_code == 200
    for asset in assets:
        assert asset in response.text
        assert (await client.get(asset)).status_code == 200, asset


class TestCors:
    @pytest.fixture
    async def cors_app(self, settings: Settings, tmp_path: Path) -> AsyncIterator[FastAPI]:
        own = make_settings(
            settings.database_url or "", settings.redis_url or "", tmp_path, cors_origins=["https://store.example"]
        )
        async with running_app(own) as app:
            yield app

    async def test_a_configured_origin_is_allowed(self, cors_app: FastAPI) -> None:
        async with client_for(cors_app) as client:
            response = await client.options(
                "/health/live",
                headers={"Origin": "https://store.example", "Access-Control-Request-Method": "GET"},
            )
        assert response.headers["access-control-allow-origin"] == "https://store.example"

    async def test_a_configured_origin_reads_answers(self, cors_app: FastAPI) -> None:
        async with client_for(cors_app) as client:
            response = await client.get("/health/live", headers={"Origin": "https://store.example"})
        assert response.headers["access-control-allow-origin"] == "https://store.example"
        assert "x-request-id" in response.headers["access-control-expose-headers"].lower()

    async def test_another_origin_is_not(self, cors_app: FastAPI) -> None:
        async with client_for(cors_app) as client:
            response = await client.get("/health/live", headers={"Origin": "https://evil.example"})
        assert not cors_headers(response)

    async def test_another_origins_preflight_is_refused(self, cors_app: FastAPI) -> None:
        async with client_for(cors_app) as client:
            response = await client.options(
                "/api/v1/users/me",
                headers={
                    "Origin": "https://evil.example",
                    "Access-Control-Request-Method": "GET",
                    "Access-Control-Request-Headers": "Authorization",
                },
            )
        assert response.status_code == 400
        assert "access-control-allow-origin" not in response.headers

    async def test_without_configured_origins_no_origin_gets_cors_headers(self, client: httpx.AsyncClient) -> None:
        for origin in ("https://store.example", "null", "http://localhost:3000"):
            simple = await client.get("/health/live", headers={"Origin": origin})
            preflight = await client.options(
                "/health/live", headers={"Origin": origin, "Access-Control-Request-Method": "GET"}
            )
            assert not cors_headers(simple), origin
            assert not cors_headers(preflight), origin


def cors_headers(response: httpx.Response) -> list[str]:
    return [name for name in response.headers if name.lower().startswith("access-control-")]


async def test_docs_can_be_switched_off(settings: Settings, tmp_path: Path) -> None:
    own = make_settings(settings.database_url or "", settings.redis_url or "", tmp_path, docs_enabled=False)
    async with running_app(own) as app, client_for(app) as client:
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/swagger-ui-bundle.js", "/redoc/redoc.standalone.js"):
            assert (await client.get(path)).status_code == 404, path


async def test_every_error_response_is_documented_as_problem_json(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert "Problem" in schema["components"]["schemas"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    errors = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if (path, status) == ("/health/ready", "503"):
                    continue  # the readiness object, as with 200: a probe reads its checks (tests/core/test_health.py)
                if status.startswith(("4", "5")):
                    errors += 1
                    assert list(response["content"]) == ["application/problem+json"], (method, path, status)
    assert errors > 20
    ready = schema["paths"]["/health/ready"]["get"]["responses"]["503"]["content"]
    assert ready == {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}
