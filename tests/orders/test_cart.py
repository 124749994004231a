"""The cart: lines with current prices and availability, quantities 1..99, one cart per user."""

import uuid
from typing import Any

import httpx
from sqlalchemy import update

from shop.core.db import unit_of_work
from shop.core.resources import Resources
from shop.products.models import Product, Variant
from tests.fixtures.auth import Account
from tests.fixtures.orders import create_variants, get_cart, put


async def set_variant(resources: Resources, variant_id: uuid.UUID, **values: Any) -> None:
    async with unit_of_work(resources.database) as session:
        await session.execute(update(Variant).where(Variant.id == variant_id).values(**values))


class TestCart:
    async def test_a_new_cart_is_empty(self, client: httpx.AsyncClient, customer: Account) -> None:
        zero = {"amount": 0, "currency": "EUR"}
        assert await get_cart(client, customer) == {
            "items": [],
            "subtotal": zero,
            "item_count": 0,
            "shipping_address": None,
            "shipping_method_id": None,
            "shipping_methods": [],
            "coupon": None,
            "discount_total": zero,
            "shipping_total": None,
            "tax_total": zero,
            "total": zero,
            "taxes": [],
            "promotions": [],
            "prices_include_tax": True,
        }

    async def test_put_sets_the_quantity_and_lines_keep_their_place(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        first, second = await create_variants(resources, [10, 10], prices=[1999, 500])
        assert (await put(client, customer, first, 2)).status_code == 200
        assert (await put(client, customer, second, 1)).status_code == 200
        response = await put(client, customer, first, 3)
        assert response.status_code == 200
        cart = response.json()
        assert [(line["variant_id"], line["quantity"]) for line in cart["items"]] == [(str(first), 3), (str(second), 1)]
        line = cart["items"][0]
        assert line["sku"].startswith("SKU-")
        assert line["name"] == "Linen Shirt - Size 0"
        assert line["unit_price"] == {"amount": 1999, "currency": "EUR"}
        assert line["line_total"] == {"amount": 5997, "currency": "EUR"}
        assert line["available"] is True
        assert cart["subtotal"] == {"amount": 6497, "currency": "EUR"}
        assert cart["item_count"] == 4
        assert await get_cart(client, customer) == cart

    async def test_lines_show_the_current_price(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [10], prices=[1000])
        await put(client, customer, variant, 2)
        await set_variant(resources, variant, price_amount=1500)
        cart = await get_cart(client, customer)
        assert cart["items"][0]["unit_price"]["amount"] == 1500
        assert cart["subtotal"]["amount"] == 3000

    async def test_available_follows_stock_and_status_and_such_lines_stay(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        short, inactive, fine = await create_variants(resources, [1, 5, 5])
        for variant in (short, inactive, fine):
            assert (await put(client, customer, variant, 2)).status_code == 200
        await set_variant(resources, inactive, is_active=False)
        cart = await get_cart(client, customer)
        assert [line["available"] for line in cart["items"]] == [False, False, True]
        assert cart["item_count"] == 6

    async def test_an_archived_product_makes_its_lines_unavailable(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        await put(client, customer, variant, 1)
        async with unit_of_work(resources.database) as session:
            await session.execute(update(Product).values(archived_at=Product.created_at))
        assert (await get_cart(client, customer))["items"][0]["available"] is False

    async def test_unknown_or_unavailable_variants_are_422(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (inactive,) = await create_variants(resources, [5])
        await set_variant(resources, inactive, is_active=False)
        (archived,) = await create_variants(resources, [5], archived=True)
        (hidden,) = await create_variants(resources, [5], product_active=False)
        for variant in (uuid.uuid4(), inactive, archived, hidden):
            response = await put(client, customer, variant, 1)
            assert response.status_code == 422, variant
            assert response.json()["code"] == "variant_unavailable"
        assert (await get_cart(client, customer))["items"] == []

    async def test_out_of_stock_variants_can_be_put_in_the_cart(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [0])
        response = await put(client, customer, variant, 1)
        assert response.status_code == 200
        assert response.json()["items"][0]["available"] is False

    async def test_quantities_outside_1_to_99_are_422(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [500])
        for quantity in (0, -1, 100, "2", 1.5, None):
            response = await put(client, customer, variant, quantity)
            assert response.status_code == 422, quantity
            assert response.json()["code"] == "validation_error"
        extra = await client.put(
            f"/api/v1/cart/items/{variant}", json={"quantity": 1, "unit_price": 1}, headers=customer.headers
        )
        assert extra.status_code == 422
        assert (await put(client, customer, variant, 99)).status_code == 200
        assert (
            await client.put("/api/v1/cart/items/nope", json={"quantity": 1}, headers=customer.headers)
        ).status_code == 422

    async def test_deleting_a_line_and_a_line_not_there(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        first, second = await create_variants(resources, [5, 5])
        await put(client, customer, first, 1)
        await put(client, customer, second, 2)
        removed = await client.delete(f"/api/v1/cart/items/{first}", headers=customer.headers)
        assert removed.status_code == 200
        assert [line["variant_id"] for line in removed.json()["items"]] == [str(second)]
        again = await client.delete(f"/api/v1/cart/items/{first}", headers=customer.headers)
        assert again.status_code == 200
        assert again.json() == removed.json()
        unknown = await client.delete(f"/api/v1/cart/items/{uuid.uuid4()}", headers=customer.headers)
        assert unknown.status_code == 200
        assert unknown.json() == removed.json()

    async def test_deleting_from_a_cart_never_made(self, client: httpx.AsyncClient, customer: Account) -> None:
        response = await client.delete(f"/api/v1/cart/items/{uuid.uuid4()}", headers=customer.headers)
        assert response.status_code == 200
        assert response.json()["items"] == []
        assert (await client.delete("/api/v1/cart", headers=customer.headers)).status_code == 204

    async def test_delete_cart_empties_it(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        first, second = await create_variants(resources, [5, 5])
        await put(client, customer, first, 1)
        await put(client, customer, second, 1)
        response = await client.delete("/api/v1/cart", headers=customer.headers)
        assert response.status_code == 204
        assert response.content == b""
        assert (await get_cart(client, customer))["items"] == []

    async def test_each_user_has_their_own_cart(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, other_customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        await put(client, customer, variant, 3)
        assert (await get_cart(client, other_customer))["items"] == []
        await client.delete("/api/v1/cart", headers=other_customer.headers)
        assert (await get_cart(client, customer))["item_count"] == 3

    async def test_the_cart_needs_a_login(self, client: httpx.AsyncClient) -> None:
        for method, path in (("GET", "/api/v1/cart"), ("DELETE", "/api/v1/cart")):
            response = await client.request(method, path)
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == "Bearer"

    async def test_a_cart_holds_at_most_a_hundred_lines(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        variants = await create_variants(resources, [5] * 101)
        for variant in variants[:100]:
            assert (await put(client, customer, variant, 1)).status_code == 200
        full = await put(client, customer, variants[100], 1)
        assert full.status_code == 422
        assert full.json()["code"] == "validation_error"
        assert (await put(client, customer, variants[0], 5)).status_code == 200, "existing lines still change"
        assert (await get_cart(client, customer))["item_count"] == 104
