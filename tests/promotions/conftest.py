"""Accounts of each role for the promotion admin tests."""

import pytest

from shop.core.resources import Resources
from shop.core.security import Role
from tests.fixtures.auth import Account, create_user


@pytest.fixture
async def customer(resources: Resources) -> Account:
    return await create_user(resources)


@pytest.fixture
async def staff(resources: Resources) -> Account:
    return await create_user(resources, role=Role.staff)


@pytest.fixture
async def admin(resources: Resources) -> Account:
    return await create_user(resources, role=Role.admin)
