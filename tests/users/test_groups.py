"""Customer groups on accounts: set by an admin through /admin/users, shown in the admin views only."""

import httpx
import pytest

from tests.fixtures.auth import Account
from tests.fixtures.problems import assert_problem

USERS = "/api/v1/admin/users"


async def test_an_admin_sets_groups_and_sees_them_in_the_list(
    client: httpx.AsyncClient, admin: Account, customer: Account
) -> None:
    response = await client.patch(
        f"{USERS}/{customer.id}", json={"groups": ["wholesale", "vip", "wholesale"]}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["groups"] == ["wholesale", "vip"], "repeats are dropped, the order kept"
    listed = (await client.get(USERS, headers=admin.headers)).json()["items"]
    assert {user["email"]: user["groups"] for user in listed}[customer.email] == ["wholesale", "vip"]


async def test_groups_left_out_stay_and_an_empty_list_clears_them(
    client: httpx.AsyncClient, admin: Account, customer: Account
) -> None:
    await client.patch(f"{USERS}/{customer.id}", json={"groups": ["vip"]}, headers=admin.headers)
    kept = await client.patch(f"{USERS}/{customer.id}", json={"role": "customer"}, headers=admin.headers)
    assert kept.json()["groups"] == ["vip"]
    cleared = await client.patch(f"{USERS}/{customer.id}", json={"groups": []}, headers=admin.headers)
    assert cleared.json()["groups"] == []


async def test_a_customer_does_not_see_their_groups(
    client: httpx.AsyncClient, admin: Account, customer: Account
) -> None:
    given = await client.patch(f"{USERS}/{customer.id}", json={"groups": ["vip"]}, headers=admin.headers)
    assert given.status_code == 200, given.text
    assert given.json()["groups"] == ["vip"]
    own = await client.get("/api/v1/users/me", headers=customer.headers)
    assert own.status_code == 200, own.text
    assert own.json()["id"] == str(customer.id)
    assert "groups" not in own.json()


@pytest.mark.parametrize(
    "groups",
    [
        ["VIP"],
        ["two words"],
        [""],
        ["-vip"],
        ["a" * 41],
        [f"group-{n}" for n in range(21)],
        "vip",
        [1],
    ],
    ids=["upper-case", "space", "empty", "leading-dash", "too-long", "too-many", "not-a-list", "not-a-string"],
)
async def test_groups_that_are_not_slugs_are_a_422(
    client: httpx.AsyncClient, admin: Account, customer: Account, groups: object
) -> None:
    response = await client.patch(f"{USERS}/{customer.id}", json={"groups": groups}, headers=admin.headers)
    assert_problem(response, 422, "validation_error")


async def test_staff_cannot_set_groups(client: httpx.AsyncClient, staff: Account, customer: Account) -> None:
    response = await client.patch(f"{USERS}/{customer.id}", json={"groups": ["vip"]}, headers=staff.headers)
    assert_problem(response, 403, "forbidden")
