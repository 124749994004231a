"""Security headers: nosniff everywhere, no-store for credentialed requests, no server banner."""

from collections.abc import Iterator

import httpx
import pytest

from shop.core.config import Settings
from shop.core.resources import Resources
from shop.core.security import Role
from tests.fixtures.auth import create_user
from tests.fixtures.catalog import create_products
from tests.fixtures.servers import RunningServer, run_server
from tests.fixtures.settings import settings_env

NOSNIFF = ("x-content-type-options", "nosniff")


def assert_nosniff(response: httpx.Response) -> None:
    assert response.headers.get(NOSNIFF[0]) == NOSNIFF[1], (response.status_code, dict(response.headers))


class TestNosniff:
    @pytest.mark.parametrize(
        ("method", "path", "status"),
        [
            ("GET", "/health/live", 200),
            ("GET", "/api/v1/nowhere", 404),
            ("DELETE", "/api/v1/probe/items", 405),
            ("POST", "/api/v1/probe/items", 422),
            ("GET", "/api/v1/probe/conflict", 409),
            ("GET", "/api/v1/probe/crash", 500),
        ],
    )
    async def test_every_answer_carries_it(self, probe: httpx.AsyncClient, method: str, path: str, status: int) -> None:
        response = await probe.request(method, path, json={} if method == "POST" else None)
        assert response.status_code == status
        assert_nosniff(response)

    async def test_a_refused_body_carries_it(self, probe: httpx.AsyncClient) -> None:
        big = b"x" * (1024 * 1024 + 1)
        response = await probe.post("/api/v1/probe/items", content=big, headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert_nosniff(response)


class TestNoStore:
    async def test_the_callers_own_data_is_never_stored(self, client: httpx.AsyncClient, resources: Resources) -> None:
        customer = await create_user(resources)
        for path in ("/api/v1/users/me", "/api/v1/cart", "/api/v1/orders"):
            response = await client.get(path, headers=customer.headers)
            assert response.status_code == 200
            assert response.headers["cache-control"] == "no-store", path

    async def test_an_error_to_a_credentialed_request_is_not_stored_either(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/users/me", headers={"Authorization": "Bearer not-a-token"})
        assert response.status_code == 401
        assert response.headers["cache-control"] == "no-store"

    async def test_staff_answers_are_not_stored(self, client: httpx.AsyncClient, resources: Resources) -> None:
        admin = await create_user(resources, role=Role.admin)
        response = await client.get("/api/v1/admin/users", headers=admin.headers)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"

    async def test_a_login_is_not_stored(self, client: httpx.AsyncClient, resources: Resources) -> None:
        customer = await create_user(resources)
        response = await client.post(
            "/api/v1/auth/token", data={"username": customer.email, "password": customer.password}
        )
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"

    async def test_a_new_account_is_not_stored(self, client: httpx.AsyncClient) -> None:
        body = {"email": "new@example.com", "password": "long enough password", "full_name": "New"}
        response = await client.post("/api/v1/auth/register", json=body)
        assert response.status_code == 201
        assert response.headers["cache-control"] == "no-store"

    async def test_the_catalog_keeps_its_own_caching_for_everyone(
        self, client: httpx.AsyncClient, resources: Resources
    ) -> None:
        # The same product page for every caller: a signed-in customer's copy may be shared.
        (product_id,) = await create_products(resources, 1)
        customer = await create_user(resources)
        anonymous = await client.get(f"/api/v1/products/{product_id}")
        signed_in = await client.get(f"/api/v1/products/{product_id}", headers=customer.headers)
        assert anonymous.headers["cache-control"] == signed_in.headers["cache-control"] == "public, no-cache"
        assert_nosniff(signed_in)

    async def test_anonymous_reads_are_left_alone(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/products")
        assert response.status_code == 200
        assert response.headers.get("cache-control") != "no-store"


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[RunningServer]:
    with run_server(settings_env(settings)) as running:
        yield running


class TestRealServer:
    @pytest.mark.parametrize("path", ["/health/live", "/api/v1/nowhere", "/docs"])
    def test_no_server_banner(self, server: RunningServer, path: str) -> None:
        response = httpx.get(server.base_url + path)
        assert "server" not in response.headers
        assert not any("uvicorn" in value.lower() for value in response.headers.values())
        assert_nosniff(response)
