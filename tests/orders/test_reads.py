"""Order history and detail: newest first, filters, keyset pages, and a constant number of queries."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text

from shop.core.resources import Resources
from shop.core.schemas import encode_cursor
from tests.fixtures.auth import Account
from tests.fixtures.orders import create_variants, pay, place_order


async def listing(
    client: httpx.AsyncClient, account: Account, path: str = "/api/v1/orders", **params: Any
) -> dict[str, Any]:
    response = await client.get(path, params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def walk(client: httpx.AsyncClient, account: Account, path: str, **params: Any) -> list[str]:
    """The numbers on every page, following `next_cursor` to the end."""
    numbers: list[str] = []
    cursor = None
    for _ in range(50):
        page = await listing(client, account, path, **params, **({"cursor": cursor} if cursor else {}))
        numbers.extend(order["number"] for order in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return numbers
    raise AssertionError("the pages never ended")


@asynccontextmanager
async def counted(resources: Resources) -> AsyncIterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        # The outbox relay publishes the events of earlier requests in the background meanwhile.
        if "outbox_event" not in args[2]:
            statements.append(args[2])

    engine = resources.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def set_created_at(resources: Resources, order_id: str, at: str) -> None:
    async with resources.database.sessionmaker() as session:
        await session.execute(
            text("UPDATE customer_order SET created_at = :at WHERE id = :id"),
            {"at": datetime.fromisoformat(at), "id": uuid.UUID(order_id)},
        )
        await session.commit()


class TestCustomerHistory:
    async def test_newest_first_own_orders_only_in_keyset_pages(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, other_customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [50])
        mine = [(await place_order(client, customer, (variant, 1)))["number"] for _ in range(7)]
        await place_order(client, other_customer, (variant, 1))
        assert await walk(client, customer, "/api/v1/orders", limit=3) == list(reversed(mine))
        first = await listing(client, customer, limit=3)
        assert len(first["items"]) == 3 and first["next_cursor"]

    async def test_orders_made_in_one_instant_are_paged_by_id(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [50])
        orders = [await place_order(client, customer, (variant, 1)) for _ in range(5)]
        for order in orders:
            await set_created_at(resources, order["id"], "2026-01-01T12:00:00+00:00")
        numbers = await walk(client, customer, "/api/v1/orders", limit=2)
        assert sorted(numbers) == sorted(order["number"] for order in orders)
        assert len(set(numbers)) == 5

    async def test_filter_by_status(self, client: httpx.AsyncClient, resources: Resources, customer: Account) -> None:
        (variant,) = await create_variants(resources, [50])
        paid = await place_order(client, customer, (variant, 1))
        await pay(client, customer, paid["id"])
        pending = await place_order(client, customer, (variant, 1))
        assert [o["id"] for o in (await listing(client, customer, status="paid"))["items"]] == [paid["id"]]
        assert [o["id"] for o in (await listing(client, customer, status="pending_payment"))["items"]] == [
            pending["id"]
        ]
        assert (await listing(client, customer, status="shipped"))["items"] == []

    @pytest.mark.parametrize(
        "params",
        [
            {"status": "lost"},
            {"limit": 0},
            {"limit": 101},
            {"cursor": "garbage"},
            {"cursor": "eyJjIjoxfQ"},
            {"cursor": encode_cursor({"c": "0001-01-01T00:00:00+01:00", "i": str(uuid.uuid4())})},
        ],
        ids=["status", "limit-0", "limit-101", "cursor", "cursor-fields", "cursor-in-year-0"],
    )
    async def test_bad_parameters_are_422(
        self, client: httpx.AsyncClient, customer: Account, params: dict[str, Any]
    ) -> None:
        response = await client.get("/api/v1/orders", params=params, headers=customer.headers)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"


class TestAdminList:
    async def test_filters_by_status_customer_and_time(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        customer: Account,
        other_customer: Account,
        staff: Account,
    ) -> None:
        (variant,) = await create_variants(resources, [50])
        early = await place_order(client, customer, (variant, 1))
        middle = await place_order(client, other_customer, (variant, 1))
        late = await place_order(client, customer, (variant, 1))
        await pay(client, customer, late["id"])
        await set_created_at(resources, early["id"], "2026-03-01T10:00:00+00:00")
        await set_created_at(resources, middle["id"], "2026-03-02T10:00:00+00:00")
        await set_created_at(resources, late["id"], "2026-03-03T10:00:00+00:00")

        async def numbers(**params: Any) -> list[str]:
            return [o["number"] for o in (await listing(client, staff, "/api/v1/admin/orders", **params))["items"]]

        assert await numbers() == [late["number"], middle["number"], early["number"]]
        assert await numbers(user_id=str(customer.id)) == [late["number"], early["number"]]
        assert await numbers(status="paid") == [late["number"]]
        assert await numbers(created_from="2026-03-02T10:00:00Z") == [late["number"], middle["number"]]
        assert await numbers(created_to="2026-03-02T10:00:00Z") == [early["number"]]
        assert await numbers(created_from="2026-03-02T11:00:00+01:00", created_to="2026-03-03T10:00:00Z") == [
            middle["number"]
        ]
        assert await numbers(status="pending_payment", user_id=str(customer.id)) == [early["number"]]
        assert await walk(client, staff, "/api/v1/admin/orders", limit=1) == await numbers()

    @pytest.mark.parametrize(
        "params",
        [
            {"created_from": "2026-03-02T10:00:00"},
            {"created_to": "yesterday"},
            {"created_to": "0.5"},
            {"created_from": "1772445600"},
            {"created_to": "0001-01-01T00:00:01+00:01"},
            {"created_from": "9999-12-31T23:59:59-00:01"},
            {"user_id": "me"},
        ],
        ids=[
            "no-offset",
            "not-a-time",
            "unix-seconds",
            "unix-integer",
            "year-0-in-utc",
            "year-10000-in-utc",
            "not-a-uuid",
        ],
    )
    async def test_bad_filters_are_422(self, client: httpx.AsyncClient, staff: Account, params: dict[str, Any]) -> None:
        response = await client.get("/api/v1/admin/orders", params=params, headers=staff.headers)
        assert response.status_code == 422

    async def test_an_unknown_order_is_404(self, client: httpx.AsyncClient, staff: Account) -> None:
        response = await client.get(f"/api/v1/admin/orders/{uuid.uuid4()}", headers=staff.headers)
        assert response.status_code == 404


class TestQueryCount:
    async def test_detail_and_history_cost_the_same_whatever_the_number_of_lines(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        small_variants = await create_variants(resources, [10])
        large_variants = await create_variants(resources, [10] * 40)
        small = await place_order(client, customer, (small_variants[0], 1))
        large = await place_order(client, customer, *((v, 1) for v in large_variants))
        await pay(client, customer, large["id"])
        counts = []
        for order in (small, large):
            async with counted(resources) as statements:
                response = await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)
            assert response.status_code == 200
            counts.append(len(statements))
        # The caller, the order, its lines, its history.
        assert counts == [4, 4], counts
        async with counted(resources) as one_page:
            page = await listing(client, customer, limit=100)
        assert len(page["items"]) == 2
        more = [await place_order(client, customer, *((v, 1) for v in large_variants[:10])) for _ in range(5)]
        async with counted(resources) as bigger_page:
            page = await listing(client, customer, limit=100)
        assert len(page["items"]) == 2 + len(more)
        assert len(one_page) == len(bigger_page) == 4, bigger_page
