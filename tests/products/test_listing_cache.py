"""The cached listing, category and search pages: coherent across processes, bounded, fine without Redis."""

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from shop.core.cache import CacheKey
from shop.core.config import Settings
from shop.core.resources import Resources
from shop.core.schemas import decode_cursor, encode_cursor
from shop.core.security import Role
from shop.products.catalog_file import CatalogFile, FileFormat
from shop.products.importing import import_catalog
from shop.products.listing import ListingQuery, Sort
from shop.products.listing_cache import LISTING_CACHE_SECONDS, MAX_CACHED_SEARCH, listing_key
from tests.fixtures.app import client_for, running_app_without_redis
from tests.fixtures.auth import Account, create_user
from tests.fixtures.catalog import create, create_category, create_products, eur
from tests.fixtures.orders import place_order
from tests.fixtures.servers import RunningServer, run_server
from tests.fixtures.settings import settings_env

LISTING = "/api/v1/products"


@pytest.fixture
async def staff(resources: Resources) -> Account:
    return await create_user(resources, role=Role.staff)


def page_key(depth: int = 1, category: str | None = None, **fields: Any) -> str:
    key = listing_key(ListingQuery(**fields), category, depth)
    assert key is not None
    return key.data


async def listing_keys(redis: Redis) -> list[bytes]:
    return [key async for key in redis.scan_iter(match=CacheKey("listing", "*").data)]


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_the_listing_is_served_from_the_cache(client: httpx.AsyncClient, staff: Account, redis: Redis) -> None:
    await create(client, staff)
    assert ids(await client.get(LISTING))
    key = page_key()
    ttl = await redis.ttl(key)
    assert 0 < ttl <= LISTING_CACHE_SECONDS
    # Proof that the cached bytes are what is served: plant a marker in them.
    stored = await redis.get(key)
    assert stored is not None
    await redis.set(key, stored.replace(b'"Blue Tee"', b'"From cache"'))
    assert (await client.get(LISTING)).json()["items"][0]["name"] == "From cache"


async def test_the_etag_answers_304_until_the_catalogue_changes(client: httpx.AsyncClient, staff: Account) -> None:
    product = await create(client, staff)
    first = await client.get(LISTING, params={"q": "tee"})
    etag = first.headers["etag"]
    assert (await client.get(LISTING, params={"q": "tee"}, headers={"If-None-Match": etag})).status_code == 304
    renamed = await client.patch(
        f"/api/v1/admin/products/{product['id']}", json={"name": "Blue Tee Shirt"}, headers=staff.headers
    )
    assert renamed.status_code == 200
    again = await client.get(LISTING, params={"q": "tee"}, headers={"If-None-Match": etag})
    assert again.status_code == 200
    assert again.json()["items"][0]["name"] == "Blue Tee Shirt"


async def test_cursors_walk_every_page_from_the_cache(client: httpx.AsyncClient, resources: Resources) -> None:
    created = await create_products(resources, 35)

    async def walk() -> tuple[list[str], list[str]]:
        seen, cursors = [], []
        params: dict[str, Any] = {"limit": 10, "sort": "name"}
        while True:
            response = await client.get(LISTING, params=params)
            seen += ids(response)
            cursor = response.json()["next_cursor"]
            if cursor is None:
                return seen, cursors
            cursors.append(cursor)
            params["cursor"] = cursor

    cold, cursors = await walk()
    assert sorted(cold) == sorted(str(product) for product in created) and len(set(cold)) == len(cold)
    for depth in (1, 2, 3, 4):
        assert await resources.redis.exists(page_key(depth, limit=10, sort=Sort.name)), f"page {depth} cached"
    # The second walk is served from the cache: proven by a marker planted in page 3.
    third = page_key(3, limit=10, sort=Sort.name)
    stored = await resources.redis.get(third)
    assert stored is not None
    await resources.redis.set(third, stored.replace(b'"Item ', b'"Cached '))
    warm, _ = await walk()
    assert warm == cold
    assert (
        (await client.get(LISTING, params={"limit": 10, "sort": "name", "cursor": cursors[1]}))
        .json()["items"][0]["name"]
        .startswith("Cached ")
    )

    # A cursor that claims another page's depth gets its own page, never the cached one.
    forged = decode_cursor(cursors[2], {"s", "k"}) | {"p": 3}
    response = await client.get(LISTING, params={"limit": 10, "sort": "name", "cursor": encode_cursor(forged)})
    assert ids(response) == cold[30:]


