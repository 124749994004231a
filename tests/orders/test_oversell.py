"""Checkouts racing for the last units, against a real server with several worker processes.

Each worker process has its own connection pool; only PostgreSQL stands between two buyers and
the same unit. Nothing may be sold twice, no order may be half-made, and no two checkouts may
deadlock (PostgreSQL would abort one: a 500 here).
"""

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from shop.core.config import Settings
from shop.core.resources import Resources
from shop.orders.models import Order, OrderLine
from shop.products.models import StockMovement
from tests.fixtures.auth import Account, create_user
from tests.fixtures.invariants import audit_invariants
from tests.fixtures.orders import ADDRESS, create_variants, items, stock_of
from tests.fixtures.servers import RACE_SETTINGS, RunningServer, race_client, racing_server
from tests.fixtures.settings import settings_env


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[RunningServer]:
    with racing_server(settings_env(settings, **RACE_SETTINGS)) as running:
        yield running


@pytest.fixture
async def http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with race_client(server) as client:
        yield client


async def buyers(resources: Resources, count: int) -> list[Account]:
    return [await create_user(resources) for _ in range(count)]


async def checkout(
    http: httpx.AsyncClient, buyer: Account, lines: list[tuple[uuid.UUID, int]], key: str | None = None
) -> httpx.Response:
    headers = {**buyer.headers, **({"Idempotency-Key": key} if key else {})}
    return await http.post(
        "/api/v1/orders", json={"shipping_address": ADDRESS, "items": items(*lines)}, headers=headers
    )


async def sold(resources: Resources) -> Counter[uuid.UUID]:
    """Units on orders that still hold their stock (not cancelled or refunded), per variant."""
    async with resources.database.sessionmaker() as session:
        rows = await session.execute(
            select(OrderLine.variant_id, func.sum(OrderLine.quantity))
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.status.not_in(["cancelled", "refunded"]))
            .group_by(OrderLine.variant_id)
        )
        return Counter({variant_id: int(total) for variant_id, total in rows})


async def moved(resources: Resources) -> Counter[uuid.UUID]:
    """The sum of the stock movements per variant (negative: taken)."""
    async with resources.database.sessionmaker() as session:
        rows = await session.execute(
            select(StockMovement.variant_id, func.sum(StockMovement.delta)).group_by(StockMovement.variant_id)
        )
        return Counter({variant_id: int(total) for variant_id, total in rows})


async def test_two_hundred_buyers_of_ten_units_make_exactly_ten_orders(
    http: httpx.AsyncClient, resources: Resources
) -> None:
    (variant,) = await create_variants(resources, [10])
    people = await buyers(resources, 50)
    responses = await asyncio.gather(*(checkout(http, people[i % 50], [(variant, 1)]) for i in range(200)))
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: 10, 409: 190}, statuses
    refused = [response.json() for response in responses if response.status_code == 409]
    assert all(body["code"] == "insufficient_stock" for body in refused)
    assert all(body["errors"][0]["requested"] == 1 and body["errors"][0]["available"] == 0 for body in refused[-10:])
    assert await stock_of(resources, variant) == [0]
    assert (await sold(resources))[variant] == 10
    assert (await moved(resources))[variant] == -10
    numbers = [response.json()["number"] for response in responses if response.status_code == 201]
    assert len(set(numbers)) == 10
    await audit_invariants(resources.database)


async def test_mixed_multi_line_orders_and_cancels_keep_every_unit_accounted_for(
    http: httpx.AsyncClient, resources: Resources
) -> None:
    initial = [15, 12, 10, 8, 20]
    variants = await create_variants(resources, initial)
    people = await buyers(resources, 40)
    rng = random.Random(20261124)

    def basket() -> list[tuple[uuid.UUID, int]]:
        # Variants in a random order, so that two baskets often name shared variants in
        # opposite orders: the locks must still be taken in one order.
        chosen = rng.sample(variants, rng.randint(2, 4))
        return [(variant, rng.randint(1, 3)) for variant in chosen]

    first = [(people[i % 40], basket()) for i in range(120)]
    placed = await asyncio.gather(*(checkout(http, buyer, lines) for buyer, lines in first))
    check_all_or_nothing(first, placed)
    made = [
        (buyer, response.json())
        for (buyer, _), response in zip(first, placed, strict=True)
        if response.status_code == 201
    ]
    assert made, "some baskets fit"

    # A second wave of checkouts races the cancellation of half of the first wave's orders.
    cancels = made[::2]
    second = [(people[i % 40], basket()) for i in range(80)]
    results = await asyncio.gather(
        *(http.post(f"/api/v1/orders/{order['id']}/cancel", headers=buyer.headers) for buyer, order in cancels),
        *(checkout(http, buyer, lines) for buyer, lines in second),
    )
    assert all(response.status_code == 200 for response in results[: len(cancels)])
    check_all_or_nothing(second, list(results[len(cancels) :]))

    stock = await stock_of(resources, *variants)
    taken = await sold(resources)
    assert all(units >= 0 for units in stock)
    assert stock == [start - taken[variant] for start, variant in zip(initial, variants, strict=True)]
    movements = await moved(resources)
    assert [movements[variant] for variant in variants] == [-taken[variant] for variant in variants]
    await audit_invariants(resources.database)


def check_all_or_nothing(
    requests: list[tuple[Account, list[tuple[uuid.UUID, int]]]], responses: list[httpx.Response]
) -> None:
    """Every checkout either made the whole order or was refused for stock; nothing else (no 500)."""
    statuses = Counter(response.status_code for response in responses)
    assert set(statuses) <= {201, 409}, statuses
    for (_, lines), response in zip(requests, responses, strict=True):
        body: dict[str, Any] = response.json()
        if response.status_code == 201:
            assert [(line["variant_id"], line["quantity"]) for line in body["items"]] == [
                (str(variant), quantity) for variant, quantity in lines
            ]
        else:
            assert body["code"] == "insufficient_stock"
            wanted = dict(lines)
            assert all(error["requested"] == wanted[uuid.UUID(error["variant_id"])] for error in body["errors"])
            assert all(error["available"] < error["requested"] for error in body["errors"])


async def test_twenty_identical_requests_across_processes_make_one_order(
    http: httpx.AsyncClient, resources: Resources
) -> None:
    (variant,) = await create_variants(resources, [100])
    (buyer,) = await buyers(resources, 1)
    responses = await asyncio.gather(*(checkout(http, buyer, [(variant, 2)], key="one-order") for _ in range(20)))
    created = [r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers]
    assert len(created) == 1
    for response in responses:
        if response.status_code == 201:
            assert response.content == created[0].content
        else:
            assert response.status_code == 409
            assert response.json()["code"] == "idempotency_in_progress"
    assert await stock_of(resources, variant) == [98]
    retry = await checkout(http, buyer, [(variant, 2)], key="one-order")
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == created[0].content
    await audit_invariants(resources.database)
