"""/admin/promotions: create, read, list, change and delete promotions, with every refusal."""

import uuid
from typing import Any

import httpx
import pytest

from shop.core.resources import Resources
from shop.core.security import Role
from tests.fixtures.auth import Account, create_user
from tests.fixtures.problems import assert_problem
from tests.fixtures.promotion_admin import (
    PROMOTIONS,
    create_promotion,
    promotion_body,
    set_promotion_uses,
)

SOME_ID = str(uuid.uuid4())


@pytest.fixture(params=[Role.staff, Role.admin])
async def manager(request: pytest.FixtureRequest, resources: Resources) -> Account:
    return await create_user(resources, role=request.param)


class TestAccess:
    async def test_staff_and_admins_manage_promotions(self, client: httpx.AsyncClient, manager: Account) -> None:
        created = await create_promotion(client, manager.headers)
        url = f"{PROMOTIONS}/{created['id']}"
        assert (await client.get(url, headers=manager.headers)).status_code == 200
        assert (await client.get(PROMOTIONS, headers=manager.headers)).status_code == 200
        assert (await client.patch(url, json={"name": "x"}, headers=manager.headers)).status_code == 200
        assert (await client.post(f"{url}/codes", json={"code": "abc"}, headers=manager.headers)).status_code == 201
        assert (await client.delete(url, headers=manager.headers)).status_code == 204

    async def test_a_customer_gets_403_on_every_route(self, client: httpx.AsyncClient, customer: Account) -> None:
        calls = [
            ("GET", PROMOTIONS, None),
            ("POST", PROMOTIONS, promotion_body()),
            ("GET", f"{PROMOTIONS}/{SOME_ID}", None),
            ("PATCH", f"{PROMOTIONS}/{SOME_ID}", {}),
            ("DELETE", f"{PROMOTIONS}/{SOME_ID}", None),
            ("POST", f"{PROMOTIONS}/{SOME_ID}/codes", {"code": "WINTER"}),
            ("GET", f"{PROMOTIONS}/{SOME_ID}/codes", None),
            ("POST", f"{PROMOTIONS}/{SOME_ID}/codes/bulk", {"count": 1}),
            ("GET", f"{PROMOTIONS}/{SOME_ID}/codes.csv", None),
            ("DELETE", f"/api/v1/admin/promotion-codes/{SOME_ID}", None),
        ]
        for method, path, body in calls:
            response = await client.request(method, path, json=body, headers=customer.headers)
            assert_problem(response, 403, "forbidden")
            assert (await client.request(method, path, json=body)).status_code == 401