async def test_a_cursor_from_before_a_write_still_continues_where_it_stopped(
    client: httpx.AsyncClient, resources: Resources, staff: Account
) -> None:
    await create_products(resources, 25)
    first = await client.get(LISTING, params={"limit": 10})
    second_before = ids(await client.get(LISTING, params={"limit": 10, "cursor": first.json()["next_cursor"]}))
    await create(client, staff, name="Newest")  # a write: a new generation, on top of page one
    after = await client.get(LISTING, params={"limit": 10, "cursor": first.json()["next_cursor"]})
    assert ids(after) == second_before
    assert ids(await client.get(LISTING, params={"limit": 10}))[0] != ids(first)[0]


async def test_equal_searches_share_one_key_and_crafted_queries_add_none(
    client: httpx.AsyncClient, staff: Account, redis: Redis, resources: Resources
) -> None:
    await create(client, staff)
    await create_category(resources, "Shirts")
    for q in ("blue tee", "Blue  TEE", "  blue tee "):
        assert len(ids(await client.get(LISTING, params={"q": q}))) == 1
    assert len(ids(await client.get(LISTING, params={"q": "blue tee", "sort": "relevance", "limit": 20}))) == 1
    assert await listing_keys(redis) == [page_key(q="blue tee", sort=Sort.relevance).encode()]

    nowhere = encode_cursor({"s": "relevance", "k": [-1.0, str(uuid.uuid4())], "p": 2})
    crafted: list[dict[str, Any]] = []
    for n in range(20):
        crafted += [
            {"q": f"blue tee {'x' * (MAX_CACHED_SEARCH + n)}"},  # too long to cache
            {"q": f"zzqv{n}"},  # finds nothing
            {"min_price": n, "max_price": 10_000 + n},  # any integer: never cached
            {"limit": 61 + n},  # a page size off the list
            {"category": f"no-such-{n}"},  # an unknown category: an empty page
            {"q": "blue tee", "cursor": encode_cursor({"s": "relevance", "k": [0.5, str(uuid.uuid4())], "p": 9 + n})},
            {"q": "blue tee", "cursor": nowhere},  # a forged cursor at a cached depth: an empty page
            {"category": "shirts", "q": f"zz{n}"},
        ]
    for params in crafted:
        assert (await client.get(LISTING, params=params)).status_code == 200, params
    assert await listing_keys(redis) == [page_key(q="blue tee", sort=Sort.relevance).encode()]


async def test_an_import_and_an_order_are_seen_by_the_next_read(
    client: httpx.AsyncClient, staff: Account, resources: Resources
) -> None:
    product = await create(client, staff)
    variant = product["variants"][0]["id"]
    assert ids(await client.get(LISTING, params={"q": "umbrella"})) == []  # cached, empty
    in_stock = await client.get(LISTING, params={"in_stock": "true"})
    assert ids(in_stock) == [product["id"]]

    line = {"sku": "U-1", "product_slug": "umbrella", "product_name": "Umbrella", "price_amount": 900, "stock": 2}
    file = CatalogFile.from_bytes((json.dumps(line) + "\n").encode(), FileFormat.jsonl)
    report = await import_catalog(resources.database.sessionmaker, file.lines(), batch_size=10)
    assert (report.applied, report.rejected) == (1, [])
    assert [item["name"] for item in (await client.get(LISTING, params={"q": "umbrella"})).json()["items"]] == [
        "Umbrella"
    ]

    # An order takes the last units of the variant in stock: the product leaves the in-stock page.
    buyer = await create_user(resources)
    await place_order(client, buyer, (uuid.UUID(variant), 5))
    assert product["id"] not in ids(await client.get(LISTING, params={"in_stock": "true"}))


