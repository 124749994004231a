"""/admin/users: listing with filters and keyset pages, role and activation changes (admin only)."""

import uuid

import httpx
import pytest

from shop.core.resources import Resources
from shop.core.security import Role
from tests.fixtures.auth import Account, create_user, login
from tests.fixtures.problems import assert_problem

USERS = "/api/v1/admin/users"


@pytest.fixture(params=[Role.customer, Role.staff])
async def non_admin(request: pytest.FixtureRequest, resources: Resources) -> Account:
    return await create_user(resources, role=request.param)


def user_url(user_id: uuid.UUID | str) -> str:
    return f"{USERS}/{user_id}"


class TestAccess:
    async def test_without_a_token_is_a_401(self, client: httpx.AsyncClient, customer: Account) -> None:
        assert_problem(await client.get(USERS), 401, "unauthorized")
        assert_problem(await client.patch(user_url(customer.id), json={"role": "admin"}), 401, "unauthorized")

    async def test_customers_and_staff_are_refused_with_403(
        self, client: httpx.AsyncClient, non_admin: Account, admin: Account
    ) -> None:
        assert_problem(await client.get(USERS, headers=non_admin.headers), 403, "forbidden")
        response = await client.patch(user_url(non_admin.id), json={"role": "admin"}, headers=non_admin.headers)
        assert_problem(response, 403, "forbidden")
        listing = await client.get(USERS, headers=admin.headers)
        roles = {user["email"]: user["role"] for user in listing.json()["items"]}
        assert roles[non_admin.email] == non_admin.role, "the refused request changed nothing"

    async def test_a_demoted_admin_loses_access_with_the_token_they_hold(
        self, client: httpx.AsyncClient, admin: Account, resources: Resources
    ) -> None:
        other = await create_user(resources, email="other-admin@example.com", role=Role.admin)
        assert (
            await client.patch(user_url(admin.id), json={"role": "staff"}, headers=other.headers)
        ).status_code == 200
        assert_problem(await client.get(USERS, headers=admin.headers), 403, "forbidden")