class TestCreate:
    async def test_a_percentage_off_the_whole_order(self, client: httpx.AsyncClient, staff: Account) -> None:
        created = await create_promotion(client, staff.headers)
        assert created["benefit"] == {"type": "percent", "percent": "15"}
        assert created["applies_to"] is None
        assert created["conditions"] == {
            "min_subtotal": None,
            "starts_at": None,
            "ends_at": None,
            "first_order_only": False,
            "customer_ids": [],
            "customer_groups": [],
        }
        assert (created["uses"], created["max_uses"], created["is_active"], created["automatic"]) == (
            0,
            None,
            True,
            False,
        )
        assert set(created) >= {"id", "created_at", "updated_at"}

    async def test_everything_said_is_kept(self, client: httpx.AsyncClient, staff: Account) -> None:
        product, category, customer_id = (str(uuid.uuid4()) for _ in range(3))
        body = promotion_body(
            automatic=True,
            benefit={"type": "amount", "amount": {"amount": 500, "currency": "EUR"}},
            applies_to={"product_ids": [product, product], "category_ids": [category]},
            conditions={
                "min_subtotal": {"amount": 5000, "currency": "EUR"},
                "starts_at": "2026-12-01T00:00:00+01:00",
                "ends_at": "2027-01-01T00:00:00Z",
                "first_order_only": True,
                "customer_ids": [customer_id],
                "customer_groups": ["vip", "wholesale", "vip"],
            },
            max_uses=100,
            max_uses_per_customer=1,
            is_active=False,
        )
        response = await client.post(PROMOTIONS, json=body, headers=staff.headers)
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["benefit"] == body["benefit"]
        assert created["applies_to"] == {"product_ids": [product], "variant_ids": [], "category_ids": [category]}
        assert created["conditions"]["min_subtotal"] == {"amount": 5000, "currency": "EUR"}
        assert created["conditions"]["starts_at"] == "2026-11-30T23:00:00Z"
        assert created["conditions"]["customer_groups"] == ["vip", "wholesale"]
        assert created["conditions"]["customer_ids"] == [customer_id]
        assert (created["max_uses"], created["max_uses_per_customer"], created["is_active"]) == (100, 1, False)
        fetched = (await client.get(f"{PROMOTIONS}/{created['id']}", headers=staff.headers)).json()
        assert fetched == created

    async def test_free_shipping(self, client: httpx.AsyncClient, staff: Account) -> None:
        created = await create_promotion(client, staff.headers, benefit={"type": "free_shipping"})
        assert created["benefit"] == {"type": "free_shipping"}

    @pytest.mark.parametrize(
        ("given", "shown"), [("100", "100"), ("12.5", "12.5"), ("8.8750", "8.875"), ("0.0001", "0.0001")]
    )
    async def test_percentages_pricing_can_compute(
        self, client: httpx.AsyncClient, staff: Account, given: str, shown: str
    ) -> None:
        created = await create_promotion(client, staff.headers, benefit={"type": "percent", "percent": given})
        assert created["benefit"]["percent"] == shown

    @pytest.mark.parametrize(
        "change",
        [
            {"benefit": {"type": "percent", "percent": "0"}},
            {"benefit": {"type": "percent", "percent": "100.01"}},
            {"benefit": {"type": "percent", "percent": "12.34567"}},
            {"benefit": {"type": "percent", "percent": "-5"}},
            {"benefit": {"type": "percent", "percent": 15}},
            {"benefit": {"type": "percent", "percent": "1e1"}},
            {"benefit": {"type": "amount", "amount": {"amount": 0, "currency": "EUR"}}},
            {"benefit": {"type": "amount", "amount": {"amount": -100, "currency": "EUR"}}},
            {"benefit": {"type": "amount", "amount": {"amount": 1.5, "currency": "EUR"}}},
            {"benefit": {"type": "amount", "amount": {"amount": 100, "currency": "USD"}}},
            {"benefit": {"type": "amount"}},
            {"benefit": {"type": "buy_one_get_one"}},
            {"benefit": {"percent": "15"}},
            {"benefit": {"type": "free_shipping", "percent": "15"}},
            {"conditions": {"starts_at": "2027-01-01T00:00:00Z", "ends_at": "2026-12-01T00:00:00Z"}},
            {"conditions": {"starts_at": "2027-01-01T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"}},
            {"conditions": {"starts_at": "2027-01-01T00:00:00"}},
            {"conditions": {"min_subtotal": {"amount": 100, "currency": "USD"}}},
            {"conditions": {"customer_groups": ["VIP"]}},
            {"applies_to": {"product_ids": ["not-an-id"]}},
            {"applies_to": {"brands": []}},
            {"max_uses": 0},
            {"max_uses_per_customer": -1},
            {"automatic": "yes"},
            {"name": ""},
            {"name": "x" * 201},
            {"uses": 5},
            {"colour": "red"},
        ],
        ids=lambda change: str(change)[:60],
    )
    async def test_what_pricing_cannot_compute_is_a_422(
        self, client: httpx.AsyncClient, staff: Account, change: dict[str, Any]
    ) -> None:
        response = await client.post(PROMOTIONS, json=promotion_body(**change), headers=staff.headers)
        assert_problem(response, 422, "validation_error")

    async def test_a_body_without_a_benefit_is_a_422(self, client: httpx.AsyncClient, staff: Account) -> None:
        response = await client.post(PROMOTIONS, json={"name": "x", "automatic": True}, headers=staff.headers)
        assert_problem(response, 422, "validation_error")


class TestList:
    async def test_newest_first_in_pages(self, client: httpx.AsyncClient, staff: Account) -> None:
        names = [f"Promotion {n}" for n in range(5)]
        for name in names:
            await create_promotion(client, staff.headers, name=name)
        seen: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get(PROMOTIONS, params=params, headers=staff.headers)).json()
            seen += [item["name"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == names[::-1]

    async def test_filters_by_automatic_and_active(self, client: httpx.AsyncClient, staff: Account) -> None:
        await create_promotion(client, staff.headers, name="auto on", automatic=True)
        await create_promotion(client, staff.headers, name="auto off", automatic=True, is_active=False)
        await create_promotion(client, staff.headers, name="code on")

        async def names(**params: str) -> list[str]:
            page = (await client.get(PROMOTIONS, params=params, headers=staff.headers)).json()
            return [item["name"] for item in page["items"]]

        assert await names(automatic="true") == ["auto off", "auto on"]
        assert await names(automatic="false") == ["code on"]
        assert await names(active="false") == ["auto off"]
        assert await names(automatic="true", active="true") == ["auto on"]

    @pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"cursor": "nope"}, {"automatic": "maybe"}])
    async def test_bad_parameters_are_a_422(
        self, client: httpx.AsyncClient, staff: Account, params: dict[str, Any]
    ) -> None:
        assert_problem(await client.get(PROMOTIONS, params=params, headers=staff.headers), 422, "validation_error")


