"""Who may see and move which order, and what a client may never set."""

import uuid
from typing import Any

import httpx
import pytest

from shop.core.resources import Resources
from tests.fixtures.auth import Account
from tests.fixtures.orders import ADDRESS, create_variants, items, pay, place_order, stock_of


@pytest.fixture
async def order(client: httpx.AsyncClient, resources: Resources, customer: Account) -> dict[str, Any]:
    (variant,) = await create_variants(resources, [5])
    return await place_order(client, customer, (variant, 1))


class TestAnotherCustomersOrder:
    async def test_cannot_be_read_paid_or_cancelled(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        customer: Account,
        other_customer: Account,
        order: dict[str, Any],
    ) -> None:
        base = f"/api/v1/orders/{order['id']}"
        calls = [
            await client.get(base, headers=other_customer.headers),
            await pay(client, other_customer, order["id"]),
            await client.post(f"{base}/cancel", headers=other_customer.headers),
            await client.post(f"{base}/cancel", headers={**other_customer.headers, "Idempotency-Key": "x"}),
        ]
        for response in calls:
            assert response.status_code == 404, response.text
            assert response.json()["code"] == "not_found"
        assert (
            calls[0].json()["detail"]
            == (await client.get(f"/api/v1/orders/{uuid.uuid4()}", headers=customer.headers)).json()["detail"]
        )
        assert (await client.get(base, headers=customer.headers)).json() == order
        listed = (await client.get("/api/v1/orders", headers=other_customer.headers)).json()
        assert listed == {"items": [], "next_cursor": None}
        variant = uuid.UUID(order["items"][0]["variant_id"])
        assert await stock_of(resources, variant) == [4]

    async def test_staff_see_it_through_the_admin_routes(
        self, client: httpx.AsyncClient, staff: Account, order: dict[str, Any]
    ) -> None:
        assert (await client.get(f"/api/v1/orders/{order['id']}", headers=staff.headers)).status_code == 404
        assert (await client.get(f"/api/v1/admin/orders/{order['id']}", headers=staff.headers)).json() == order


class TestRoles:
    async def test_a_customer_gets_403_on_every_admin_order_route(
        self, client: httpx.AsyncClient, customer: Account, order: dict[str, Any]
    ) -> None:
        base = f"/api/v1/admin/orders/{order['id']}"
        calls = [
            ("GET", "/api/v1/admin/orders", None),
            ("GET", base, None),
            ("POST", f"{base}/ship", {"carrier": "DHL", "tracking_number": "1"}),
            ("POST", f"{base}/deliver", None),
            ("POST", f"{base}/refund", None),
            ("POST", f"{base}/cancel", None),
        ]
        for method, path, body in calls:
            response = await client.request(method, path, json=body, headers=customer.headers)
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["code"] == "forbidden"
        current = (await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)).json()
        assert current == order

    async def test_anonymous_callers_get_401(self, client: httpx.AsyncClient, order: dict[str, Any]) -> None:
        for method, path in [
            ("GET", "/api/v1/orders"),
            ("POST", "/api/v1/orders"),
            ("GET", f"/api/v1/orders/{order['id']}"),
            ("POST", f"/api/v1/orders/{order['id']}/pay"),
            ("POST", f"/api/v1/orders/{order['id']}/cancel"),
            ("GET", "/api/v1/admin/orders"),
            ("PUT", f"/api/v1/cart/items/{uuid.uuid4()}"),
        ]:
            response = await client.request(method, path)
            assert response.status_code == 401, (method, path)
            assert response.headers["www-authenticate"] == "Bearer"

    async def test_admins_use_the_admin_routes_too(
        self, client: httpx.AsyncClient, admin: Account, order: dict[str, Any]
    ) -> None:
        response = await client.post(f"/api/v1/admin/orders/{order['id']}/cancel", headers=admin.headers)
        assert response.status_code == 200
        assert response.json()["history"][-1]["actor_role"] == "admin"


class TestServerOwnedFields:
    @pytest.mark.parametrize(
        "extra",
        [
            {"status": "paid"},
            {"total": {"amount": 1, "currency": "EUR"}},
            {"subtotal": {"amount": 1, "currency": "EUR"}},
            {"shipping_total": {"amount": 0, "currency": "EUR"}},
            {"id": str(uuid.uuid4())},
            {"number": "SO-999999"},
            {"email": "someone@example.com"},
            {"paid_at": "2026-01-01T00:00:00Z"},
        ],
        ids=lambda extra: next(iter(extra)),
    )
    async def test_an_order_body_cannot_set_them(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, extra: dict[str, Any]
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        body = {"shipping_address": ADDRESS, "items": items((variant, 1)), **extra}
        response = await client.post("/api/v1/orders", json=body, headers=customer.headers)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
        assert await stock_of(resources, variant) == [5]

    @pytest.mark.parametrize("field", ["unit_price", "price", "line_total", "sku", "name"])
    async def test_a_line_cannot_set_its_price_or_snapshot(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, field: str
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        line = {**items((variant, 1))[0], field: {"amount": 1, "currency": "EUR"} if "price" in field else "x"}
        response = await client.post(
            "/api/v1/orders", json={"shipping_address": ADDRESS, "items": [line]}, headers=customer.headers
        )
        assert response.status_code == 422

    async def test_status_cannot_be_set_through_pay_or_cancel(
        self, client: httpx.AsyncClient, customer: Account, order: dict[str, Any]
    ) -> None:
        paying = await client.post(
            f"/api/v1/orders/{order['id']}/pay",
            json={"payment_token": "tok_success", "status": "paid", "amount": 0},
            headers=customer.headers,
        )
        assert paying.status_code == 422

    async def test_an_id_that_does_not_parse_is_422(self, client: httpx.AsyncClient, customer: Account) -> None:
        for method, path in [
            ("GET", "/api/v1/orders/not-an-id"),
            ("POST", "/api/v1/orders/not-an-id/cancel"),
            ("DELETE", "/api/v1/cart/items/not-an-id"),
        ]:
            response = await client.request(method, path, headers=customer.headers)
            assert response.status_code == 422, path
