"""Staff tax routes: tax classes and rates, every error code, and who may read and who may write."""

import uuid
from typing import Any

import httpx
import pytest

from shop.core.resources import Resources
from tests.fixtures.auth import Account
from tests.fixtures.catalog import create, eur
from tests.fixtures.problems import assert_problem

CLASSES = "/api/v1/admin/tax-classes"
RATES = "/api/v1/admin/tax-rates"


async def new_class(client: httpx.AsyncClient, admin: Account, code: str = "books", name: str = "Books") -> Any:
    response = await client.post(CLASSES, json={"code": code, "name": name}, headers=admin.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def new_rate(client: httpx.AsyncClient, admin: Account, **fields: Any) -> Any:
    body = {"tax_class": "standard", "country": "DE", "rate": "19", **fields}
    response = await client.post(RATES, json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def all_pages(client: httpx.AsyncClient, url: str, account: Account, **params: Any) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(url, params=query, headers=account.headers)).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


class TestTaxClasses:
    async def test_create_get_rename_list_and_delete(self, client: httpx.AsyncClient, admin: Account) -> None:
        created = await new_class(client, admin)
        assert (created["code"], created["name"], created["builtin"]) == ("books", "Books", False)
        url = f"{CLASSES}/{created['id']}"
        assert (await client.get(url, headers=admin.headers)).json() == created
        renamed = await client.patch(url, json={"name": "Printed books"}, headers=admin.headers)
        assert renamed.status_code == 200
        assert (renamed.json()["name"], renamed.json()["code"]) == ("Printed books", "books")
        codes = [item["code"] for item in await all_pages(client, CLASSES, admin, limit=1)]
        assert sorted(codes) == ["books", "reduced", "standard", "zero"]
        deleted = await client.delete(url, headers=admin.headers)
        assert deleted.status_code == 204
        assert_problem(await client.get(url, headers=admin.headers), 404, "not_found")

    async def test_a_taken_code_is_409(self, client: httpx.AsyncClient, admin: Account) -> None:
        await new_class(client, admin)
        again = await client.post(CLASSES, json={"code": "books", "name": "Other"}, headers=admin.headers)
        assert_problem(again, 409, "tax_class_taken")
        builtin = await client.post(CLASSES, json={"code": "standard", "name": "Mine"}, headers=admin.headers)
        assert_problem(builtin, 409, "tax_class_taken")

    @pytest.mark.parametrize(
        "body",
        [
            {"code": "Books", "name": "Books"},  # upper case
            {"code": "bö", "name": "Books"},
            {"code": "", "name": "Books"},
            {"code": "x" * 41, "name": "Books"},
            {"code": "books", "name": ""},
            {"code": "books"},
            {"code": "books", "name": "Books", "builtin": True},
        ],
    )
    async def test_a_bad_body_is_422(self, client: httpx.AsyncClient, admin: Account, body: dict[str, Any]) -> None:
        assert_problem(await client.post(CLASSES, json=body, headers=admin.headers), 422, "validation_error")

    async def test_the_code_is_immutable(self, client: httpx.AsyncClient, admin: Account) -> None:
        created = await new_class(client, admin)
        response = await client.patch(f"{CLASSES}/{created['id']}", json={"code": "other"}, headers=admin.headers)
        assert_problem(response, 422, "validation_error")

    async def test_unknown_ids_are_404(self, client: httpx.AsyncClient, admin: Account) -> None:
        url = f"{CLASSES}/{uuid.uuid4()}"
        assert_problem(await client.get(url, headers=admin.headers), 404, "not_found")
        assert_problem(await client.patch(url, json={"name": "x"}, headers=admin.headers), 404, "not_found")
        assert_problem(await client.delete(url, headers=admin.headers), 404, "not_found")

    async def test_a_builtin_class_cannot_be_deleted(self, client: httpx.AsyncClient, admin: Account) -> None:
        builtins = [item for item in await all_pages(client, CLASSES, admin) if item["builtin"]]
        assert sorted(item["code"] for item in builtins) == ["reduced", "standard", "zero"]
        for item in builtins:
            response = await client.delete(f"{CLASSES}/{item['id']}", headers=admin.headers)
            assert_problem(response, 409, "tax_class_builtin")

    async def test_a_class_a_variant_uses_cannot_be_deleted(self, client: httpx.AsyncClient, admin: Account) -> None:
        books = await new_class(client, admin)
        product = await create(client, admin)
        variant = product["variants"][0]
        moved = await client.patch(
            f"/api/v1/admin/variants/{variant['id']}", json={"tax_class": "books"}, headers=admin.headers
        )
        assert moved.status_code == 200, moved.text
        response = await client.delete(f"{CLASSES}/{books['id']}", headers=admin.headers)
        assert_problem(response, 409, "tax_class_in_use")
        assert (await client.get(f"{CLASSES}/{books['id']}", headers=admin.headers)).status_code == 200

    async def test_a_class_a_shipping_method_uses_cannot_be_deleted(
        self, client: httpx.AsyncClient, admin: Account
    ) -> None:
        books = await new_class(client, admin)
        zone = await client.post(
            "/api/v1/admin/shipping-zones", json={"name": "DACH", "countries": ["DE"]}, headers=admin.headers
        )
        method = await client.post(
            f"/api/v1/admin/shipping-zones/{zone.json()['id']}/methods",
            json={"name": "Post", "bands": [{"from_subtotal": eur(0), "price": eur(490)}], "tax_class": "books"},
            headers=admin.headers,
        )
        assert method.status_code == 201, method.text
        response = await client.delete(f"{CLASSES}/{books['id']}", headers=admin.headers)
        assert_problem(response, 409, "tax_class_in_use")

    async def test_deleting_a_class_deletes_its_rates(self, client: httpx.AsyncClient, admin: Account) -> None:
        books = await new_class(client, admin)
        rate = await new_rate(client, admin, tax_class="books", rate="7")
        assert (await client.delete(f"{CLASSES}/{books['id']}", headers=admin.headers)).status_code == 204
        assert_problem(await client.get(f"{RATES}/{rate['id']}", headers=admin.headers), 404, "not_found")


class TestTaxRates:
    @pytest.mark.parametrize(
        ("given", "shown", "ppm"),
        [
            ("19", "19", 190_000),
            ("5.5", "5.5", 55_000),
            ("8.875", "8.875", 88_750),
            ("7.50", "7.5", 75_000),
            ("0", "0", 0),
            ("100", "100", 1_000_000),
            ("20.0000", "20", 200_000),
            ("0.0001", "0.0001", 1),
        ],
    )
    async def test_a_rate_is_shown_normalised(
        self, client: httpx.AsyncClient, admin: Account, resources: Resources, given: str, shown: str, ppm: int
    ) -> None:
        from sqlalchemy import select

        from shop.taxes.models import TaxRate

        rate = await new_rate(client, admin, rate=given)
        assert rate["rate"] == shown
        async with resources.database.sessionmaker() as session:
            stored = await session.scalar(select(TaxRate.rate_ppm).where(TaxRate.id == uuid.UUID(rate["id"])))
        assert stored == ppm

    async def test_create_get_update_list_and_delete(self, client: httpx.AsyncClient, admin: Account) -> None:
        await new_class(client, admin)
        country = await new_rate(client, admin, country="es", rate="21")
        region = await new_rate(client, admin, country="ES", region="es-cn", rate="0")
        books = await new_rate(client, admin, tax_class="books", country="FR", rate="5.5")
        assert (country["country"], country["region"], country["tax_class"]) == ("ES", None, "standard")
        assert (region["country"], region["region"], region["rate"]) == ("ES", "ES-CN", "0")
        url = f"{RATES}/{books['id']}"
        assert (await client.get(url, headers=admin.headers)).json() == books
        updated = await client.patch(url, json={"rate": "7"}, headers=admin.headers)
        assert updated.status_code == 200
        assert (updated.json()["rate"], updated.json()["tax_class"], updated.json()["country"]) == ("7", "books", "FR")
        in_spain = await all_pages(client, RATES, admin, country="ES", limit=1)
        assert sorted(item["id"] for item in in_spain) == sorted([country["id"], region["id"]])
        of_books = await all_pages(client, RATES, admin, tax_class="books")
        assert [item["id"] for item in of_books] == [books["id"]]
        assert len(await all_pages(client, RATES, admin)) == 3
        assert (await client.delete(url, headers=admin.headers)).status_code == 204
        assert_problem(await client.get(url, headers=admin.headers), 404, "not_found")

    async def test_the_same_class_and_place_twice_is_409(self, client: httpx.AsyncClient, admin: Account) -> None:
        await new_rate(client, admin, country="ES")
        await new_rate(client, admin, country="ES", region="ES-CN", rate="0")
        await new_rate(client, admin, tax_class="reduced", country="ES", rate="10")
        for fields in ({"country": "ES"}, {"country": "ES", "region": "ES-CN"}):
            again = await client.post(
                RATES, json={"tax_class": "standard", "rate": "5", **fields}, headers=admin.headers
            )
            assert_problem(again, 409, "tax_rate_taken")

    async def test_an_unknown_class_is_422(self, client: httpx.AsyncClient, admin: Account) -> None:
        body = {"tax_class": "nope", "country": "DE", "rate": "19"}
        problem = assert_problem(await client.post(RATES, json=body, headers=admin.headers), 422, "unknown_tax_class")
        assert problem["errors"] == [{"loc": ["body", "tax_class"], "msg": "Unknown tax class", "type": "value_error"}]

    @pytest.mark.parametrize(
        "fields",
        [
            {"rate": 19},  # a number, not a string
            {"rate": "19.5%"},
            {"rate": "100.01"},
            {"rate": "101"},
            {"rate": "-1"},
            {"rate": "5.12345"},  # five decimals
            {"rate": "1e1"},
            {"rate": ""},
            {"country": "XX"},
            {"country": "DEU"},
            {"region": "FR-75"},  # not in DE
            {"region": "DE"},
            {"region": "DE-ABCD"},
            {"tax_class": "Standard"},
        ],
    )
    async def test_a_bad_body_is_422(self, client: httpx.AsyncClient, admin: Account, fields: dict[str, Any]) -> None:
        body = {"tax_class": "standard", "country": "DE", "rate": "19", **fields}
        assert_problem(await client.post(RATES, json=body, headers=admin.headers), 422, "validation_error")

    async def test_a_bad_update_is_422(self, client: httpx.AsyncClient, admin: Account) -> None:
        rate = await new_rate(client, admin)
        url = f"{RATES}/{rate['id']}"
        for body in ({}, {"rate": "120"}, {"country": "FR"}, {"rate": None}):
            assert_problem(await client.patch(url, json=body, headers=admin.headers), 422, "validation_error")

    async def test_unknown_ids_and_bad_filters(self, client: httpx.AsyncClient, admin: Account) -> None:
        url = f"{RATES}/{uuid.uuid4()}"
        assert_problem(await client.get(url, headers=admin.headers), 404, "not_found")
        assert_problem(await client.patch(url, json={"rate": "1"}, headers=admin.headers), 404, "not_found")
        assert_problem(await client.delete(url, headers=admin.headers), 404, "not_found")
        for params in ({"country": "XX"}, {"tax_class": "Bad Code"}, {"cursor": "nonsense"}, {"limit": 0}):
            response = await client.get(RATES, params=params, headers=admin.headers)
            assert_problem(response, 422, "validation_error")


class TestAccess:
    async def test_staff_may_read(self, client: httpx.AsyncClient, admin: Account, staff: Account) -> None:
        books = await new_class(client, admin)
        rate = await new_rate(client, admin)
        for url in (CLASSES, f"{CLASSES}/{books['id']}", RATES, f"{RATES}/{rate['id']}"):
            response = await client.get(url, headers=staff.headers)
            assert response.status_code == 200, (url, response.text)

    async def test_only_an_admin_may_write(
        self, client: httpx.AsyncClient, admin: Account, staff: Account, customer: Account
    ) -> None:
        books = await new_class(client, admin)
        rate = await new_rate(client, admin)
        writes = [
            ("POST", CLASSES, {"code": "food", "name": "Food"}),
            ("PATCH", f"{CLASSES}/{books['id']}", {"name": "x"}),
            ("DELETE", f"{CLASSES}/{books['id']}", None),
            ("POST", RATES, {"tax_class": "standard", "country": "FR", "rate": "20"}),
            ("PATCH", f"{RATES}/{rate['id']}", {"rate": "1"}),
            ("DELETE", f"{RATES}/{rate['id']}", None),
        ]
        for account in (staff, customer):
            for method, url, body in writes:
                response = await client.request(method, url, json=body, headers=account.headers)
                assert_problem(response, 403, "forbidden")
        for url in (CLASSES, RATES):
            assert_problem(await client.get(url, headers=customer.headers), 403, "forbidden")
            assert_problem(await client.get(url), 401, "unauthorized")
        # Nothing changed.
        assert (await client.get(f"{CLASSES}/{books['id']}", headers=admin.headers)).json()["name"] == "Books"
        assert (await client.get(f"{RATES}/{rate['id']}", headers=admin.headers)).json()["rate"] == "19"
