"""Login and password-reset limits: 429 with Retry-After, reset by success or time, open when Redis is down.

An app with small limits and a short window keeps these tests quick; the defaults are checked
on the settings themselves.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from shop.core.config import Settings
from shop.core.resources import Resources
from tests.fixtures.app import client_for, running_app
from tests.fixtures.auth import PASSWORD, Account
from tests.fixtures.problems import assert_problem
from tests.fixtures.settings import make_settings

TOKEN = "/api/v1/auth/token"
RESET = "/api/v1/auth/password-reset"
WRONG_PASSWORD = "wrong-password"
# Long enough for a busy machine to make every attempt of a test inside one window.
WINDOW_SECONDS = 8
LIMITS = {
    "login_max_failures_per_email": 3,
    "login_max_attempts_per_address": 6,
    "login_window_seconds": WINDOW_SECONDS,
    "password_reset_max_per_email": 2,
    "password_reset_max_per_address": 4,
}


@pytest.fixture
async def limited(settings: Settings, resources: Resources, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The shop with small limits, on the same database and Redis (cleaned after each test)."""
    assert settings.redis_url is not None
    own = make_settings(settings.require_database_url(), settings.redis_url, tmp_path, **LIMITS)
    async with running_app(own) as app, client_for(app) as client:
        yield client


async def attempt(client: httpx.AsyncClient, email: str, password: str = WRONG_PASSWORD) -> httpx.Response:
    return await client.post(TOKEN, data={"username": email, "password": password})


def assert_rate_limited(response: httpx.Response) -> int:
    assert_problem(response, 429, "rate_limited")
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= WINDOW_SECONDS
    return retry_after


class TestDefaults:
    def test_the_limits_of_api_md(self) -> None:
        defaults = Settings(_env_file=None)  # type: ignore[call-arg]
        assert (defaults.login_max_failures_per_email, defaults.login_max_attempts_per_address) == (10, 100)
        assert defaults.login_window_seconds == 15 * 60
        assert (defaults.password_reset_max_per_email, defaults.password_reset_window_seconds) == (5, 60 * 60)
        assert defaults.password_reset_max_per_address == 50


class TestLoginPerEmail:
    async def test_failures_trip_the_limit_even_for_the_right_password(
        self, limited: httpx.AsyncClient, customer: Account
    ) -> None:
        for _ in range(3):
            assert_problem(await attempt(limited, customer.email), 401, "invalid_credentials")
        assert_rate_limited(await attempt(limited, customer.email, PASSWORD))

    async def test_unknown_emails_are_limited_alike(self, limited: httpx.AsyncClient) -> None:
        for _ in range(3):
            assert_problem(await attempt(limited, "nobody@example.com"), 401, "invalid_credentials")
        assert_rate_limited(await attempt(limited, "NOBODY@example.com"))

    async def test_the_limit_lifts_when_the_window_has_passed(
        self, limited: httpx.AsyncClient, customer: Account
    ) -> None:
        for _ in range(3):
            await attempt(limited, customer.email)
        retry_after = assert_rate_limited(await attempt(limited, customer.email, PASSWORD))
        await asyncio.sleep(retry_after + 0.1)
        assert (await attempt(limited, customer.email, PASSWORD)).status_code == 200

    async def test_a_successful_login_clears_the_failures(self, limited: httpx.AsyncClient, customer: Account) -> None:
        for _ in range(2):
            await attempt(limited, customer.email)
        assert (await attempt(limited, customer.email, PASSWORD)).status_code == 200
        for _ in range(2):
            assert (await attempt(limited, customer.email)).status_code == 401
        assert (await attempt(limited, customer.email, PASSWORD)).status_code == 200

    async def test_other_emails_are_not_affected(self, limited: httpx.AsyncClient, customer: Account) -> None:
        for _ in range(4):
            await attempt(limited, "attacked@example.com")
        assert (await attempt(limited, customer.email, PASSWORD)).status_code == 200


class TestLoginPerAddress:
    async def test_every_attempt_from_one_address_counts(self, limited: httpx.AsyncClient, customer: Account) -> None:
        # Six attempts on different emails (none reaches its own limit), then the address is spent.
        for n in range(5):
            await attempt(limited, f"guess{n}@example.com")
        assert (await attempt(limited, customer.email, PASSWORD)).status_code == 200
        assert_rate_limited(await attempt(limited, customer.email, PASSWORD))


class TestPasswordReset:
    async def test_requests_per_email_are_limited(self, limited: httpx.AsyncClient, customer: Account) -> None:
        for _ in range(2):
            assert (await limited.post(RESET, json={"email": customer.email})).status_code == 202
        assert_problem(await limited.post(RESET, json={"email": customer.email}), 429, "rate_limited")
        assert (await limited.post(RESET, json={"email": "someone-else@example.com"})).status_code == 202

    async def test_requests_per_address_are_limited_whatever_the_email(self, limited: httpx.AsyncClient) -> None:
        for n in range(4):
            assert (await limited.post(RESET, json={"email": f"victim{n}@example.com"})).status_code == 202
        refused = await limited.post(RESET, json={"email": "victim9@example.com"})
        assert_problem(refused, 429, "rate_limited")
        assert int(refused.headers["retry-after"]) >= 1

    async def test_unknown_emails_are_limited_alike(self, limited: httpx.AsyncClient) -> None:
        for _ in range(2):
            await limited.post(RESET, json={"email": "nobody@example.com"})
        assert_problem(await limited.post(RESET, json={"email": "nobody@example.com"}), 429, "rate_limited")


class TestRedisDown:
    @pytest.fixture
    async def app_without_redis(
        self, settings: Settings, resources: Resources, tmp_path: Path
    ) -> AsyncIterator[FastAPI]:
        # Nothing listens on port 1; the broker is the same dead URL (no event is published here).
        own = make_settings(settings.require_database_url(), "redis://127.0.0.1:1/0", tmp_path)
        async with running_app(own) as app:
            yield app

    async def test_login_still_works_and_the_outage_is_logged(
        self, app_without_redis: FastAPI, customer: Account, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.WARNING):
            async with client_for(app_without_redis) as client:
                assert (await attempt(client, customer.email, PASSWORD)).status_code == 200
                assert (await attempt(client, customer.email)).status_code == 401
        outages = [
            r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg["event"] == "ratelimit.unavailable"
        ]
        assert outages
