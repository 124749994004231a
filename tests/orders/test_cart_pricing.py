"""The cart priced through shop.pricing: where it goes, how it ships, the code entered, and the breakdown."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shop.core.resources import Resources
from tests.fixtures.auth import Account
from tests.fixtures.orders import ADDRESS, create_variants, get_cart, put
from tests.fixtures.pricing import (
    create_method,
    create_promotion,
    create_zone,
    default_method,
    drop_default_zone,
    set_default_shipping,
    set_groups,
    set_promotion,
    set_tax_class,
    set_tax_rate,
)
from tests.fixtures.problems import assert_problem

DE = {**ADDRESS, "country": "DE", "city": "Berlin", "postal_code": "10115"}


def eur(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "EUR"}


def days(least: int, most: int) -> dict[str, int]:
    return {"min_days": least, "max_days": most}


async def set_address(client: httpx.AsyncClient, account: Account, address: dict[str, Any]) -> httpx.Response:
    return await client.put(
        "/api/v1/cart/shipping-address", json={"shipping_address": address}, headers=account.headers
    )


async def set_method(client: httpx.AsyncClient, account: Account, method_id: uuid.UUID | str) -> httpx.Response:
    return await client.put(
        "/api/v1/cart/shipping-method", json={"shipping_method_id": str(method_id)}, headers=account.headers
    )


async def set_coupon(client: httpx.AsyncClient, account: Account, code: str) -> httpx.Response:
    return await client.put("/api/v1/cart/coupon", json={"code": code}, headers=account.headers)


async def german_store(resources: Resources) -> tuple[uuid.UUID, uuid.UUID]:
    """DE at 19 % standard and 7 % reduced; a shirt (standard, 19.99) and a book (reduced, 15.00)."""
    await set_tax_rate(resources, "standard", "DE", "19")
    await set_tax_rate(resources, "reduced", "DE", "7")
    shirt, book = await create_variants(resources, [10, 10], prices=[1999, 1500])
    await set_tax_class(resources, book, "reduced")
    return shirt, book


class TestShipping:
    async def test_methods_are_listed_once_the_address_is_known(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5], prices=[1000])
        await put(client, customer, variant, 2)
        zone = await create_zone(resources, "Germany", ["DE"])
        express = await create_method(resources, zone, "Express", 990, days=(1, 2))
        standard = await create_method(resources, zone, "Standard", 495, free_from=5000, days=(2, 5))
        cart = await get_cart(client, customer)
        assert (cart["shipping_methods"], cart["shipping_total"], cart["total"]) == ([], None, eur(2000))
        response = await set_address(client, customer, DE)
        assert response.status_code == 200, response.text
        cart = response.json()
        assert cart["shipping_address"]["country"] == "DE"
        assert cart["shipping_methods"] == [
            {"id": str(express), "name": "Express", "price": eur(990), "delivery_estimate": days(1, 2)},
            {"id": str(standard), "name": "Standard", "price": eur(495), "delivery_estimate": days(2, 5)},
        ]
        assert cart["shipping_method_id"] is None and cart["shipping_total"] is None
        cart = (await set_method(client, customer, standard)).json()
        assert (cart["shipping_method_id"], cart["shipping_total"], cart["total"]) == (
            str(standard),
            eur(495),
            eur(2495),
        )
        await put(client, customer, variant, 5)  # reaches the free-shipping threshold
        cart = await get_cart(client, customer)
        assert (cart["shipping_total"], cart["total"]) == (eur(0), eur(5000))

    async def test_a_country_without_shipping_is_refused(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        await drop_default_zone(resources)
        zone = await create_zone(resources, "Germany", ["DE"])
        await create_method(resources, zone, "Standard", 495)
        inactive_zone = await create_zone(resources, "France", ["FR"])
        await create_method(resources, inactive_zone, "Closed", 495, is_active=False)
        for country in ("GB", "FR"):
            response = await set_address(client, customer, {**ADDRESS, "country": country})
            assert_problem(response, 422, "shipping_unavailable")
        assert (await get_cart(client, customer))["shipping_address"] is None
        assert (await set_address(client, customer, DE)).status_code == 200

    async def test_a_country_no_zone_names_gets_the_default_zone(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        default = await set_default_shipping(resources, 1500)
        zone = await create_zone(resources, "Germany", ["DE"])
        await create_method(resources, zone, "Standard", 495)
        cart = (await set_address(client, customer, ADDRESS)).json()
        assert [(m["id"], m["name"]) for m in cart["shipping_methods"]] == [(str(default), "Standard shipping")]
        cart = (await set_address(client, customer, DE)).json()
        assert [m["name"] for m in cart["shipping_methods"]] == ["Standard"]

    async def test_the_method_must_be_offered_at_the_address(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        default = await default_method(resources)
        response = await set_method(client, customer, default)
        assert_problem(response, 422, "shipping_method_unavailable")  # no address yet
        zone = await create_zone(resources, "Germany", ["DE"])
        german = await create_method(resources, zone, "Standard", 495)
        await set_address(client, customer, ADDRESS)
        assert_problem(await set_method(client, customer, german), 422, "shipping_method_unavailable")
        assert_problem(await set_method(client, customer, uuid.uuid4()), 422, "shipping_method_unavailable")
        assert (await set_method(client, customer, default)).json()["shipping_method_id"] == str(default)
        # A new address keeps the method only where it is still offered.
        assert (await set_address(client, customer, {**ADDRESS, "city": "Bath"})).json()["shipping_method_id"] == str(
            default
        )
        assert (await set_address(client, customer, DE)).json()["shipping_method_id"] is None


class TestTaxes:
    async def test_an_inclusive_german_cart(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        shirt, book = await german_store(resources)
        zone = await create_zone(resources, "Germany", ["DE"])
        method = await create_method(resources, zone, "DHL", 495)
        await put(client, customer, shirt, 2)
        await put(client, customer, book, 1)
        cart = await get_cart(client, customer)
        # No address: no tax yet, whatever the rates.
        assert (cart["tax_total"], cart["taxes"], cart["total"]) == (eur(0), [], eur(5498))
        await set_address(client, customer, DE)
        cart = (await set_method(client, customer, method)).json()
        assert [(line["tax_rate"], line["tax"], line["total"]) for line in cart["items"]] == [
            ("19", eur(638), eur(3998)),
            ("7", eur(98), eur(1500)),
        ]
        assert [line["line_total"] for line in cart["items"]] == [eur(3998), eur(1500)]
        # Tax per rate, shipping taxed at 19 % with the shirts: 44.93 * 19/119 = 7.17; 15.00 * 7/107 = 0.98.
        assert cart["taxes"] == [
            {"rate": "7", "taxable": eur(1402), "tax": eur(98)},
            {"rate": "19", "taxable": eur(3776), "tax": eur(717)},
        ]
        assert (cart["subtotal"], cart["shipping_total"], cart["tax_total"], cart["total"]) == (
            eur(5498),
            eur(495),
            eur(815),
            eur(5993),
        )
        assert cart["prices_include_tax"] is True

    async def test_an_exclusive_store_adds_the_tax(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(resources.settings, "prices_include_tax", False)
        shirt, book = await german_store(resources)
        method = await set_default_shipping(resources, 495)
        await put(client, customer, shirt, 2)
        await put(client, customer, book, 1)
        await set_address(client, customer, DE)
        cart = (await set_method(client, customer, method)).json()
        assert [(line["tax"], line["total"]) for line in cart["items"]] == [
            (eur(760), eur(4758)),
            (eur(105), eur(1605)),
        ]
        assert (cart["shipping_total"], cart["tax_total"], cart["total"]) == (eur(589), eur(959), eur(6952))
        assert cart["prices_include_tax"] is False

    async def test_a_class_without_a_rate_there_is_not_taxed(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        shirt, _ = await german_store(resources)
        await put(client, customer, shirt, 1)
        cart = (await set_address(client, customer, ADDRESS)).json()  # GB: no rate entered
        assert (cart["items"][0]["tax_rate"], cart["tax_total"], cart["total"]) == ("0", eur(0), eur(1999))


class TestCoupon:
    async def test_a_code_applies_in_any_case_and_can_be_removed(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5], prices=[1000])
        await put(client, customer, variant, 2)
        promotion = await create_promotion(resources, "Ten off", percent="10", code="SAVE10")
        response = await set_coupon(client, customer, "  save10 ")
        assert response.status_code == 200, response.text
        cart = response.json()
        assert cart["coupon"] == {"code": "SAVE10", "applied": True, "reason": None}
        assert cart["promotions"] == [
            {"promotion_id": str(promotion), "name": "Ten off", "code": "SAVE10", "amount": eur(200)}
        ]
        assert (cart["items"][0]["discount"], cart["discount_total"], cart["total"]) == (eur(200), eur(200), eur(1800))
        cart = (await client.delete("/api/v1/cart/coupon", headers=customer.headers)).json()
        assert (cart["coupon"], cart["promotions"], cart["total"]) == (None, [], eur(2000))

    @pytest.mark.parametrize(
        ("fields", "reason"),
        [
            ({}, "unknown"),
            ({"ends_at": datetime.now(UTC) - timedelta(days=1)}, "expired"),
            ({"starts_at": datetime.now(UTC) + timedelta(days=1)}, "not_yet_valid"),
            ({"max_uses": 1, "uses": 1}, "used_up"),
            ({"customer_groups": ["vip"]}, "not_for_this_customer"),
            ({"min_subtotal": 5000}, "minimum_not_met"),
            ({"product_ids": [uuid.uuid4()]}, "not_applicable"),
        ],
    )
    async def test_each_refusal_says_why_and_keeps_nothing(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        customer: Account,
        fields: dict[str, Any],
        reason: str,
    ) -> None:
        (variant,) = await create_variants(resources, [5], prices=[1000])
        await put(client, customer, variant, 2)
        if reason != "unknown":
            await create_promotion(resources, percent="10", code="SPRING", **fields)
        response = await set_coupon(client, customer, "spring")
        body = assert_problem(response, 422, "coupon_refused")
        (error,) = body["errors"]
        assert (error["loc"], error["type"]) == (["body", "code"], reason)
        assert error["msg"]
        assert (await get_cart(client, customer))["coupon"] is None

    async def test_a_code_for_a_group_applies_to_its_members(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5], prices=[1000])
        await put(client, customer, variant, 1)
        await create_promotion(resources, amount=300, code="VIP", customer_groups=["vip"])
        assert_problem(await set_coupon(client, customer, "VIP"), 422, "coupon_refused")
        await set_groups(resources, customer.id, ["vip"])
        assert (await set_coupon(client, customer, "VIP")).json()["total"] == eur(700)

    async def test_a_stored_code_that_stops_applying_says_why(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5], prices=[1000])
        await put(client, customer, variant, 3)
        await create_promotion(resources, amount=500, code="BIG", min_subtotal=2500)
        assert (await set_coupon(client, customer, "BIG")).json()["total"] == eur(2500)
        cart = (await put(client, customer, variant, 2)).json()
        assert cart["coupon"] == {"code": "BIG", "applied": False, "reason": "minimum_not_met"}
        assert (cart["promotions"], cart["total"]) == ([], eur(2000))

    async def test_the_best_automatic_promotion_applies_before_the_code(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5], prices=[1000])
        await put(client, customer, variant, 2)
        small = await create_promotion(resources, "Small", automatic=True, amount=100)
        big = await create_promotion(resources, "Big", automatic=True, percent="20")
        await create_promotion(resources, "Used up", automatic=True, percent="50", max_uses=1, uses=1)
        code = await create_promotion(resources, "Code", percent="10", code="MORE")
        cart = (await set_coupon(client, customer, "more")).json()
        assert [(p["promotion_id"], p["amount"]) for p in cart["promotions"]] == [
            (str(big), eur(400)),
            (str(code), eur(160)),  # 10 % of what is left
        ]
        assert cart["total"] == eur(1440)
        await set_promotion(resources, big, is_active=False)
        cart = await get_cart(client, customer)
        assert [p["promotion_id"] for p in cart["promotions"]] == [str(small), str(code)]