class TestList:
    async def test_lists_users_newest_first(
        self, client: httpx.AsyncClient, admin: Account, resources: Resources
    ) -> None:
        later = await create_user(resources, email="later@example.com")
        response = await client.get(USERS, headers=admin.headers)
        assert response.status_code == 200
        page = response.json()
        assert [user["email"] for user in page["items"]] == [later.email, admin.email]
        assert page["next_cursor"] is None
        assert set(page["items"][0]) == {"id", "email", "full_name", "role", "is_active", "created_at", "groups"}

    async def test_pages_follow_each_other_without_gaps_or_repeats(
        self, client: httpx.AsyncClient, admin: Account, resources: Resources
    ) -> None:
        for n in range(6):
            await create_user(resources, email=f"user{n}@example.com")
        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, str | int] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = (await client.get(USERS, params=params, headers=admin.headers)).json()
            seen += [user["email"] for user in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == 3
        assert seen == [*(f"user{n}@example.com" for n in reversed(range(6))), admin.email]

    async def test_a_write_between_pages_does_not_shift_the_next_page(
        self, client: httpx.AsyncClient, admin: Account, resources: Resources
    ) -> None:
        for n in range(4):
            await create_user(resources, email=f"user{n}@example.com")
        first = (await client.get(USERS, params={"limit": 2}, headers=admin.headers)).json()
        await create_user(resources, email="newcomer@example.com")
        params = {"limit": 2, "cursor": first["next_cursor"]}
        second = (await client.get(USERS, params=params, headers=admin.headers)).json()
        assert [user["email"] for user in second["items"]] == ["user1@example.com", "user0@example.com"]

    async def test_filters_by_role(
        self, client: httpx.AsyncClient, admin: Account, staff: Account, customer: Account
    ) -> None:
        page = (await client.get(USERS, params={"role": "staff"}, headers=admin.headers)).json()
        assert [user["email"] for user in page["items"]] == [staff.email]

    @pytest.mark.parametrize(
        ("query", "expected"),
        [("EXAMPLE.ORG", ["maria@example.org"]), ("garcía", ["maria@example.org"]), ("50%", ["fifty@example.com"])],
    )
    async def test_q_matches_email_or_full_name_case_insensitively(
        self, client: httpx.AsyncClient, admin: Account, resources: Resources, query: str, expected: list[str]
    ) -> None:
        await create_user(resources, email="maria@example.org", full_name="María García")
        await create_user(resources, email="fifty@example.com", full_name="Fifty 50% Off")
        await create_user(resources, email="fifty-five@example.com", full_name="Fifty 500 Off")
        page = (await client.get(USERS, params={"q": query}, headers=admin.headers)).json()
        assert [user["email"] for user in page["items"]] == expected

    @pytest.mark.parametrize("query", ["%", "_", "\\"])
    async def test_wildcards_in_q_match_literally(self, client: httpx.AsyncClient, admin: Account, query: str) -> None:
        page = (await client.get(USERS, params={"q": query}, headers=admin.headers)).json()
        assert page["items"] == []

    async def test_role_and_q_combine(self, client: httpx.AsyncClient, admin: Account, resources: Resources) -> None:
        await create_user(resources, email="ann.staff@example.com", role=Role.staff)
        await create_user(resources, email="ann.customer@example.com")
        page = (await client.get(USERS, params={"q": "ann", "role": "customer"}, headers=admin.headers)).json()
        assert [user["email"] for user in page["items"]] == ["ann.customer@example.com"]

    @pytest.mark.parametrize(
        "params",
        [
            {"limit": 0},
            {"limit": 101},
            {"limit": "ten"},
            {"role": "owner"},
            {"cursor": "not-a-cursor"},
            {"cursor": "eyJpZCI6IngifQ"},
        ],
    )
    async def test_bad_parameters_are_a_422(
        self, client: httpx.AsyncClient, admin: Account, params: dict[str, object]
    ) -> None:
        assert_problem(await client.get(USERS, params=params, headers=admin.headers), 422, "validation_error")


class TestUpdate:
    async def test_an_admin_changes_a_role(self, client: httpx.AsyncClient, admin: Account, customer: Account) -> None:
        response = await client.patch(user_url(customer.id), json={"role": "staff"}, headers=admin.headers)
        assert response.status_code == 200, response.text
        assert (response.json()["id"], response.json()["role"]) == (str(customer.id), "staff")

    async def test_deactivation_stops_the_access_token_at_once(
        self, client: httpx.AsyncClient, admin: Account, customer: Account
    ) -> None:
        pair = await login(client, customer.email)
        assert (await client.get("/api/v1/users/me", headers=customer.headers)).status_code == 200
        response = await client.patch(user_url(customer.id), json={"is_active": False}, headers=admin.headers)
        assert response.json()["is_active"] is False
        assert_problem(await client.get("/api/v1/users/me", headers=customer.headers), 401, "account_disabled")
        refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert refreshed.status_code == 401

    async def test_reactivation_lets_the_user_log_in_again(
        self, client: httpx.AsyncClient, admin: Account, customer: Account
    ) -> None:
        await client.patch(user_url(customer.id), json={"is_active": False}, headers=admin.headers)
        await client.patch(user_url(customer.id), json={"is_active": True}, headers=admin.headers)
        await login(client, customer.email)

    async def test_an_unknown_user_is_a_404(self, client: httpx.AsyncClient, admin: Account) -> None:
        response = await client.patch(user_url(uuid.uuid4()), json={"role": "staff"}, headers=admin.headers)
        assert_problem(response, 404, "not_found")

    async def test_an_id_that_does_not_parse_is_a_422(self, client: httpx.AsyncClient, admin: Account) -> None:
        response = await client.patch(user_url("42"), json={"role": "staff"}, headers=admin.headers)
        assert_problem(response, 422, "validation_error")

    @pytest.mark.parametrize("change", [{"email": "x@example.com"}, {"id": str(uuid.uuid4())}, {"role": "owner"}])
    async def test_other_fields_and_unknown_roles_are_a_422(
        self, client: httpx.AsyncClient, admin: Account, customer: Account, change: dict[str, str]
    ) -> None:
        response = await client.patch(user_url(customer.id), json=change, headers=admin.headers)
        assert_problem(response, 422, "validation_error")

    @pytest.mark.parametrize("change", [{"role": "staff"}, {"is_active": False}])
    async def test_an_admin_cannot_demote_or_deactivate_themselves(
        self, client: httpx.AsyncClient, admin: Account, change: dict[str, object]
    ) -> None:
        response = await client.patch(user_url(admin.id), json=change, headers=admin.headers)
        assert_problem(response, 403, "forbidden")
        assert (await client.get("/api/v1/users/me", headers=admin.headers)).json()["role"] == "admin"

    async def test_an_admin_may_restate_their_own_access(self, client: httpx.AsyncClient, admin: Account) -> None:
        response = await client.patch(
            user_url(admin.id), json={"role": "admin", "is_active": True}, headers=admin.headers
        )
        assert response.status_code == 200