class TestUpdate:
    async def test_fields_left_out_stay(self, client: httpx.AsyncClient, staff: Account) -> None:
        created = await create_promotion(client, staff.headers, max_uses=10, conditions={"customer_groups": ["vip"]})
        response = await client.patch(f"{PROMOTIONS}/{created['id']}", json={"name": "Renamed"}, headers=staff.headers)
        assert response.status_code == 200, response.text
        changed = response.json()
        assert changed["name"] == "Renamed"
        assert {key: value for key, value in changed.items() if key not in {"name", "updated_at"}} == {
            key: value for key, value in created.items() if key not in {"name", "updated_at"}
        }

    async def test_every_field_changes(self, client: httpx.AsyncClient, staff: Account) -> None:
        created = await create_promotion(client, staff.headers, max_uses=10, applies_to={"variant_ids": [SOME_ID]})
        change = {
            "automatic": True,
            "benefit": {"type": "amount", "amount": {"amount": 250, "currency": "EUR"}},
            "applies_to": None,
            "conditions": {"first_order_only": True},
            "max_uses": None,
            "max_uses_per_customer": 2,
            "is_active": False,
        }
        response = await client.patch(f"{PROMOTIONS}/{created['id']}", json=change, headers=staff.headers)
        assert response.status_code == 200, response.text
        changed = response.json()
        assert {key: changed[key] for key in change if key != "conditions"} == {
            key: value for key, value in change.items() if key != "conditions"
        }
        assert changed["conditions"]["first_order_only"] is True

    async def test_null_conditions_mean_none(self, client: httpx.AsyncClient, staff: Account) -> None:
        created = await create_promotion(client, staff.headers, conditions={"first_order_only": True})
        response = await client.patch(f"{PROMOTIONS}/{created['id']}", json={"conditions": None}, headers=staff.headers)
        assert response.json()["conditions"]["first_order_only"] is False

    async def test_a_partial_conditions_changes_only_what_it_gives(
        self, client: httpx.AsyncClient, staff: Account
    ) -> None:
        conditions = {
            "min_subtotal": {"amount": 5000, "currency": "EUR"},
            "starts_at": "2026-12-01T00:00:00Z",
            "customer_groups": ["vip"],
            "first_order_only": True,
        }
        created = await create_promotion(client, staff.headers, conditions=conditions)
        url = f"{PROMOTIONS}/{created['id']}"
        change = {"conditions": {"ends_at": "2027-01-01T00:00:00Z", "min_subtotal": None}}
        response = await client.patch(url, json=change, headers=staff.headers)
        assert response.status_code == 200, response.text
        assert response.json()["conditions"] == {
            **created["conditions"],
            "ends_at": "2027-01-01T00:00:00Z",
            "min_subtotal": None,
        }

    @pytest.mark.parametrize(
        "change",
        [{"ends_at": "2026-11-01T00:00:00Z"}, {"ends_at": "2026-12-01T00:00:00Z"}],
        ids=["before", "same"],
    )
    async def test_an_end_not_after_the_stored_start_is_a_422(
        self, client: httpx.AsyncClient, staff: Account, change: dict[str, Any]
    ) -> None:
        created = await create_promotion(client, staff.headers, conditions={"starts_at": "2026-12-01T00:00:00Z"})
        url = f"{PROMOTIONS}/{created['id']}"
        response = await client.patch(url, json={"conditions": change}, headers=staff.headers)
        assert_problem(response, 422, "validation_error")
        assert response.json()["errors"][0]["loc"] == ["body", "conditions", "ends_at"]
        assert (await client.get(url, headers=staff.headers)).json() == created

    async def test_a_start_not_before_the_stored_end_is_a_422(self, client: httpx.AsyncClient, staff: Account) -> None:
        created = await create_promotion(client, staff.headers, conditions={"ends_at": "2026-12-01T00:00:00Z"})
        change = {"conditions": {"starts_at": "2026-12-24T00:00:00Z"}}
        response = await client.patch(f"{PROMOTIONS}/{created['id']}", json=change, headers=staff.headers)
        assert_problem(response, 422, "validation_error")
        assert response.json()["errors"][0]["loc"] == ["body", "conditions", "starts_at"]

    @pytest.mark.parametrize(
        "change",
        [
            {"name": None},
            {"automatic": None},
            {"benefit": None},
            {"is_active": None},
            {"conditions": {"first_order_only": None}},
            {"conditions": {"customer_ids": None}},
            {"conditions": {"customer_groups": None}},
        ],
        ids=["name", "automatic", "benefit", "is-active", "first-order-only", "customer-ids", "customer-groups"],
    )
    async def test_null_for_a_field_that_cannot_be_null_is_a_422(
        self, client: httpx.AsyncClient, staff: Account, change: dict[str, Any]
    ) -> None:
        created = await create_promotion(client, staff.headers)
        response = await client.patch(f"{PROMOTIONS}/{created['id']}", json=change, headers=staff.headers)
        assert_problem(response, 422, "validation_error")
        field, value = next(iter(change.items()))
        expected = ["body", field] if value is None else ["body", field, next(iter(value))]
        assert response.json()["errors"][0]["loc"] == expected

    async def test_max_uses_cannot_go_below_the_uses_taken(
        self, client: httpx.AsyncClient, staff: Account, resources: Resources
    ) -> None:
        created = await create_promotion(client, staff.headers, max_uses=10)
        await set_promotion_uses(resources, created["id"], 5)
        url = f"{PROMOTIONS}/{created['id']}"
        assert_problem(await client.patch(url, json={"max_uses": 4}, headers=staff.headers), 409, "limit_below_uses")
        response = await client.patch(url, json={"max_uses": 5}, headers=staff.headers)
        assert (response.status_code, response.json()["max_uses"], response.json()["uses"]) == (200, 5, 5)

    async def test_a_promotion_with_codes_cannot_turn_automatic(
        self, client: httpx.AsyncClient, staff: Account
    ) -> None:
        created = await create_promotion(client, staff.headers)
        url = f"{PROMOTIONS}/{created['id']}"
        code = await client.post(f"{url}/codes", json={"code": "winter"}, headers=staff.headers)
        assert code.status_code == 201
        assert_problem(
            await client.patch(url, json={"automatic": True}, headers=staff.headers), 409, "promotion_has_codes"
        )
        await client.delete(f"/api/v1/admin/promotion-codes/{code.json()['id']}", headers=staff.headers)
        response = await client.patch(url, json={"automatic": True}, headers=staff.headers)
        assert (response.status_code, response.json()["automatic"]) == (200, True)

    @pytest.mark.parametrize(
        "change",
        [
            {"benefit": {"type": "percent", "percent": "0"}},
            {"benefit": {"type": "teleport"}},
            {"conditions": {"starts_at": "2027-01-01T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"}},
            {"max_uses": 0},
            {"uses": 0},
        ],
        ids=["percent", "type", "window", "max-uses", "extra"],
    )
    async def test_invalid_changes_are_a_422(
        self, client: httpx.AsyncClient, staff: Account, change: dict[str, Any]
    ) -> None:
        created = await create_promotion(client, staff.headers)
        response = await client.patch(f"{PROMOTIONS}/{created['id']}", json=change, headers=staff.headers)
        assert_problem(response, 422, "validation_error")

    async def test_an_unknown_promotion_is_a_404(self, client: httpx.AsyncClient, staff: Account) -> None:
        assert_problem(
            await client.patch(f"{PROMOTIONS}/{SOME_ID}", json={"name": "x"}, headers=staff.headers), 404, "not_found"
        )


class TestDelete:
    async def test_a_deleted_promotion_is_gone_with_its_codes(self, client: httpx.AsyncClient, staff: Account) -> None:
        created = await create_promotion(client, staff.headers)
        url = f"{PROMOTIONS}/{created['id']}"
        code = (await client.post(f"{url}/codes", json={"code": "GONE"}, headers=staff.headers)).json()
        response = await client.delete(url, headers=staff.headers)
        assert (response.status_code, response.content) == (204, b"")
        assert_problem(await client.get(url, headers=staff.headers), 404, "not_found")
        assert_problem(await client.delete(url, headers=staff.headers), 404, "not_found")
        gone = await client.delete(f"/api/v1/admin/promotion-codes/{code['id']}", headers=staff.headers)
        assert_problem(gone, 404, "not_found")

    async def test_unknown_and_malformed_ids(self, client: httpx.AsyncClient, staff: Account) -> None:
        assert_problem(await client.get(f"{PROMOTIONS}/{SOME_ID}", headers=staff.headers), 404, "not_found")
        assert_problem(await client.get(f"{PROMOTIONS}/42", headers=staff.headers), 422, "validation_error")
