"""Accounts, catalog rows and helpers for the cart, checkout and order tests."""

import uuid

import pytest

from shop.core.resources import Resources
from shop.core.security import Role
from tests.fixtures import logscan
from tests.fixtures.auth import Account, create_user
from tests.fixtures.orders import WEBHOOK_SECRET


@pytest.fixture
async def customer(resources: Resources) -> Account:
    return await create_user(resources, email=f"buyer-{uuid.uuid4().hex[:8]}@example.com")


@pytest.fixture
async def other_customer(resources: Resources) -> Account:
    return await create_user(resources)


@pytest.fixture
async def staff(resources: Resources) -> Account:
    return await create_user(resources, role=Role.staff)


@pytest.fixture
async def admin(resources: Resources) -> Account:
    return await create_user(resources, role=Role.admin)


@pytest.fixture
def webhook_secret(resources: Resources, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(resources.settings, "payment_webhook_secret", WEBHOOK_SECRET)
    logscan.secret(WEBHOOK_SECRET)
    return WEBHOOK_SECRET
