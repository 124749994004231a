"""Staff shipping routes: zones and their countries, methods and their bands, every error code,
who may read and who may write, and concurrent claims of one country."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from shop.core.db import unit_of_work
from shop.core.resources import Resources
from shop.orders.models import Cart, Order
from shop.shipping.models import ShippingMethod, ShippingZoneCountry
from tests.fixtures.auth import Account
from tests.fixtures.catalog import eur
from tests.fixtures.orders import create_variants, place_order
from tests.fixtures.problems import assert_problem

ZONES = "/api/v1/admin/shipping-zones"
METHODS = "/api/v1/admin/shipping-methods"


def band(start: Any, price: Any) -> dict[str, Any]:
    return {"from_subtotal": eur(start), "price": eur(price)}


async def new_zone(client: httpx.AsyncClient, admin: Account, name: str = "DACH", **fields: Any) -> Any:
    body = {"name": name, "countries": ["DE", "AT", "CH"], **fields}
    response = await client.post(ZONES, json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def new_method(client: httpx.AsyncClient, admin: Account, zone_id: str, **fields: Any) -> Any:
    body = {"name": "Parcel", "bands": [band(0, 590), band(5000, 290)], **fields}
    response = await client.post(f"{ZONES}/{zone_id}/methods", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def default_zone(client: httpx.AsyncClient, account: Account) -> Any:
    items = (await client.get(ZONES, params={"limit": 100}, headers=account.headers)).json()["items"]
    return next(zone for zone in items if zone["is_default"])


class TestZones:
    async def test_create_get_update_list_and_delete(
        self, client: httpx.AsyncClient, admin: Account, resources: Resources
    ) -> None:
        zone = await new_zone(client, admin, countries=["de", "AT", "CH", "DE"])
        assert (zone["name"], zone["countries"], zone["is_default"]) == ("DACH", ["AT", "CH", "DE"], False)
        url = f"{ZONES}/{zone['id']}"
        method = await new_method(client, admin, zone["id"])
        assert (await client.get(url, headers=admin.headers)).json() == zone
        updated = await client.patch(url, json={"name": "Germany", "countries": ["DE", "LI"]}, headers=admin.headers)
        assert updated.status_code == 200, updated.text
        assert (updated.json()["name"], updated.json()["countries"]) == ("Germany", ["DE", "LI"])
        # AT is free again: another zone may take it.
        await new_zone(client, admin, "Austria", countries=["AT"])
        pages, cursor = [], None
        while True:
            page = (
                await client.get(
                    ZONES, params={"limit": 1, **({"cursor": cursor} if cursor else {})}, headers=admin.headers
                )
            ).json()
            pages += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(z["name"] for z in pages) == ["Austria", "Everywhere", "Germany"]
        assert (await client.delete(url, headers=admin.headers)).status_code == 204
        assert_problem(await client.get(url, headers=admin.headers), 404, "not_found")
        async with resources.database.sessionmaker() as session:
            left = await session.scalars(select(ShippingMethod.id).where(ShippingMethod.id == uuid.UUID(method["id"])))
            countries = await session.scalars(select(ShippingZoneCountry.country))
            assert (left.all(), sorted(countries.all())) == ([], ["AT"])

    async def test_a_country_in_another_zone_is_409_naming_it(self, client: httpx.AsyncClient, admin: Account) -> None:
        dach = await new_zone(client, admin)
        benelux = await new_zone(client, admin, "Benelux", countries=["BE", "NL", "LU"])
        response = await client.post(
            ZONES, json={"name": "Mix", "countries": ["FR", "DE", "NL"]}, headers=admin.headers
        )
        problem = assert_problem(response, 409, "country_in_other_zone")
        assert problem["errors"] == [
            {"country": "DE", "zone_id": dach["id"]},
            {"country": "NL", "zone_id": benelux["id"]},
        ]
        # Nothing of the refused zone was kept: FR is free.
        await new_zone(client, admin, "France", countries=["FR"])
        moved = await client.patch(f"{ZONES}/{benelux['id']}", json={"countries": ["BE", "AT"]}, headers=admin.headers)
        problem = assert_problem(moved, 409, "country_in_other_zone")
        assert problem["errors"] == [{"country": "AT", "zone_id": dach["id"]}]
        shown = (await client.get(f"{ZONES}/{benelux['id']}", headers=admin.headers)).json()
        assert shown["countries"] == ["BE", "LU", "NL"]

    async def test_a_second_default_zone_is_409(self, client: httpx.AsyncClient, admin: Account) -> None:
        everywhere = await default_zone(client, admin)
        response = await client.post(
            ZONES, json={"name": "Rest", "countries": [], "is_default": True}, headers=admin.headers
        )
        assert_problem(response, 409, "default_zone_exists")
        dach = await new_zone(client, admin)
        response = await client.patch(f"{ZONES}/{dach['id']}", json={"is_default": True}, headers=admin.headers)
        assert_problem(response, 409, "default_zone_exists")
        # Once the default is no longer, another zone may be it.
        await client.patch(
            f"{ZONES}/{everywhere['id']}", json={"is_default": False, "countries": ["FR"]}, headers=admin.headers
        )
        response = await client.patch(f"{ZONES}/{dach['id']}", json={"is_default": True}, headers=admin.headers)
        assert response.status_code == 200 and response.json()["is_default"] is True

    async def test_only_the_default_zone_may_have_no_country(self, client: httpx.AsyncClient, admin: Account) -> None:
        response = await client.post(ZONES, json={"name": "Nowhere", "countries": []}, headers=admin.headers)
        assert_problem(response, 422, "validation_error")
        dach = await new_zone(client, admin)
        emptied = await client.patch(f"{ZONES}/{dach['id']}", json={"countries": []}, headers=admin.headers)
        assert_problem(emptied, 422, "validation_error")
        everywhere = await default_zone(client, admin)
        undefaulted = await client.patch(
            f"{ZONES}/{everywhere['id']}", json={"is_default": False}, headers=admin.headers
        )
        assert_problem(undefaulted, 422, "validation_error")
        assert (await default_zone(client, admin))["id"] == everywhere["id"]

    @pytest.mark.parametrize(
        "body",
        [
            {"name": "", "countries": ["DE"]},
            {"name": "x" * 101, "countries": ["DE"]},
            {"name": "X", "countries": ["XX"]},
            {"name": "X", "countries": "DE"},
            {"name": "X", "countries": ["DE"], "is_default": "yes"},
            {"countries": ["DE"]},
            {"name": "X", "countries": ["DE"], "methods": []},
        ],
    )
    async def test_a_bad_body_is_422(self, client: httpx.AsyncClient, admin: Account, body: dict[str, Any]) -> None:
        assert_problem(await client.post(ZONES, json=body, headers=admin.headers), 422, "validation_error")

    async def test_unknown_ids_are_404(self, client: httpx.AsyncClient, admin: Account) -> None:
        url = f"{ZONES}/{uuid.uuid4()}"
        assert_problem(await client.get(url, headers=admin.headers), 404, "not_found")
        assert_problem(await client.patch(url, json={"name": "x"}, headers=admin.headers), 404, "not_found")
        assert_problem(await client.delete(url, headers=admin.headers), 404, "not_found")
        assert_problem(await client.get(f"{url}/methods", headers=admin.headers), 404, "not_found")
        response = await client.post(f"{url}/methods", json={"name": "x", "bands": [band(0, 1)]}, headers=admin.headers)
        assert_problem(response, 404, "not_found")

    async def test_concurrent_claims_of_one_country_leave_one_owner(
        self, client: httpx.AsyncClient, admin: Account, resources: Resources
    ) -> None:
        # Each wants Portugal and a country of its own: exactly one may have Portugal.
        others = ["ES", "FR", "IT", "BE", "NL", "LU"]
        bodies = [{"name": f"Zone {country}", "countries": ["PT", country]} for country in others]
        responses = await asyncio.gather(*(client.post(ZONES, json=body, headers=admin.headers) for body in bodies))
        created = [response for response in responses if response.status_code == 201]
        refused = [response for response in responses if response.status_code != 201]
        assert len(created) == 1, [response.text for response in responses]
        owner = created[0].json()["id"]
        for response in refused:
            problem = assert_problem(response, 409, "country_in_other_zone")
            assert problem["errors"] == [{"country": "PT", "zone_id": owner}]
        async with resources.database.sessionmaker() as session:
            rows = (await session.execute(select(ShippingZoneCountry.country, ShippingZoneCountry.zone_id))).all()
        assert sorted((country, str(zone)) for country, zone in rows) == sorted(
            (country, owner) for country in created[0].json()["countries"]
        )

    async def test_zones_trading_countries_concurrently_never_deadlock(
        self, client: httpx.AsyncClient, admin: Account, resources: Resources
    ) -> None:
        # Each PATCH gives up its country and claims the other's, and a new zone wants both: without
        # one lock over zone writes, two of them wait for a row the other deleted and PostgreSQL
        # aborts one (a 500). One at a time, each finds the country it wants still held: 409.
        germany = await new_zone(client, admin, "Germany", countries=["DE"])
        france = await new_zone(client, admin, "France", countries=["FR"])
        for _ in range(10):
            responses = await asyncio.gather(
                client.patch(f"{ZONES}/{germany['id']}", json={"countries": ["FR"]}, headers=admin.headers),
                client.patch(f"{ZONES}/{france['id']}", json={"countries": ["DE"]}, headers=admin.headers),
                client.post(ZONES, json={"name": "Both", "countries": ["FR", "DE"]}, headers=admin.headers),
            )
            for response in responses:
                assert_problem(response, 409, "country_in_other_zone")
            async with resources.database.sessionmaker() as session:
                rows = (await session.execute(select(ShippingZoneCountry.country, ShippingZoneCountry.zone_id))).all()
            owners = {country: str(zone) for country, zone in rows if country in ("DE", "FR")}
            assert owners == {"DE": germany["id"], "FR": france["id"]}, rows

    async def test_concurrent_default_zones_leave_one(self, client: httpx.AsyncClient, admin: Account) -> None:
        everywhere = await default_zone(client, admin)
        assert (await client.delete(f"{ZONES}/{everywhere['id']}", headers=admin.headers)).status_code == 204
        body = {"name": "Rest", "countries": [], "is_default": True}
        responses = await asyncio.gather(*(client.post(ZONES, json=body, headers=admin.headers) for _ in range(4)))
        assert sorted(response.status_code for response in responses) == [201, 409, 409, 409]
        for response in responses:
            if response.status_code == 409:
                assert_problem(response, 409, "default_zone_exists")


class TestMethods:
    async def test_a_zone_s_methods_are_a_cursor_page_oldest_first(
        self, client: httpx.AsyncClient, admin: Account
    ) -> None:
        zone = await new_zone(client, admin)
        made = [(await new_method(client, admin, zone["id"], name=f"M{index}"))["id"] for index in range(5)]
        url = f"{ZONES}/{zone['id']}/methods"
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get(url, params=params, headers=admin.headers)).json()
            assert len(page["items"]) <= 2
            seen += [method["id"] for method in page["items"]]
            cursor, pages = page["next_cursor"], pages + 1
            if cursor is None:
                break
        assert (seen, pages) == (made, 3)
        first = (await client.get(url, headers=admin.headers)).json()
        assert ([method["id"] for method in first["items"]], first["next_cursor"]) == (made, None)
        for params in ({"limit": 0}, {"limit": 101}, {"cursor": "not-a-cursor"}):
            assert_problem(await client.get(url, params=params, headers=admin.headers), 422, "validation_error")

    async def test_create_get_update_list_and_delete(
        self, client: httpx.AsyncClient, admin: Account, resources: Resources
    ) -> None:
        zone = await new_zone(client, admin)
        method = await new_method(
            client,
            admin,
            zone["id"],
            free_from=eur(10000),
            min_delivery_days=1,
            max_delivery_days=3,
            tax_class="reduced",
        )
        assert method["zone_id"] == zone["id"]
        assert method["bands"] == [band(0, 590), band(5000, 290)]
        assert (method["free_from"], method["tax_class"], method["is_active"]) == (eur(10000), "reduced", True)
        assert (method["min_delivery_days"], method["max_delivery_days"]) == (1, 3)
        async with resources.database.sessionmaker() as session:
            stored = await session.scalar(
                select(ShippingMethod.bands).where(ShippingMethod.id == uuid.UUID(method["id"]))
            )
        assert stored == [{"from_subtotal": 0, "amount": 590}, {"from_subtotal": 5000, "amount": 290}]
        url = f"{METHODS}/{method['id']}"
        assert (await client.get(url, headers=admin.headers)).json() == method
        updated = await client.patch(
            url,
            json={
                "name": "Express",
                "bands": [band(0, 990)],
                "free_from": None,
                "max_delivery_days": None,
                "tax_class": "standard",
                "is_active": False,
            },
            headers=admin.headers,
        )
        assert updated.status_code == 200, updated.text
        shown = updated.json()
        assert (shown["name"], shown["bands"], shown["free_from"], shown["tax_class"], shown["is_active"]) == (
            "Express",
            [band(0, 990)],
            None,
            "standard",
            False,
        )
        assert (shown["min_delivery_days"], shown["max_delivery_days"]) == (1, None)
        second = await new_method(client, admin, zone["id"], name="Pick-up", bands=[band(0, 0)])
        listed = (await client.get(f"{ZONES}/{zone['id']}/methods", headers=admin.headers)).json()["items"]
        assert [m["id"] for m in listed] == [method["id"], second["id"]]
        assert (await client.delete(url, headers=admin.headers)).status_code == 204
        assert_problem(await client.get(url, headers=admin.headers), 404, "not_found")

    async def test_the_default_zone_has_the_seeded_method(self, client: httpx.AsyncClient, staff: Account) -> None:
        everywhere = await default_zone(client, staff)
        methods = (await client.get(f"{ZONES}/{everywhere['id']}/methods", headers=staff.headers)).json()["items"]
        assert [method["name"] for method in methods] == ["Standard shipping"]

    @pytest.mark.parametrize(
        "fields",
        [
            {"bands": []},
            {"bands": [band(100, 500)]},  # not from 0
            {"bands": [band(0, 500), band(0, 300)]},  # not rising strictly
            {"bands": [band(0, 500), band(5000, 300), band(4000, 100)]},
            {"bands": [band(0, -1)]},
            {"bands": [band(0, 1.5)]},
            {"bands": [band(0, "5")]},
            {"bands": [{"from_subtotal": eur(0), "price": {"amount": 500, "currency": "USD"}}]},
            {"bands": [{"from_subtotal": eur(0), "amount": eur(500)}]},
            {"free_from": eur(-1)},
            {"free_from": {"amount": 100, "currency": "USD"}},
            {"tax_class": "Not A Code"},
            {"min_delivery_days": -1},
            {"max_delivery_days": 366},
            {"min_delivery_days": 5, "max_delivery_days": 2},
            {"name": ""},
            {"is_active": "no"},
        ],
    )
    async def test_a_bad_body_is_422(self, client: httpx.AsyncClient, admin: Account, fields: dict[str, Any]) -> None:
        zone = await new_zone(client, admin)
        body = {"name": "Parcel", "bands": [band(0, 590)], **fields}
        response = await client.post(f"{ZONES}/{zone['id']}/methods", json=body, headers=admin.headers)
        assert_problem(response, 422, "validation_error")

    async def test_a_bad_update_is_422(self, client: httpx.AsyncClient, admin: Account) -> None:
        zone = await new_zone(client, admin)
        method = await new_method(client, admin, zone["id"], min_delivery_days=2, max_delivery_days=4)
        url = f"{METHODS}/{method['id']}"
        for body in (
            {"min_delivery_days": 5},  # above the stored maximum
            {"bands": [band(10, 1)]},
            {"bands": [{"from_subtotal": eur(0), "price": {"amount": 1, "currency": "USD"}}]},
            {"zone_id": str(uuid.uuid4())},
        ):
            assert_problem(await client.patch(url, json=body, headers=admin.headers), 422, "validation_error")
        assert (await client.get(url, headers=admin.headers)).json() == method

    async def test_an_unknown_tax_class_is_422(self, client: httpx.AsyncClient, admin: Account) -> None:
        zone = await new_zone(client, admin)
        body = {"name": "Parcel", "bands": [band(0, 590)], "tax_class": "nope"}
        response = await client.post(f"{ZONES}/{zone['id']}/methods", json=body, headers=admin.headers)
        problem = assert_problem(response, 422, "unknown_tax_class")
        assert problem["errors"] == [{"loc": ["body", "tax_class"], "msg": "Unknown tax class", "type": "value_error"}]
        method = await new_method(client, admin, zone["id"])
        response = await client.patch(f"{METHODS}/{method['id']}", json={"tax_class": "nope"}, headers=admin.headers)
        assert_problem(response, 422, "unknown_tax_class")

    async def test_unknown_ids_are_404(self, client: httpx.AsyncClient, admin: Account) -> None:
        url = f"{METHODS}/{uuid.uuid4()}"
        assert_problem(await client.get(url, headers=admin.headers), 404, "not_found")
        assert_problem(await client.patch(url, json={"name": "x"}, headers=admin.headers), 404, "not_found")
        assert_problem(await client.delete(url, headers=admin.headers), 404, "not_found")


class TestAccess:
    async def test_staff_may_read(self, client: httpx.AsyncClient, admin: Account, staff: Account) -> None:
        zone = await new_zone(client, admin)
        method = await new_method(client, admin, zone["id"])
        for url in (ZONES, f"{ZONES}/{zone['id']}", f"{ZONES}/{zone['id']}/methods", f"{METHODS}/{method['id']}"):
            response = await client.get(url, headers=staff.headers)
            assert response.status_code == 200, (url, response.text)

    async def test_only_an_admin_may_write(
        self, client: httpx.AsyncClient, admin: Account, staff: Account, customer: Account
    ) -> None:
        zone = await new_zone(client, admin)
        method = await new_method(client, admin, zone["id"])
        writes = [
            ("POST", ZONES, {"name": "Benelux", "countries": ["BE"]}),
            ("PATCH", f"{ZONES}/{zone['id']}", {"name": "x"}),
            ("DELETE", f"{ZONES}/{zone['id']}", None),
            ("POST", f"{ZONES}/{zone['id']}/methods", {"name": "x", "bands": [band(0, 1)]}),
            ("PATCH", f"{METHODS}/{method['id']}", {"name": "x"}),
            ("DELETE", f"{METHODS}/{method['id']}", None),
        ]
        for account in (staff, customer):
            for verb, url, body in writes:
                assert_problem(await client.request(verb, url, json=body, headers=account.headers), 403, "forbidden")
        assert_problem(await client.get(ZONES, headers=customer.headers), 403, "forbidden")
        assert_problem(await client.get(ZONES), 401, "unauthorized")
        assert (await client.get(f"{METHODS}/{method['id']}", headers=admin.headers)).json() == method


class TestDeletion:
    """A cart refers to the method chosen, an order keeps a copy of the one it was priced with;
    deleting the method (or its zone) clears the cart's choice and leaves the order as it was."""

    @pytest.mark.parametrize("deleted", ["method", "zone"])
    async def test_carts_and_orders_outlive_their_method(
        self, client: httpx.AsyncClient, admin: Account, customer: Account, resources: Resources, deleted: str
    ) -> None:
        zone = await new_zone(client, admin)
        method = await new_method(client, admin, zone["id"], name="Express")
        method_id = uuid.UUID(method["id"])
        (variant_id,) = await create_variants(resources, [5])
        placed = await place_order(client, customer, (variant_id, 1))
        async with unit_of_work(resources.database) as session:
            session.add(Cart(user_id=customer.id, shipping_method_id=method_id))
            order = await session.get_one(Order, uuid.UUID(placed["id"]))
            order.shipping_method_id, order.shipping_method_name = method_id, "Express"
        async with resources.database.sessionmaker() as session:
            before = await session.get_one(Order, uuid.UUID(placed["id"]))
            amounts = _amounts(before)

        url = f"{METHODS}/{method['id']}" if deleted == "method" else f"{ZONES}/{zone['id']}"
        assert (await client.delete(url, headers=admin.headers)).status_code == 204

        async with resources.database.sessionmaker() as session:
            cart = await session.scalar(select(Cart).where(Cart.user_id == customer.id))
            after = await session.get_one(Order, uuid.UUID(placed["id"]))
        assert cart is not None and cart.shipping_method_id is None
        assert (after.shipping_method_id, after.shipping_method_name) == (method_id, "Express")
        assert _amounts(after) == amounts
        shown = await client.get(f"/api/v1/orders/{placed['id']}", headers=customer.headers)
        assert shown.status_code == 200, shown.text
        assert shown.json()["total"] == placed["total"]


def _amounts(order: Order) -> tuple[Any, ...]:
    return (
        order.subtotal_amount,
        order.discount_amount,
        order.shipping_amount,
        order.shipping_discount_amount,
        order.shipping_tax_amount,
        order.tax_amount,
        order.total_amount,
        order.taxes,
    )