class TestRedisDown:
    @pytest.fixture
    async def app_without_redis(self, settings: Settings, tmp_path: Path) -> AsyncIterator[FastAPI]:
        async with running_app_without_redis(settings, tmp_path) as app:
            yield app

    async def test_listing_category_and_search_answer_from_the_database(
        self, app_without_redis: FastAPI, client: httpx.AsyncClient, staff: Account, resources: Resources
    ) -> None:
        category = await create_category(resources, "Tops")
        product = await create(client, staff, category_id=str(category))
        async with client_for(app_without_redis) as down:
            for params in ({}, {"category": "tops"}, {"q": "blue tee"}, {"limit": 10, "sort": "name"}):
                assert ids(await down.get(LISTING, params=params)) == [product["id"]], params


class TestAcrossServerProcesses:
    """A write through one `shop serve` process is seen by the very next read through another."""

    @pytest.fixture
    def servers(self, settings: Settings) -> Iterator[tuple[RunningServer, RunningServer]]:
        with run_server(settings_env(settings)) as writer, run_server(settings_env(settings)) as reader:
            yield writer, reader

    async def test_every_kind_of_catalogue_write(
        self, servers: tuple[RunningServer, RunningServer], staff: Account, resources: Resources
    ) -> None:
        parent = await create_category(resources, "Clothes")
        child = await create_category(resources, "Tees")
        async with (
            httpx.AsyncClient(base_url=servers[0].base_url, timeout=30) as writer,
            httpx.AsyncClient(base_url=servers[1].base_url, timeout=30) as reader,
        ):

            async def read(params: dict[str, Any]) -> list[dict[str, Any]]:
                response = await reader.get(LISTING, params=params)
                assert response.status_code == 200, response.text
                items: list[dict[str, Any]] = response.json()["items"]
                return items

            async def write(method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
                response = await writer.request(method, f"/api/v1/admin{url}", json=body, headers=staff.headers)
                assert response.status_code in (200, 201, 204), response.text
                return response.json() if response.content else {}

            everything, tees, clothes = {}, {"category": "tees"}, {"category": "clothes"}
            search, out_of_stock = {"q": "linen"}, {"in_stock": "false"}
            for params in (everything, tees, clothes, search, out_of_stock):
                assert await read(params) == []  # each page warm in the reader's cache
                assert await read(params) == []

            product = await write("POST", "/products", {**_linen(), "category_id": str(child)})
            assert [item["id"] for item in await read(everything)] == [product["id"]]
            assert [item["id"] for item in await read(tees)] == [product["id"]]
            assert await read(clothes) == []
            assert [item["id"] for item in await read(search)] == [product["id"]]
            assert await read(out_of_stock) == []

            await write("PATCH", f"/categories/{child}", {"parent_id": str(parent)})
            assert [item["id"] for item in await read(clothes)] == [product["id"]]

            await write("PATCH", f"/products/{product['id']}", {"name": "Linen Shirt"})
            assert [item["name"] for item in await read(search)] == ["Linen Shirt"]

            variant = product["variants"][0]["id"]
            await write("PATCH", f"/variants/{variant}", {"price": eur(4200)})
            assert (await read(everything))[0]["variants"][0]["price"]["amount"] == 4200

            await write("POST", f"/variants/{variant}/stock", {"delta": -3, "reason": "count"})
            assert (await read(everything))[0]["variants"][0]["stock_available"] == 0
            assert [item["id"] for item in await read(out_of_stock)] == [product["id"]]

            await write("DELETE", f"/products/{product['id']}")
            for params in (everything, tees, clothes, search, out_of_stock):
                assert await read(params) == [], params


def _linen() -> dict[str, Any]:
    return {
        "name": "Linen Tee",
        "description": "Cool linen",
        "images": [],
        "variants": [{"sku": f"LIN-{uuid.uuid4().hex[:8]}", "name": "S", "price": eur(3900), "stock": 3}],
    }
