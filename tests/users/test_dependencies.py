"""The dependencies other domains guard their routes with: require_staff, require_role, PrincipalDep."""

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI

from shop.app import create_app
from shop.core.config import Settings
from shop.core.errors import error_responses
from shop.core.resources import Resources
from shop.core.routing import shop_router
from shop.core.security import PrincipalDep, Role
from shop.users.dependencies import STAFF_ERRORS, CurrentUser, require_role, require_staff
from tests.fixtures.app import client_for, running_app
from tests.fixtures.auth import Account, bearer, create_user
from tests.fixtures.problems import assert_problem


def guarded_routers() -> list[APIRouter]:
    # As `api.py` mounts another domain's admin router: the guard on the include, the
    # principal read through core only.
    staff_area = shop_router(prefix="/api/v1/admin/probe", responses=error_responses(*STAFF_ERRORS))

    @staff_area.get("/whoami")
    async def whoami(principal: PrincipalDep) -> dict[str, str]:
        logging.getLogger("probe").info("probe.staff_area")
        return {"user_id": str(principal.user_id), "role": principal.role.value}

    open_area = shop_router(prefix="/api/v1/probe-auth", responses=error_responses(*STAFF_ERRORS))

    @open_area.get("/principal")
    async def principal_without_authentication(principal: PrincipalDep) -> dict[str, str]:
        return {"role": principal.role.value}

    @open_area.get("/customers-only", dependencies=[Depends(require_role(Role.customer))])
    async def customers_only(user: CurrentUser) -> dict[str, str]:
        return {"email": user.email}

    return [staff_area, open_area]


@pytest.fixture
async def guarded(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings)
    staff_area, open_area = guarded_routers()
    app.include_router(staff_area, dependencies=[Depends(require_staff)])
    app.include_router(open_area)
    async with running_app(settings, app) as running, client_for(running) as client:
        yield client


class TestRequireStaff:
    async def test_no_token_is_a_401(self, guarded: httpx.AsyncClient) -> None:
        response = await guarded.get("/api/v1/admin/probe/whoami")
        assert_problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_a_customer_is_refused_with_403(self, guarded: httpx.AsyncClient, customer: Account) -> None:
        assert_problem(await guarded.get("/api/v1/admin/probe/whoami", headers=customer.headers), 403, "forbidden")

    @pytest.mark.parametrize("role", [Role.staff, Role.admin])
    async def test_staff_and_admins_pass_and_the_principal_is_theirs(
        self, guarded: httpx.AsyncClient, resources: Resources, role: Role
    ) -> None:
        account = await create_user(resources, role=role)
        response = await guarded.get("/api/v1/admin/probe/whoami", headers=account.headers)
        assert response.json() == {"user_id": str(account.id), "role": role.value}

    async def test_the_callers_id_is_on_every_log_line(
        self, guarded: httpx.AsyncClient, staff: Account, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.INFO):
            await guarded.get("/api/v1/admin/probe/whoami", headers=staff.headers)
        lines = {r.msg["event"]: r.msg for r in caplog.records if isinstance(r.msg, dict)}
        assert lines["http.request"]["user_id"] == str(staff.id)

    async def test_the_role_comes_from_the_account_not_the_token(
        self, guarded: httpx.AsyncClient, customer: Account, settings: Settings
    ) -> None:
        # A token minted while the user was staff no longer opens the staff area once demoted.
        stale = bearer(customer.id, Role.staff, settings)
        assert_problem(await guarded.get("/api/v1/admin/probe/whoami", headers=stale), 403, "forbidden")


class TestPrincipal:
    async def test_without_an_authentication_dependency_it_is_a_401(
        self, guarded: httpx.AsyncClient, customer: Account
    ) -> None:
        response = await guarded.get("/api/v1/probe-auth/principal", headers=customer.headers)
        assert_problem(response, 401, "unauthorized")


class TestRequireRole:
    async def test_lets_only_the_given_roles_through(
        self, guarded: httpx.AsyncClient, customer: Account, admin: Account
    ) -> None:
        response = await guarded.get("/api/v1/probe-auth/customers-only", headers=customer.headers)
        assert response.json() == {"email": customer.email}
        assert_problem(await guarded.get("/api/v1/probe-auth/customers-only", headers=admin.headers), 403, "forbidden")
