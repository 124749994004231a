"""Checkout priced as the cart is: the breakdown kept on the order, refusals before anything is
taken, promotion uses counted and given back."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from shop.core.db import new_id, unit_of_work
from shop.core.resources import Resources
from shop.orders import tasks
from shop.orders.errors import REFUSALS
from shop.orders.models import Order
from shop.pricing import Refusal
from shop.products.models import Category, Product, Variant
from tests.fixtures.auth import Account
from tests.fixtures.orders import ADDRESS, backdate, create_variants, get_cart, items, pay, put, stock_of
from tests.fixtures.pricing import (
    create_method,
    create_promotion,
    create_zone,
    drop_default_zone,
    set_default_shipping,
    set_promotion,
    set_tax_class,
    set_tax_rate,
    uses,
)
from tests.fixtures.problems import assert_problem

DE = {**ADDRESS, "country": "DE", "city": "Berlin", "postal_code": "10115"}
BREAKDOWN = ("subtotal", "discount_total", "shipping_total", "tax_total", "total", "taxes", "promotions")
LINE = ("variant_id", "sku", "name", "unit_price", "quantity", "line_total", "discount", "tax_rate", "tax", "total")


def eur(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "EUR"}


async def checkout(
    client: httpx.AsyncClient, account: Account, *lines: tuple[uuid.UUID, int], **body: Any
) -> httpx.Response:
    payload: dict[str, Any] = {"shipping_address": body.pop("address", DE), **body}
    if lines:
        payload["items"] = items(*lines)
    return await client.post("/api/v1/orders", json=payload, headers=account.headers)


async def order_count(resources: Resources) -> int:
    async with resources.database.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Order)) or 0)


async def german_cart(client: httpx.AsyncClient, resources: Resources, customer: Account) -> uuid.UUID:
    """A cart of two shirts (19 %) and a book (7 %) going to Germany by a 4.95 method; its id."""
    await set_tax_rate(resources, "standard", "DE", "19")
    await set_tax_rate(resources, "reduced", "DE", "7")
    shirt, book = await create_variants(resources, [10, 10], prices=[1999, 1500])
    await set_tax_class(resources, book, "reduced")
    zone = await create_zone(resources, "Germany", ["DE"])
    method = await create_method(resources, zone, "DHL", 495)
    await put(client, customer, shirt, 2)
    await put(client, customer, book, 1)
    await client.put("/api/v1/cart/shipping-address", json={"shipping_address": DE}, headers=customer.headers)
    await client.put("/api/v1/cart/shipping-method", json={"shipping_method_id": str(method)}, headers=customer.headers)
    return method


class TestBreakdown:
    @pytest.mark.parametrize("inclusive", [True, False])
    async def test_the_order_keeps_the_breakdown_the_cart_showed(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        customer: Account,
        monkeypatch: pytest.MonkeyPatch,
        inclusive: bool,
    ) -> None:
        monkeypatch.setattr(resources.settings, "prices_include_tax", inclusive)
        method = await german_cart(client, resources, customer)
        await create_promotion(resources, "Five off", automatic=True, amount=500)
        await create_promotion(resources, "Ten percent", percent="10", code="TEN")
        cart = (await client.put("/api/v1/cart/coupon", json={"code": "ten"}, headers=customer.headers)).json()
        assert len(cart["promotions"]) == 2
        response = await checkout(client, customer)
        assert response.status_code == 201, response.text
        order = response.json()
        assert {key: order[key] for key in BREAKDOWN} == {key: cart[key] for key in BREAKDOWN}
        assert [[item[key] for key in LINE] for item in order["items"]] == [
            [item[key] for key in LINE] for item in cart["items"]
        ]
        assert order["prices_include_tax"] is inclusive
        assert order["coupon_code"] == "TEN"
        assert order["shipping_method"] == {"id": str(method), "name": "DHL"}
        fetched = (await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)).json()
        assert fetched == order
        # The cart is emptied and its code used; its address and method stay for the next order.
        after = await get_cart(client, customer)
        assert (after["items"], after["coupon"], after["shipping_method_id"]) == ([], None, str(method))

    async def test_an_inclusive_german_order_as_an_invoice_states_it(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        await german_cart(client, resources, customer)
        order = (await checkout(client, customer)).json()
        assert [(item["tax_rate"], item["tax"], item["total"]) for item in order["items"]] == [
            ("19", eur(638), eur(3998)),
            ("7", eur(98), eur(1500)),
        ]
        assert order["taxes"] == [
            {"rate": "7", "taxable": eur(1402), "tax": eur(98)},
            {"rate": "19", "taxable": eur(3776), "tax": eur(717)},
        ]
        assert (order["shipping_total"], order["tax_total"], order["total"]) == (eur(495), eur(815), eur(5993))

    async def test_later_changes_of_rates_methods_and_promotions_leave_the_order_alone(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        await german_cart(client, resources, customer)
        promotion = await create_promotion(resources, "Five off", automatic=True, amount=500)
        order = (await checkout(client, customer)).json()
        await set_tax_rate(resources, "standard", "DE", "16")
        await set_tax_rate(resources, "reduced", "DE", "5")
        await set_promotion(resources, promotion, is_active=False, amount=900)
        await set_default_shipping(resources, 9999)
        fetched = (await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)).json()
        assert fetched == order

    async def test_the_payment_charges_the_order_total(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(resources.settings, "prices_include_tax", False)
        await german_cart(client, resources, customer)
        order = (await checkout(client, customer)).json()
        assert order["total"] == eur(6952)
        paid = await pay(client, customer, order["id"])
        assert paid.status_code == 200, paid.text
        assert paid.json()["status"] == "paid"


class TestShippingChoice:
    async def test_without_a_method_the_cheapest_offered_is_used(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5], prices=[1000])
        zone = await create_zone(resources, "Germany", ["DE"])
        await create_method(resources, zone, "Express", 990)
        cheap = await create_method(resources, zone, "Standard", 495)
        order = (await checkout(client, customer, (variant, 1))).json()
        assert (order["shipping_method"], order["total"]) == ({"id": str(cheap), "name": "Standard"}, eur(1495))

    async def test_the_body_method_wins_and_must_be_offered(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5], prices=[1000])
        zone = await create_zone(resources, "Germany", ["DE"])
        express = await create_method(resources, zone, "Express", 990)
        elsewhere = await set_default_shipping(resources, 100)
        response = await checkout(client, customer, (variant, 1), shipping_method_id=str(elsewhere))
        body = assert_problem(response, 422, "shipping_method_unavailable")
        assert body["errors"] == [
            {"loc": ["body", "shipping_method_id"], "msg": "Not offered here", "type": "shipping_method_unavailable"}
        ]
        order = (await checkout(client, customer, (variant, 1), shipping_method_id=str(express))).json()
        assert order["shipping_total"] == eur(990)

    async def test_nothing_is_taken_when_the_shop_does_not_ship_there(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        await drop_default_zone(resources)
        (variant,) = await create_variants(resources, [5])
        response = await checkout(client, customer, (variant, 1))
        assert_problem(response, 422, "shipping_unavailable")
        assert await stock_of(resources, variant) == [5]
        assert await order_count(resources) == 0


class TestCouponAtCheckout:
    async def test_a_refused_code_refuses_the_checkout_and_takes_nothing(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5], prices=[1000])
        promotion = await create_promotion(resources, percent="10", code="BIG", min_subtotal=5000, max_uses=5)
        for code, reason in (("NOPE", "unknown"), ("big", "minimum_not_met")):
            response = await checkout(client, customer, (variant, 1), coupon_code=code)
            body = assert_problem(response, 422, "coupon_refused")
            assert body["errors"][0]["type"] == reason  # type: ignore[index]
            assert body["errors"][0]["loc"] == ["body", "coupon_code"]  # type: ignore[index]
        assert await stock_of(resources, variant) == [5]
        assert await order_count(resources) == 0
        assert await uses(resources, promotion) == (0, [0], {})

    async def test_a_use_is_counted_and_a_cancel_gives_it_back(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5], prices=[1000])
        promotion = await create_promotion(
            resources, percent="10", code="ONCE", max_uses=1, max_uses_per_customer=1, code_max_uses=1
        )
        order = (await checkout(client, customer, (variant, 1), coupon_code="once")).json()
        assert order["coupon_code"] == "ONCE"
        assert await uses(resources, promotion) == (1, [1], {customer.id: 1})
        response = await checkout(client, customer, (variant, 1), coupon_code="ONCE")
        assert assert_problem(response, 422, "coupon_refused")["errors"][0]["type"] == "used_up"  # type: ignore[index]
        cancelled = await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer.headers)
        assert cancelled.json()["status"] == "cancelled"
        assert await uses(resources, promotion) == (0, [0], {customer.id: 0})
        assert (await checkout(client, customer, (variant, 1), coupon_code="ONCE")).status_code == 201

    async def test_the_expiry_gives_uses_back(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5], prices=[1000])
        promotion = await create_promotion(resources, percent="10", code="LATE", max_uses=3)
        limited = await create_promotion(resources, "Auto", automatic=True, amount=100, max_uses=3)
        unlimited = await create_promotion(resources, "Free ship", automatic=True, free_shipping=True)
        orders = [(await checkout(client, customer, (variant, 1), coupon_code="LATE")).json() for _ in range(2)]
        assert all(len(order["promotions"]) == 2 for order in orders)
        assert (await uses(resources, promotion))[0] == 2
        assert (await uses(resources, limited))[0] == 2
        assert (await uses(resources, unlimited))[0] == 0  # unlimited automatic ones are not counted
        for order in orders:
            await backdate(resources, order["id"], resources.settings.payment_timeout_minutes + 1)
        assert await tasks.expire_unpaid(resources) == 2
        assert await uses(resources, promotion) == (0, [0], {})
        assert (await uses(resources, limited))[0] == 0

    async def test_a_refund_keeps_the_use(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5], prices=[1000])
        promotion = await create_promotion(resources, percent="10", code="KEPT", max_uses=3)
        order = (await checkout(client, customer, (variant, 1), coupon_code="KEPT")).json()
        assert (await pay(client, customer, order["id"])).status_code == 200
        refunded = await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer.headers)
        assert refunded.status_code == 200, refunded.text
        assert (await uses(resources, promotion))[0] == 1

    async def test_the_cart_code_is_used_unless_the_body_gives_one(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5], prices=[1000])
        await create_promotion(resources, amount=100, code="CART")
        await create_promotion(resources, amount=200, code="BODY")
        await put(client, customer, variant, 1)
        await client.put("/api/v1/cart/coupon", json={"code": "cart"}, headers=customer.headers)
        order = (await checkout(client, customer, coupon_code="body")).json()
        assert (order["coupon_code"], order["total"]) == ("BODY", eur(800))
        await put(client, customer, variant, 1)
        await client.put("/api/v1/cart/coupon", json={"code": "cart"}, headers=customer.headers)
        order = (await checkout(client, customer)).json()
        assert (order["coupon_code"], order["total"]) == ("CART", eur(900))


class TestRegions:
    async def test_a_region_with_a_rate_of_its_own_is_taxed_at_it(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        """Spain charges 21 %; the Canary Islands (ES-CN) are outside the EU VAT area: 0 %."""
        await set_tax_rate(resources, "standard", "ES", "21")
        await set_tax_rate(resources, "standard", "ES", "0", region="ES-CN")
        (shirt,) = await create_variants(resources, [10], prices=[12100])
        await set_default_shipping(resources, 0)
        spain = {**ADDRESS, "country": "ES", "city": "Madrid", "postal_code": "28013"}
        mainland = await checkout(client, customer, (shirt, 1), address=spain)
        islands = await checkout(client, customer, (shirt, 1), address={**spain, "region": "es-cn"})
        assert mainland.status_code == islands.status_code == 201, (mainland.text, islands.text)
        assert mainland.json()["tax_total"] == eur(2100)
        assert islands.json()["tax_total"] == eur(0)
        assert islands.json()["shipping_address"]["region"] == "ES-CN"

    async def test_a_region_outside_the_country_is_refused(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (shirt,) = await create_variants(resources, [10], prices=[1000])
        response = await checkout(client, customer, (shirt, 1), address={**DE, "region": "ES-CN"})
        assert_problem(response, 422, "validation_error")
        assert await stock_of(resources, shirt) == [10]


class TestCategoryPromotions:
    async def test_a_promotion_on_a_category_discounts_the_products_of_its_sub_categories(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        """As the storefront lists Men under Clothing, "10 % off Clothing" takes 10 % off a shirt in Men."""
        clothing, men = new_id(), new_id()
        async with unit_of_work(resources.database) as session:
            session.add(Category(id=clothing, name="Clothing", slug="clothing"))
            await session.flush()
            session.add(Category(id=men, name="Men", slug="men", parent_id=clothing))
        (shirt,) = await create_variants(resources, [10], prices=[2000])
        (mug,) = await create_variants(resources, [10], prices=[1000], name="Mug")
        async with unit_of_work(resources.database) as session:
            product_id = (await session.execute(select(Variant.product_id).where(Variant.id == shirt))).scalar_one()
            await session.execute(update(Product).where(Product.id == product_id).values(category_id=men))
        await create_promotion(resources, "Clothing sale", automatic=True, percent="10", category_ids=[clothing])
        await set_default_shipping(resources, 0)
        response = await checkout(client, customer, (shirt, 1), (mug, 1))
        assert response.status_code == 201, response.text
        discounts = {item["name"]: item["discount"] for item in response.json()["items"]}
        assert discounts == {"Linen Shirt - Size 0": eur(200), "Mug - Size 0": eur(0)}


class TestTheCartsCode:
    async def test_a_checkout_with_another_code_leaves_the_carts_code_for_next_time(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        await german_cart(client, resources, customer)
        await create_promotion(resources, "Ten", percent="10", code="TEN")
        await create_promotion(resources, "Five", amount=500, code="FIVE")
        kept = await client.put("/api/v1/cart/coupon", json={"code": "ten"}, headers=customer.headers)
        assert kept.status_code == 200, kept.text
        response = await checkout(client, customer, coupon_code="five")
        assert response.status_code == 201, response.text
        assert response.json()["coupon_code"] == "FIVE"
        assert (await get_cart(client, customer))["coupon"]["code"] == "TEN"

    async def test_a_carts_code_that_stopped_applying_refuses_the_checkout_and_says_where_it_is(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5], prices=[1000])
        promotion = await create_promotion(resources, percent="10", code="SUMMER")
        await put(client, customer, variant, 1)
        assert (await client.put("/api/v1/cart/coupon", json={"code": "summer"}, headers=customer.headers)).is_success
        await set_promotion(resources, promotion, ends_at=datetime.now(UTC) - timedelta(minutes=1))
        body = assert_problem(await checkout(client, customer), 422, "coupon_refused")
        assert body["errors"] == [{"loc": ["cart", "coupon"], "msg": REFUSALS[Refusal.expired], "type": "expired"}]
        assert "SUMMER" in body["detail"]  # type: ignore[operator]
        assert await order_count(resources) == 0
        assert (await client.delete("/api/v1/cart/coupon", headers=customer.headers)).is_success
        assert (await checkout(client, customer)).status_code == 201


class TestACodeThatTakesNothingOff:
    async def test_is_shown_on_the_order_but_holds_none_of_its_uses(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        """Free shipping on an order whose shipping is free already: nothing off, no use taken."""
        await set_default_shipping(resources, 0)
        (variant,) = await create_variants(resources, [5], prices=[1000])
        promotion = await create_promotion(resources, free_shipping=True, code="SHIPFREE", max_uses=1, code_max_uses=1)
        for _ in range(2):
            order = (await checkout(client, customer, (variant, 1), address=ADDRESS, coupon_code="shipfree")).json()
            assert (order["coupon_code"], order["total"]) == ("SHIPFREE", eur(1000))
        assert await uses(resources, promotion) == (0, [0], {})
        cancelled = await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer.headers)
        assert cancelled.json()["status"] == "cancelled"
        assert await uses(resources, promotion) == (0, [0], {})
