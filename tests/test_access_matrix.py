"""Every route of the OpenAPI schema, called as anonymous, customer, staff and admin.

A route missing from ACCESS fails the test: adding a route means deciding who may call it.
"""

import re
import uuid

import httpx
import pytest

from shop.core.resources import Resources
from shop.core.security import Role
from tests.fixtures.access import ACCESS, Access
from tests.fixtures.auth import Account, create_user


async def routes(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    schema = (await client.get("/openapi.json")).json()
    return [(method, path) for path, operations in schema["paths"].items() for method in operations]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "some-slug" if m.group(0) == "{slug}" else str(uuid.uuid4()), path)


async def call(client: httpx.AsyncClient, method: str, path: str, account: Account | None) -> httpx.Response:
    headers = account.headers if account else {}
    body = None if method in {"get", "delete"} else {}
    return await client.request(method.upper(), concrete(path), json=body, headers=headers)


async def test_every_route_has_an_entry(client: httpx.AsyncClient) -> None:
    found = set(await routes(client))
    assert found - set(ACCESS) == set(), "new routes need an entry in ACCESS"
    assert set(ACCESS) - found == set(), "ACCESS names routes that no longer exist"


async def test_every_guarded_route_declares_its_401_and_403(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    for (method, path), access in ACCESS.items():
        declared = set(schema["paths"][path][method]["responses"])
        if access is not Access.public:  # some public ones answer 401 too: a wrong password, a stale token
            assert "401" in declared, (method, path)
        assert ("403" in declared) is (access in {Access.staff, Access.admin}), (method, path)


@pytest.fixture
async def accounts(resources: Resources) -> dict[Role, Account]:
    return {role: await create_user(resources, role=role) for role in Role}


async def test_who_may_call_what(client: httpx.AsyncClient, accounts: dict[Role, Account]) -> None:
    for method, path in await routes(client):
        access = ACCESS[(method, path)]
        anonymous = await call(client, method, path, None)
        if access is Access.public:
            assert anonymous.status_code not in {401, 403}, (method, path, anonymous.text)
            continue
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.headers["www-authenticate"] == "Bearer"
        allowed = {
            Access.user: set(Role),
            Access.staff: {Role.staff, Role.admin},
            Access.admin: {Role.admin},
        }[access]
        for role, account in accounts.items():
            response = await call(client, method, path, account)
            if role in allowed:
                assert response.status_code not in {401, 403}, (method, path, role, response.text)
            else:
                assert response.status_code == 403, (method, path, role, response.text)
                assert response.json()["code"] == "forbidden"
