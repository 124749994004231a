"""Checkouts racing for the last uses of a coupon, against a real server with several worker processes.

Only PostgreSQL stands between two customers and the same use: a limit is never exceeded, a
refused checkout leaves nothing behind, and no two checkouts deadlock (a 500 here).
"""

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from shop.core.config import Settings
from shop.core.resources import Resources
from tests.fixtures.auth import Account, create_user
from tests.fixtures.invariants import audit_invariants
from tests.fixtures.orders import ADDRESS, create_variants, items, stock_of
from tests.fixtures.pricing import create_promotion, live_orders_with_code, orders_with_code, uses
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


async def checkout(http: httpx.AsyncClient, buyer: Account, variant: uuid.UUID, code: str) -> httpx.Response:
    body = {"shipping_address": ADDRESS, "items": items((variant, 1)), "coupon_code": code}
    return await http.post("/api/v1/orders", json=body, headers=buyer.headers)


def refusals(responses: list[httpx.Response]) -> Counter[str]:
    return Counter(
        f"{response.json()['code']}:{response.json()['errors'][0]['type']}"
        for response in responses
        if response.status_code == 422
    )


async def test_two_hundred_checkouts_take_exactly_the_ten_uses_of_a_code(
    http: httpx.AsyncClient, resources: Resources
) -> None:
    (variant,) = await create_variants(resources, [1000], prices=[1000])
    promotion = await create_promotion(resources, "Flash", percent="50", code="FLASH", max_uses=10)
    people = [await create_user(resources) for _ in range(50)]
    responses = await asyncio.gather(*(checkout(http, people[i % 50], variant, "flash") for i in range(200)))
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: 10, 422: 190}, statuses
    assert refusals(list(responses)) == {"coupon_refused:used_up": 190}
    assert await orders_with_code(resources, "FLASH") == 10
    promotion_uses, code_uses, _ = await uses(resources, promotion)
    assert (promotion_uses, code_uses) == (10, [10])
    assert await stock_of(resources, variant) == [990]  # refused checkouts reserved nothing
    await audit_invariants(resources.database)


async def test_one_customer_racing_for_a_once_per_customer_code_gets_it_once(
    http: httpx.AsyncClient, resources: Resources
) -> None:
    (variant,) = await create_variants(resources, [100], prices=[1000])
    promotion = await create_promotion(resources, "Welcome", amount=300, code="WELCOME", max_uses_per_customer=1)
    alice, bob = await create_user(resources), await create_user(resources)
    responses = await asyncio.gather(
        *(checkout(http, alice, variant, "WELCOME") for _ in range(8)),
        *(checkout(http, bob, variant, "WELCOME") for _ in range(8)),
    )
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: 2, 422: 14}, statuses
    assert refusals(list(responses)) == {"coupon_refused:used_up": 14}
    assert await uses(resources, promotion) == (2, [2], {alice.id: 1, bob.id: 1})
    assert await stock_of(resources, variant) == [98]


async def test_checkouts_and_cancels_racing_over_several_promotions_keep_every_counter_true(
    http: httpx.AsyncClient, resources: Resources
) -> None:
    variants = await create_variants(resources, [500, 500], prices=[1000, 2000])
    automatic = await create_promotion(resources, "Auto", automatic=True, amount=100, max_uses=1000)
    first = await create_promotion(resources, "First", percent="10", code="ONE", max_uses=40)
    second = await create_promotion(resources, "Second", percent="20", code="TWO", max_uses=40, max_uses_per_customer=3)
    people = [await create_user(resources) for _ in range(20)]
    placed = await asyncio.gather(
        *(checkout(http, people[i % 20], variants[i % 2], ("one", "two")[i // 2 % 2]) for i in range(80))
    )
    assert all(response.status_code in {201, 422} for response in placed), Counter(r.status_code for r in placed)
    made = [(people[i % 20], response.json()) for i, response in enumerate(placed) if response.status_code == 201]
    cancels = made[::2]
    results = await asyncio.gather(
        *(http.post(f"/api/v1/orders/{order['id']}/cancel", headers=buyer.headers) for buyer, order in cancels),
        *(checkout(http, people[i % 20], variants[i % 2], ("two", "one")[i % 2]) for i in range(40)),
    )
    assert all(response.status_code == 200 for response in results[: len(cancels)])
    assert all(response.status_code in {201, 422} for response in results[len(cancels) :])
    live = len(made) - len(cancels) + sum(response.status_code == 201 for response in results[len(cancels) :])
    assert (await uses(resources, automatic))[0] == live
    assert (await uses(resources, first))[0] == await live_orders_with_code(resources, "ONE")
    second_uses, _, by_customer = await uses(resources, second)
    assert second_uses == await live_orders_with_code(resources, "TWO") <= 40
    assert all(count <= 3 for count in by_customer.values())
    await audit_invariants(resources.database)


async def test_a_new_customer_racing_for_a_first_order_code_gets_it_once(
    http: httpx.AsyncClient, resources: Resources
) -> None:
    """Every racing checkout sees no earlier order; the first-order rule alone would let each take
    the code. A first-order-only promotion is once per customer, on the counter checkouts take."""
    (variant,) = await create_variants(resources, [100], prices=[1000])
    promotion = await create_promotion(resources, "First order", percent="10", code="FIRST", first_order_only=True)
    newcomer = await create_user(resources)
    responses = await asyncio.gather(*(checkout(http, newcomer, variant, "first") for _ in range(8)))
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: 1, 422: 7}, statuses
    assert set(refusals(list(responses))) <= {"coupon_refused:used_up", "coupon_refused:not_for_this_customer"}
    assert await uses(resources, promotion) == (1, [1], {newcomer.id: 1})
