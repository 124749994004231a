"""Staff catalog routes: categories, products, variants and stock, with every error of API.md."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from shop.core.resources import Resources
from shop.products.models import StockMovement
from tests.fixtures.auth import Account
from tests.fixtures.catalog import create, eur, new_product


class TestAccess:
    async def test_anonymous_gets_401(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/api/v1/admin/products", json=new_product())
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_a_customer_gets_403_on_every_catalog_admin_route(
        self, client: httpx.AsyncClient, customer: Account
    ) -> None:
        some = str(uuid.uuid4())
        calls = [
            ("POST", "/api/v1/admin/categories", {"name": "x"}),
            ("PATCH", f"/api/v1/admin/categories/{some}", {}),
            ("DELETE", f"/api/v1/admin/categories/{some}", None),
            ("POST", "/api/v1/admin/products", new_product()),
            ("PATCH", f"/api/v1/admin/products/{some}", {}),
            ("DELETE", f"/api/v1/admin/products/{some}", None),
            ("POST", f"/api/v1/admin/products/{some}/variants", {}),
            ("PATCH", f"/api/v1/admin/variants/{some}", {}),
            ("POST", f"/api/v1/admin/variants/{some}/stock", {"delta": 1, "reason": "x"}),
        ]
        for method, path, body in calls:
            response = await client.request(method, path, json=body, headers=customer.headers)
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["code"] == "forbidden"


class TestCategories:
    async def test_create_derives_and_suffixes_slugs(self, client: httpx.AsyncClient, staff: Account) -> None:
        first = await client.post("/api/v1/admin/categories", json={"name": "Men's Shoes"}, headers=staff.headers)
        second = await client.post("/api/v1/admin/categories", json={"name": "Men's shoes!"}, headers=staff.headers)
        assert (first.status_code, second.status_code) == (201, 201)
        assert first.json()["slug"] == "men-s-shoes"
        assert second.json()["slug"] == "men-s-shoes-2"
        listed = (await client.get("/api/v1/categories")).json()["items"]
        assert {c["slug"] for c in listed} == {"men-s-shoes", "men-s-shoes-2"}

    @pytest.mark.parametrize(
        ("path", "body"),
        [
            ("/api/v1/admin/categories", {"name": "Nul\x00Shoes"}),
            ("/api/v1/admin/products", new_product(description="Soft\x00")),
            (
                "/api/v1/admin/products",
                new_product(variants=[{"sku": "NUL-1", "price": eur(100), "attributes": {"size": "\x00"}}]),
            ),
        ],
        ids=["text", "long-text", "json"],
    )
    async def test_a_nul_character_is_a_422_not_a_crash(
        self, client: httpx.AsyncClient, staff: Account, path: str, body: dict[str, Any]
    ) -> None:
        response = await client.post(path, json=body, headers=staff.headers)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["type"] == "string_unstorable"
        assert (await client.get("/api/v1/categories")).json()["items"] == []
        assert (await client.get("/api/v1/products")).json()["items"] == []

    async def test_an_explicit_taken_slug_is_409(self, client: httpx.AsyncClient, staff: Account) -> None:
        await client.post("/api/v1/admin/categories", json={"name": "A", "slug": "shoes"}, headers=staff.headers)
        response = await client.post(
            "/api/v1/admin/categories", json={"name": "B", "slug": "shoes"}, headers=staff.headers
        )
        assert response.status_code == 409
        assert response.json()["code"] == "slug_taken"

    async def test_unknown_parent_and_cycles_are_422(self, client: httpx.AsyncClient, staff: Account) -> None:
        unknown = await client.post(
            "/api/v1/admin/categories", json={"name": "X", "parent_id": str(uuid.uuid4())}, headers=staff.headers
        )
        assert unknown.status_code == 422
        top = (await client.post("/api/v1/admin/categories", json={"name": "Top"}, headers=staff.headers)).json()
        child = (
            await client.post(
                "/api/v1/admin/categories", json={"name": "Child", "parent_id": top["id"]}, headers=staff.headers
            )
        ).json()
        cycle = await client.patch(
            f"/api/v1/admin/categories/{top['id']}", json={"parent_id": child["id"]}, headers=staff.headers
        )
        assert cycle.status_code == 422
        itself = await client.patch(
            f"/api/v1/admin/categories/{top['id']}", json={"parent_id": top["id"]}, headers=staff.headers
        )
        assert itself.status_code == 422

    async def test_a_category_in_use_cannot_be_deleted(self, client: httpx.AsyncClient, staff: Account) -> None:
        top = (await client.post("/api/v1/admin/categories", json={"name": "Top"}, headers=staff.headers)).json()
        child = (
            await client.post(
                "/api/v1/admin/categories", json={"name": "Leaf", "parent_id": top["id"]}, headers=staff.headers
            )
        ).json()
        await create(client, staff, category_id=child["id"])
        for category in (top, child):
            response = await client.delete(f"/api/v1/admin/categories/{category['id']}", headers=staff.headers)
            assert response.status_code == 409
            assert response.json()["code"] == "category_not_empty"
        empty = (await client.post("/api/v1/admin/categories", json={"name": "Empty"}, headers=staff.headers)).json()
        assert (
            await client.delete(f"/api/v1/admin/categories/{empty['id']}", headers=staff.headers)
        ).status_code == 204
        assert (
            await client.delete(f"/api/v1/admin/categories/{empty['id']}", headers=staff.headers)
        ).status_code == 404


class TestProducts:
    async def test_create_returns_the_product_with_variants_and_price_range(
        self, client: httpx.AsyncClient, staff: Account
    ) -> None:
        product = await create(client, staff)
        assert product["slug"] == "blue-tee"
        assert product["price_range"] == {"min": eur(1999), "max": eur(2499)}
        assert [v["stock_available"] for v in product["variants"]] == [5, 0]
        assert product["variants"][0]["attributes"] == {"size": "S"}
        again = await create(client, staff)
        assert again["slug"] == "blue-tee-2"

    async def test_duplicate_sku_and_slug_are_409(self, client: httpx.AsyncClient, staff: Account) -> None:
        product = await create(client, staff, slug="tee")
        sku = product["variants"][0]["sku"]
        body = new_product(name="Other")
        body["variants"][0]["sku"] = sku
        taken = await client.post("/api/v1/admin/products", json=body, headers=staff.headers)
        assert taken.status_code == 409
        assert taken.json()["code"] == "sku_taken"
        slug = await client.post("/api/v1/admin/products", json=new_product(slug="tee"), headers=staff.headers)
        assert slug.status_code == 409
        assert slug.json()["code"] == "slug_taken"

    @pytest.mark.parametrize(
        "price",
        [eur(-1), eur(19.99), eur("1999"), {"amount": 1999, "currency": "USD"}, {"amount": 1999}],
    )
    async def test_a_bad_price_is_422(self, client: httpx.AsyncClient, staff: Account, price: dict[str, Any]) -> None:
        body = new_product()
        body["variants"][0]["price"] = price
        response = await client.post("/api/v1/admin/products", json=body, headers=staff.headers)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"

    async def test_server_owned_fields_and_unknown_category_are_422(
        self, client: httpx.AsyncClient, staff: Account
    ) -> None:
        for extra in ({"id": str(uuid.uuid4())}, {"price_range": None}, {"created_at": "2020-01-01T00:00:00Z"}):
            response = await client.post("/api/v1/admin/products", json=new_product(**extra), headers=staff.headers)
            assert response.status_code == 422, extra
        response = await client.post(
            "/api/v1/admin/products", json=new_product(category_id=str(uuid.uuid4())), headers=staff.headers
        )
        assert response.status_code == 422
        dup = new_product()
        dup["variants"][1]["sku"] = dup["variants"][0]["sku"]
        assert (await client.post("/api/v1/admin/products", json=dup, headers=staff.headers)).status_code == 422

    async def test_patch_changes_fields_and_upserts_variants_by_sku(
        self, client: httpx.AsyncClient, staff: Account
    ) -> None:
        product = await create(client, staff)
        first = product["variants"][0]
        response = await client.patch(
            f"/api/v1/admin/products/{product['id']}",
            json={
                "name": "Navy Tee",
                "variants": [
                    {"sku": first["sku"], "name": "Small", "price": eur(1500), "stock": 7},
                    {"sku": "TEE-NEW-L", "name": "L", "price": eur(2999)},
                ],
            },
            headers=staff.headers,
        )
        assert response.status_code == 200, response.text
        updated = response.json()
        assert updated["name"] == "Navy Tee"
        assert updated["slug"] == product["slug"], "a rename keeps the slug"
        by_sku = {v["sku"]: v for v in updated["variants"]}
        assert by_sku[first["sku"]]["price"] == eur(1500)
        assert by_sku[first["sku"]]["stock_available"] == 7
        assert "TEE-NEW-L" in by_sku
        assert updated["price_range"]["min"] == eur(1500)

    async def test_archive_hides_the_product_from_the_storefront(
        self, client: httpx.AsyncClient, staff: Account
    ) -> None:
        product = await create(client, staff)
        assert (await client.get(f"/api/v1/products/{product['id']}")).status_code == 200
        response = await client.delete(f"/api/v1/admin/products/{product['id']}", headers=staff.headers)
        assert response.status_code == 204
        assert (await client.get(f"/api/v1/products/{product['id']}")).status_code == 404
        assert (await client.get(f"/api/v1/products/by-slug/{product['slug']}")).status_code == 404
        assert (await client.get("/api/v1/products")).json()["items"] == []
        patched = await client.patch(
            f"/api/v1/admin/products/{product['id']}", json={"name": "x"}, headers=staff.headers
        )
        assert patched.status_code == 404


class TestVariantsAndStock:
    async def test_add_and_update_a_variant(self, client: httpx.AsyncClient, staff: Account) -> None:
        product = await create(client, staff)
        added = await client.post(
            f"/api/v1/admin/products/{product['id']}/variants",
            json={"sku": "TEE-XL", "name": "XL", "price": eur(999), "stock": 3},
            headers=staff.headers,
        )
        assert added.status_code == 201
        variant = added.json()
        patched = await client.patch(
            f"/api/v1/admin/variants/{variant['id']}",
            json={"is_active": False, "price": eur(899)},
            headers=staff.headers,
        )
        assert patched.status_code == 200
        assert patched.json()["is_active"] is False
        storefront = (await client.get(f"/api/v1/products/{product['id']}")).json()
        assert "TEE-XL" not in {v["sku"] for v in storefront["variants"]}, "inactive variants are hidden"
        assert storefront["price_range"]["min"] == eur(1999)
        sku = await client.patch(f"/api/v1/admin/variants/{variant['id']}", json={"sku": "NEW"}, headers=staff.headers)
        assert sku.status_code == 422

    async def test_stock_moves_atomically_never_below_zero_and_is_audited(
        self, client: httpx.AsyncClient, staff: Account, resources: Resources
    ) -> None:
        product = await create(client, staff)
        variant = product["variants"][0]
        url = f"/api/v1/admin/variants/{variant['id']}/stock"
        added = await client.post(url, json={"delta": 5, "reason": "delivery"}, headers=staff.headers)
        assert added.json()["stock_available"] == 10
        refused = await client.post(url, json={"delta": -11, "reason": "typo"}, headers=staff.headers)
        assert refused.status_code == 409
        assert refused.json()["code"] == "insufficient_stock"
        assert refused.json()["errors"] == [{"variant_id": variant["id"], "requested": 11, "available": 10}]

        results = await asyncio.gather(
            *(client.post(url, json={"delta": -1, "reason": "sold"}, headers=staff.headers) for _ in range(15))
        )
        assert sorted(r.status_code for r in results) == [200] * 10 + [409] * 5
        detail = (await client.get(f"/api/v1/products/{product['id']}")).json()
        assert detail["variants"][0]["stock_available"] == 0
        async with resources.database.sessionmaker() as session:
            movements = (
                await session.scalars(select(StockMovement).where(StockMovement.variant_id == uuid.UUID(variant["id"])))
            ).all()
        assert sum(m.delta for m in movements) == 5 - 10
        assert {m.actor_id for m in movements} == {staff.id}
        assert min(m.stock_after for m in movements) == 0

    async def test_stock_errors(self, client: httpx.AsyncClient, staff: Account) -> None:
        unknown = await client.post(
            f"/api/v1/admin/variants/{uuid.uuid4()}/stock", json={"delta": 1, "reason": "x"}, headers=staff.headers
        )
        assert unknown.status_code == 404
        product = await create(client, staff)
        url = f"/api/v1/admin/variants/{product['variants'][0]['id']}/stock"
        for body in (
            {"delta": 0, "reason": "x"},
            {"delta": 1},
            {"delta": 1.5, "reason": "x"},
            {"delta": 1, "reason": ""},
        ):
            assert (await client.post(url, json=body, headers=staff.headers)).status_code == 422, body
