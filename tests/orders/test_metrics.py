"""The order counters on `/metrics`: orders placed, checkout rejections, revenue.

The test process keeps one registry for the whole run, so each test compares with what the
counters said before it acted.
"""

import httpx
from prometheus_client.parser import text_string_to_metric_families

from shop.core.db import commit, rollback
from shop.core.resources import Resources
from shop.orders.schemas import Actor, Address, OrderCreate, OrderItemCreate
from shop.orders.service.checkout import Buyer, checkout
from tests.fixtures.auth import Account
from tests.fixtures.orders import ADDRESS, create_variants, deliver, event, pay, place, place_order, signed


class Scrape:
    """One reading of `/metrics`: `scrape["shop_orders_placed_total", {"currency": "EUR"}]`."""

    def __init__(self, text: str) -> None:
        self.values: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self.values[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def __getitem__(self, key: tuple[str, dict[str, str]]) -> float:
        name, labels = key
        return self.values.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient) -> Scrape:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return Scrape(response.text)


PLACED = ("shop_orders_placed_total", {"currency": "EUR"})
REVENUE = ("shop_revenue_minor_units_total", {"currency": "EUR"})


def rejected(reason: str) -> tuple[str, dict[str, str]]:
    return ("shop_checkout_rejections_total", {"reason": reason})


class TestOrdersPlaced:
    async def test_each_committed_checkout_counts_once_and_a_replay_does_not(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [10])
        before = await scrape(client)
        await place_order(client, customer, (variant, 1))
        await place(client, customer, (variant, 2), key="counted-once")
        replay = await place(client, customer, (variant, 2), key="counted-once")
        assert replay.headers["idempotent-replayed"] == "true"
        assert (await scrape(client))[PLACED] == before[PLACED] + 2

    async def test_a_checkout_that_rolls_back_never_counts(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [10])
        buyer = Buyer(customer.id, customer.email, Actor.customer)
        data = OrderCreate(shipping_address=Address(**ADDRESS), items=[OrderItemCreate(variant_id=variant, quantity=1)])
        before = await scrape(client)
        async with resources.database.sessionmaker() as session:
            await checkout.place(session, settings=resources.settings, buyer=buyer, data=data)
            await rollback(session)
        assert (await scrape(client))[PLACED] == before[PLACED]
        async with resources.database.sessionmaker() as session:
            await checkout.place(session, settings=resources.settings, buyer=buyer, data=data)
            await commit(session)
        assert (await scrape(client))[PLACED] == before[PLACED] + 1


class TestRejections:
    async def test_each_refusal_counts_under_its_problem_code(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (scarce,) = await create_variants(resources, [1])
        (archived,) = await create_variants(resources, [5], archived=True)
        before = await scrape(client)
        await place(client, customer, (scarce, 2), expect=409)
        await place(client, customer, (scarce, 2), key="short", expect=409)
        await place(client, customer, (scarce, 2), key="short", expect=409)  # a replay: not counted again
        await place(client, customer, (archived, 1), expect=422)
        await place(client, customer, expect=422)  # the cart is empty
        malformed = await client.post("/api/v1/orders", json={"items": []}, headers=customer.headers)
        assert malformed.json()["code"] == "validation_error"  # rejected before checkout ran: not counted
        after = await scrape(client)
        assert after[rejected("insufficient_stock")] == before[rejected("insufficient_stock")] + 2
        assert after[rejected("variant_unavailable")] == before[rejected("variant_unavailable")] + 1
        assert after[rejected("empty_order")] == before[rejected("empty_order")] + 1
        assert after[rejected("validation_error")] == before[rejected("validation_error")]
        assert after[PLACED] == before[PLACED]


class TestRevenue:
    async def test_paid_totals_count_once_and_declines_not_at_all(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, webhook_secret: str
    ) -> None:
        cheap, dear = await create_variants(resources, [10, 10], prices=[1250, 4999])
        by_api = await place_order(client, customer, (cheap, 2), (dear, 1))
        by_webhook = await place_order(client, customer, (dear, 1))
        declined = await place_order(client, customer, (cheap, 1))
        before = await scrape(client)

        assert (await pay(client, customer, declined["id"], "tok_declined")).status_code == 402
        headers = {**customer.headers, "Idempotency-Key": "pay-once"}
        for _ in range(2):  # the second is a replay
            paid = await client.post(
                f"/api/v1/orders/{by_api['id']}/pay", json={"payment_token": "tok_success"}, headers=headers
            )
            assert paid.status_code == 200
        body = event(by_webhook)
        for _ in range(2):  # the provider delivers twice; it is applied once
            assert (await deliver(client, body, signed(webhook_secret, body))).status_code == 200

        after = await scrape(client)
        assert by_api["total"]["amount"] == 2 * 1250 + 4999
        assert after[REVENUE] == before[REVENUE] + by_api["total"]["amount"] + by_webhook["total"]["amount"]
