"""Accounts of each role, ready to call the API with."""

import pytest

from shop.core.resources import Resources
from shop.core.security import Role
from tests.fixtures.auth import Account, create_user


@pytest.fixture
async def customer(resources: Resources) -> Account:
    return await create_user(resources, email="carla@example.com", full_name="Carla Customer")


@pytest.fixture
async def staff(resources: Resources) -> Account:
    return await create_user(resources, email="stan@example.com", full_name="Stan Staff", role=Role.staff)


@pytest.fixture
async def admin(resources: Resources) -> Account:
    return await create_user(resources, email="ada@example.com", full_name="Ada Admin", role=Role.admin)
