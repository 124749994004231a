"""Checkout: every line checked, stock taken all-or-nothing, prices snapshotted, the cart emptied."""

import asyncio
import re
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from shop.core.db import unit_of_work
from shop.core.resources import Resources
from shop.events import OrderNotice
from shop.orders.models import Order
from shop.products.models import Variant
from tests.fixtures.auth import Account, outbox_events
from tests.fixtures.orders import (
    ADDRESS,
    create_variants,
    get_cart,
    items,
    movements,
    place,
    place_order,
    put,
    stock_of,
)
from tests.fixtures.pricing import set_default_shipping


async def order_count(resources: Resources) -> int:
    async with resources.database.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Order)) or 0)


class TestPlace:
    async def test_an_order_snapshots_its_lines_and_takes_the_stock(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        shirt, scarf = await create_variants(resources, [5, 3], prices=[1999, 500])
        order = await place_order(client, customer, (shirt, 2), (scarf, 1))
        assert re.fullmatch(r"SO-\d{6}", order["number"])
        assert order["status"] == "pending_payment"
        assert order["items"] == [
            {
                "variant_id": str(shirt),
                "sku": f"SKU-{shirt.hex[-12:]}",
                "name": "Linen Shirt - Size 0",
                "unit_price": {"amount": 1999, "currency": "EUR"},
                "quantity": 2,
                "line_total": {"amount": 3998, "currency": "EUR"},
                "discount": {"amount": 0, "currency": "EUR"},
                "tax_rate": "0",
                "tax": {"amount": 0, "currency": "EUR"},
                "total": {"amount": 3998, "currency": "EUR"},
            },
            {
                "variant_id": str(scarf),
                "sku": f"SKU-{scarf.hex[-12:]}",
                "name": "Linen Shirt - Size 1",
                "unit_price": {"amount": 500, "currency": "EUR"},
                "quantity": 1,
                "line_total": {"amount": 500, "currency": "EUR"},
                "discount": {"amount": 0, "currency": "EUR"},
                "tax_rate": "0",
                "tax": {"amount": 0, "currency": "EUR"},
                "total": {"amount": 500, "currency": "EUR"},
            },
        ]
        assert order["subtotal"] == {"amount": 4498, "currency": "EUR"}
        assert order["shipping_total"] == {"amount": 0, "currency": "EUR"}
        assert order["total"] == {"amount": 4498, "currency": "EUR"}
        assert order["currency"] == "EUR"
        assert order["shipping_address"] == {**ADDRESS, "line2": None, "region": None, "phone": None}
        assert order["email"] == customer.email
        assert order["tracking"] is None
        assert [(h["status"], h["actor_role"]) for h in order["history"]] == [("pending_payment", "customer")]
        assert order["history"][0]["at"] == order["created_at"]
        assert order["paid_at"] is None and order["cancelled_at"] is None
        assert set(order) == {
            "id", "number", "status", "items", "subtotal", "discount_total", "shipping_total", "tax_total", "total",
            "taxes", "promotions", "coupon_code", "shipping_method", "prices_include_tax", "currency",
            "shipping_address", "email", "tracking", "history", "created_at", "updated_at", "paid_at",
            "cancelled_at",
        }  # fmt: skip
        assert await stock_of(resources, shirt, scarf) == [3, 2]
        assert await movements(resources, shirt) == [(-2, 3, f"order {order['number']}")]
        fetched = await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)
        assert fetched.json() == order

    async def test_later_price_changes_do_not_change_the_order(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5], prices=[1000])
        order = await place_order(client, customer, (variant, 1))
        async with unit_of_work(resources.database) as session:
            await session.execute(update(Variant).values(price_amount=9999, name="Renamed", sku="NEW-SKU"))
        fetched = (await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)).json()
        assert fetched["items"] == order["items"]
        assert fetched["total"]["amount"] == 1000

    async def test_shipping_is_charged_by_the_method_offered_at_the_address(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        await set_default_shipping(resources, 495)
        (variant,) = await create_variants(resources, [5], prices=[1000])
        order = await place_order(client, customer, (variant, 2))
        assert (order["subtotal"]["amount"], order["shipping_total"]["amount"], order["total"]["amount"]) == (
            2000,
            495,
            2495,
        )

    async def test_numbers_are_unique_and_increasing(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [10])
        numbers = [(await place_order(client, customer, (variant, 1)))["number"] for _ in range(3)]
        assert len(set(numbers)) == 3
        assert numbers == sorted(numbers)

    async def test_the_placed_event_carries_the_order_notice(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5], prices=[1250])
        order = await place_order(client, customer, (variant, 2))
        (payload,) = await outbox_events(resources, "order.placed")
        notice = OrderNotice.model_validate(payload)
        assert notice.order_id == uuid.UUID(order["id"])
        assert (notice.number, notice.email, notice.status) == (order["number"], customer.email, "pending_payment")
        assert [(line.sku, line.quantity, line.line_total.amount) for line in notice.items] == [
            (order["items"][0]["sku"], 2, 2500)
        ]
        assert (notice.subtotal.amount, notice.shipping_total.amount, notice.total.amount) == (2500, 0, 2500)
        assert notice.tracking is None

    async def test_the_product_page_shows_the_stock_taken_at_once(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        async with resources.database.sessionmaker() as session:
            product_id = await session.scalar(select(Variant.product_id).where(Variant.id == variant))

        async def shown_stock() -> int:
            product = (await client.get(f"/api/v1/products/{product_id}")).json()
            return int(product["variants"][0]["stock_available"])

        assert await shown_stock() == 5  # now cached
        await place_order(client, customer, (variant, 2))
        assert await shown_stock() == 3


class TestRefusals:
    async def test_a_variant_on_several_lines_is_checked_on_its_sum(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [3])
        refused = await place(client, customer, (variant, 2), (variant, 2), expect=409)
        assert refused.json()["errors"] == [{"variant_id": str(variant), "requested": 4, "available": 3}]
        order = await place_order(client, customer, (variant, 1), (variant, 2))
        assert [(line["variant_id"], line["quantity"]) for line in order["items"]] == [(str(variant), 3)]
        assert await stock_of(resources, variant) == [0]

    async def test_short_stock_names_every_short_variant_and_takes_nothing(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        plenty, few, none = await create_variants(resources, [5, 1, 0])
        response = await place(client, customer, (plenty, 2), (few, 2), (none, 1), expect=409)
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["code"] == "insufficient_stock"
        assert sorted(body["errors"], key=lambda e: e["available"]) == [
            {"variant_id": str(none), "requested": 1, "available": 0},
            {"variant_id": str(few), "requested": 2, "available": 1},
        ]
        assert await stock_of(resources, plenty, few, none) == [5, 1, 0]
        assert await movements(resources, plenty) == []
        assert await order_count(resources) == 0
        assert await outbox_events(resources, "order.placed") == []

    async def test_unknown_inactive_and_archived_variants_are_422(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        good, inactive = await create_variants(resources, [5, 5])
        async with unit_of_work(resources.database) as session:
            await session.execute(update(Variant).where(Variant.id == inactive).values(is_active=False))
        (archived,) = await create_variants(resources, [5], archived=True)
        (hidden,) = await create_variants(resources, [5], product_active=False)
        for bad in (uuid.uuid4(), inactive, archived, hidden):
            response = await place(client, customer, (good, 1), (bad, 1), expect=422)
            assert response.json()["code"] == "variant_unavailable"
            assert response.json()["errors"] == [{"variant_id": str(bad)}]
        assert await stock_of(resources, good) == [5]

    async def test_an_empty_order_is_422(self, client: httpx.AsyncClient, customer: Account) -> None:
        explicit = await client.post(
            "/api/v1/orders", json={"shipping_address": ADDRESS, "items": []}, headers=customer.headers
        )
        from_cart = await client.post("/api/v1/orders", json={"shipping_address": ADDRESS}, headers=customer.headers)
        for response in (explicit, from_cart):
            assert response.status_code == 422
            assert response.json()["code"] == "empty_order"

    @pytest.mark.parametrize(
        "lines",
        [
            [{"quantity": 1}],
            [{"variant_id": "not-a-uuid", "quantity": 1}],
            [{"variant_id": str(uuid.uuid4()), "quantity": 0}],
            [{"variant_id": str(uuid.uuid4()), "quantity": 100}],
            [{"variant_id": str(uuid.uuid4()), "quantity": "1"}],
            [{"variant_id": str(uuid.uuid4()), "quantity": 1}] * 101,
        ],
        ids=["no-variant", "bad-uuid", "zero", "hundred", "string", "101-lines"],
    )
    async def test_malformed_lines_are_422(
        self, client: httpx.AsyncClient, customer: Account, lines: list[dict[str, Any]]
    ) -> None:
        response = await client.post(
            "/api/v1/orders", json={"shipping_address": ADDRESS, "items": lines}, headers=customer.headers
        )
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"

    async def test_a_hundred_lines_are_fine(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        variants = await create_variants(resources, [1] * 100)
        order = await place_order(client, customer, *((variant, 1) for variant in variants))
        assert len(order["items"]) == 100

    @pytest.mark.parametrize(
        "address",
        [
            {**ADDRESS, "country": "XX"},
            {**ADDRESS, "country": "GBR"},
            {**ADDRESS, "city": "   "},
            {**ADDRESS, "phone": "call me"},
            {key: value for key, value in ADDRESS.items() if key != "line1"},
            {**ADDRESS, "company": "ACME"},
        ],
        ids=["unknown-country", "alpha-3", "blank-city", "bad-phone", "no-line1", "unknown-field"],
    )
    async def test_a_bad_address_is_422(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, address: dict[str, Any]
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        response = await client.post(
            "/api/v1/orders", json={"shipping_address": address, "items": items((variant, 1))}, headers=customer.headers
        )
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"

    async def test_an_address_is_stored_normalised(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        address = {**ADDRESS, "country": "gb", "city": "  London ", "line2": "Flat 2", "phone": "+44 20 7946 0000"}
        response = await client.post(
            "/api/v1/orders", json={"shipping_address": address, "items": items((variant, 1))}, headers=customer.headers
        )
        assert response.status_code == 201, response.text
        shown = response.json()["shipping_address"]
        assert (shown["country"], shown["city"], shown["line2"]) == ("GB", "London", "Flat 2")


class TestFromTheCart:
    async def test_ordering_the_cart_empties_it(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        first, second = await create_variants(resources, [5, 5])
        await put(client, customer, first, 2)
        await put(client, customer, second, 1)
        order = (await place(client, customer)).json()
        assert [(line["variant_id"], line["quantity"]) for line in order["items"]] == [
            (str(first), 2),
            (str(second), 1),
        ]
        assert (await get_cart(client, customer))["items"] == []
        assert await stock_of(resources, first, second) == [3, 4]

    async def test_a_refused_checkout_keeps_the_cart(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        first, second = await create_variants(resources, [5, 1])
        await put(client, customer, first, 2)
        await put(client, customer, second, 3)
        response = await place(client, customer, expect=409)
        assert response.json()["errors"] == [{"variant_id": str(second), "requested": 3, "available": 1}]
        assert (await get_cart(client, customer))["item_count"] == 5

    async def test_ordering_given_items_leaves_the_cart_alone(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        first, second = await create_variants(resources, [5, 5])
        await put(client, customer, first, 2)
        await place_order(client, customer, (second, 1))
        assert (await get_cart(client, customer))["item_count"] == 2

    async def test_a_line_added_during_checkout_is_ordered_or_kept_never_lost(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        variants = await create_variants(resources, [100] * 21)
        await put(client, customer, variants[0], 1)
        for late in variants[1:]:
            placed, _ = await asyncio.gather(place(client, customer), put(client, customer, late, 1))
            ordered = {line["variant_id"] for line in placed.json()["items"]}
            left = {line["variant_id"] for line in (await get_cart(client, customer))["items"]}
            assert str(late) in ordered ^ left, "the late line is in exactly one of the order and the cart"
            if left:
                continue
            await put(client, customer, variants[0], 1)  # keep something to order next round
