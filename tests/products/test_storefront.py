"""Storefront reads: detail with ETag, the listing's filters, search, sorts and keyset pages."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from shop.core.resources import Resources
from shop.core.schemas import encode_cursor
from shop.core.security import Role
from tests.fixtures.auth import Account, create_user
from tests.fixtures.catalog import create, create_category, create_products, eur


@pytest.fixture
async def staff(resources: Resources) -> Account:
    return await create_user(resources, role=Role.staff)


async def listing(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/products", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def names(client: httpx.AsyncClient, **params: Any) -> list[str]:
    return [item["name"] for item in (await listing(client, **params))["items"]]


class TestDetail:
    async def test_etag_and_304(self, client: httpx.AsyncClient, staff: Account) -> None:
        product = await create(client, staff)
        first = await client.get(f"/api/v1/products/{product['id']}")
        assert first.status_code == 200
        assert first.json()["id"] == product["id"]
        etag = first.headers["etag"]
        assert first.headers["cache-control"] == "public, no-cache"
        cached = await client.get(f"/api/v1/products/{product['id']}", headers={"If-None-Match": etag})
        assert cached.status_code == 304
        assert cached.content == b""
        other = await client.get(f"/api/v1/products/{product['id']}", headers={"If-None-Match": '"nope"'})
        assert other.status_code == 200

    async def test_a_change_changes_the_etag(self, client: httpx.AsyncClient, staff: Account) -> None:
        product = await create(client, staff)
        etag = (await client.get(f"/api/v1/products/{product['id']}")).headers["etag"]
        await client.patch(f"/api/v1/admin/products/{product['id']}", json={"name": "Renamed"}, headers=staff.headers)
        response = await client.get(f"/api/v1/products/{product['id']}", headers={"If-None-Match": etag})
        assert response.status_code == 200
        assert response.json()["name"] == "Renamed"

    async def test_by_slug_and_unknown(self, client: httpx.AsyncClient, staff: Account) -> None:
        product = await create(client, staff)
        assert (await client.get(f"/api/v1/products/by-slug/{product['slug']}")).json()["id"] == product["id"]
        assert (await client.get("/api/v1/products/by-slug/nothing-here")).status_code == 404
        assert (await client.get(f"/api/v1/products/{uuid.uuid4()}")).status_code == 404
        assert (await client.get("/api/v1/products/not-a-uuid")).status_code == 422

    async def test_an_inactive_product_is_hidden(self, client: httpx.AsyncClient, staff: Account) -> None:
        product = await create(client, staff, is_active=False)
        assert (await client.get(f"/api/v1/products/{product['id']}")).status_code == 404
        assert (await listing(client))["items"] == []


@pytest.mark.parametrize("params", [{"category": "a\x00b"}, {"q": "linen\x00"}], ids=["category", "q"])
async def test_a_nul_character_in_a_filter_is_a_422(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    response = await client.get("/api/v1/products", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


class TestFilters:
    @pytest.fixture
    async def catalog(self, client: httpx.AsyncClient, staff: Account) -> dict[str, Any]:
        clothes = (
            await client.post("/api/v1/admin/categories", json={"name": "Clothes"}, headers=staff.headers)
        ).json()
        shirts = (
            await client.post(
                "/api/v1/admin/categories", json={"name": "Shirts", "parent_id": clothes["id"]}, headers=staff.headers
            )
        ).json()
        shoes = (await client.post("/api/v1/admin/categories", json={"name": "Shoes"}, headers=staff.headers)).json()

        def variant(price: int, stock: int, active: bool = True) -> dict[str, Any]:
            return {"sku": uuid.uuid4().hex[:10], "price": eur(price), "stock": stock, "is_active": active}

        made = {}
        for name, category, variants in [
            ("Linen Shirt", shirts, [variant(3000, 2), variant(5000, 0)]),
            ("Wool Coat", clothes, [variant(12000, 0)]),
            ("Trail Running Shoes", shoes, [variant(8000, 1), variant(1000, 9, active=False)]),
        ]:
            made[name] = await create(
                client,
                staff,
                name=name,
                category_id=category["id"],
                variants=variants,
                description=f"Our {name.lower()}",
            )
        return made

    async def test_category_includes_sub_categories(self, client: httpx.AsyncClient, catalog: dict[str, Any]) -> None:
        assert sorted(await names(client, category="clothes")) == ["Linen Shirt", "Wool Coat"]
        assert await names(client, category="shirts") == ["Linen Shirt"]
        assert await names(client, category="unknown") == []

    async def test_price_bounds_keep_a_product_with_one_active_variant_inside(
        self, client: httpx.AsyncClient, catalog: dict[str, Any]
    ) -> None:
        assert await names(client, min_price=4000, max_price=6000) == ["Linen Shirt"]
        assert await names(client, max_price=1500) == [], "an inactive variant's price does not count"
        assert sorted(await names(client, min_price=7000)) == ["Trail Running Shoes", "Wool Coat"]

    async def test_in_stock(self, client: httpx.AsyncClient, catalog: dict[str, Any]) -> None:
        assert sorted(await names(client, in_stock="true")) == ["Linen Shirt", "Trail Running Shoes"]
        assert await names(client, in_stock="false") == ["Wool Coat"]

    async def test_sorts(self, client: httpx.AsyncClient, catalog: dict[str, Any]) -> None:
        assert await names(client, sort="price") == ["Linen Shirt", "Trail Running Shoes", "Wool Coat"]
        assert await names(client, sort="-price") == ["Wool Coat", "Trail Running Shoes", "Linen Shirt"]
        assert await names(client, sort="name") == ["Linen Shirt", "Trail Running Shoes", "Wool Coat"]
        assert await names(client) == ["Trail Running Shoes", "Wool Coat", "Linen Shirt"], "newest first"

    async def test_search_by_word_phrase_and_typo(self, client: httpx.AsyncClient, catalog: dict[str, Any]) -> None:
        assert await names(client, q="shoes") == ["Trail Running Shoes"]
        assert await names(client, q="run") == ["Trail Running Shoes"], "stemmed"
        assert await names(client, q='"wool coat"') == ["Wool Coat"]
        assert await names(client, q='"coat wool"') == [], "a phrase keeps its order"
        assert await names(client, q="linnen") == ["Linen Shirt"], "a typo still finds it"
        assert await names(client, q="runnning") == ["Trail Running Shoes"]
        assert await names(client, q="shirt -linen") == []

    async def test_bad_parameters_are_422(self, client: httpx.AsyncClient, catalog: dict[str, Any]) -> None:
        for params in (
            {"sort": "relevance"},
            {"sort": "random"},
            {"limit": 0},
            {"limit": 101},
            {"min_price": -1},
            {"in_stock": "maybe"},
            {"cursor": "garbage"},
            {"cursor": "eyJzIjoicHJpY2UiLCJrIjpbMSwyXX0"},  # a cursor of another sort
            {"max_price": 10**13},  # more than any price can be
            {"min_price": 44775992069148413157269569536},
            # Forged cursors whose keys PostgreSQL cannot compare.
            {"sort": "price", "cursor": encode_cursor({"s": "price", "k": [10**30, str(uuid.uuid4())]})},
            {"q": "item", "cursor": encode_cursor({"s": "relevance", "k": [float("nan"), str(uuid.uuid4())]})},
            {"cursor": encode_cursor({"s": "-created_at", "k": ["0001-01-01T00:00:00+01:00", str(uuid.uuid4())]})},
            {"cursor": encode_cursor({"s": "-created_at", "k": ["2026-01-01T00:00:00", str(uuid.uuid4())]})},
        ):
            response = await client.get("/api/v1/products", params=params)
            assert response.status_code == 422, params
            assert response.json()["code"] == "validation_error"


SORTS = [{}, {"sort": "price"}, {"sort": "-price"}, {"sort": "name"}, {"q": "item"}]


@pytest.mark.parametrize("params", SORTS, ids=["newest", "price", "-price", "name", "relevance"])
async def test_walking_every_page_gives_each_product_exactly_once(
    client: httpx.AsyncClient, resources: Resources, params: dict[str, Any]
) -> None:
    ids = set(await create_products(resources, 1000))
    seen: list[str] = []
    cursor = None
    for _ in range(30):
        page = await listing(client, limit=100, **params, **({"cursor": cursor} if cursor else {}))
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "no duplicate"
    assert set(seen) == {str(i) for i in ids}, "no gap"
    if params.get("sort") == "price":
        prices = [p["price_range"]["min"]["amount"] for p in (await listing(client, limit=100, sort="price"))["items"]]
        assert prices == sorted(prices)


@pytest.mark.parametrize("count", [1, 100])
async def test_a_listing_runs_a_constant_number_of_queries(
    client: httpx.AsyncClient, resources: Resources, count: int
) -> None:
    category = await create_category(resources, "Everything")
    await create_products(resources, count, category_id=category, variants=3)
    statements: list[str] = []

    def count_statement(*args: Any) -> None:
        statements.append(args[2])

    engine = resources.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count_statement)
    try:
        page = await listing(client, limit=100, category="everything")
    finally:
        event.remove(engine, "before_cursor_execute", count_statement)
    assert len(page["items"]) == count
    assert all(len(item["variants"]) == 3 and item["category"]["slug"] == "everything" for item in page["items"])
    # The category subtree, the page with its categories, the variants of the whole page.
    assert len(statements) == 3, statements
