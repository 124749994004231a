"""Checkout limits per customer and per client address: 429 with Retry-After, shared by server processes."""

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from shop.core.config import Settings
from shop.core.idempotency import IdempotencyRecord
from shop.core.resources import Resources
from tests.fixtures.app import client_for, running_app
from tests.fixtures.auth import Account, create_user
from tests.fixtures.orders import ADDRESS, create_variants, items
from tests.fixtures.problems import assert_problem
from tests.fixtures.servers import RunningServer, run_server
from tests.fixtures.settings import make_settings, settings_env

WINDOW_SECONDS = 600
LIMITS = {"checkout_max_per_user": 3, "checkout_max_per_address": 5, "checkout_window_seconds": WINDOW_SECONDS}


async def checkout(
    client: httpx.AsyncClient, buyer: Account, variant: uuid.UUID, key: str | None = None
) -> httpx.Response:
    headers = {**buyer.headers, **({"Idempotency-Key": key} if key else {})}
    body = {"shipping_address": ADDRESS, "items": items((variant, 1))}
    return await client.post("/api/v1/orders", json=body, headers=headers)


def assert_rate_limited(response: httpx.Response) -> None:
    assert_problem(response, 429, "rate_limited")
    assert 1 <= int(response.headers["retry-after"]) <= WINDOW_SECONDS


@pytest.fixture
async def variant(resources: Resources) -> uuid.UUID:
    (variant_id,) = await create_variants(resources, [1000])
    return variant_id


def test_the_defaults(settings: Settings) -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (defaults.checkout_max_per_user, defaults.checkout_max_per_address) == (20, 100)
    assert defaults.checkout_window_seconds == 60 * 60


class TestInProcess:
    @pytest.fixture
    async def limited(
        self, settings: Settings, resources: Resources, tmp_path: Path
    ) -> AsyncIterator[httpx.AsyncClient]:
        own = make_settings(settings.require_database_url(), settings.require_redis_url(), tmp_path, **LIMITS)
        async with running_app(own) as app, client_for(app) as client:
            yield client

    async def test_a_customer_over_the_limit_gets_429_and_nothing_is_ordered(
        self, limited: httpx.AsyncClient, resources: Resources, variant: uuid.UUID
    ) -> None:
        buyer = await create_user(resources)
        for _ in range(3):
            assert (await checkout(limited, buyer, variant)).status_code == 201
        assert_rate_limited(await checkout(limited, buyer, variant))
        listed = (await limited.get("/api/v1/orders", headers=buyer.headers)).json()
        assert len(listed["items"]) == 3
        # Another customer from the same address still has room: every attempt so far counted
        # against the address (4 of 5), as for logins.
        assert (await checkout(limited, await create_user(resources), variant)).status_code == 201

    async def test_a_refused_checkout_does_not_become_the_keys_answer(
        self, limited: httpx.AsyncClient, resources: Resources, variant: uuid.UUID
    ) -> None:
        buyer = await create_user(resources)
        for _ in range(3):
            await checkout(limited, buyer, variant)
        assert_rate_limited(await checkout(limited, buyer, variant, key="after-the-limit"))
        async with resources.database.sessionmaker() as session:
            stored = await session.scalar(
                select(func.count()).where(IdempotencyRecord.key == "after-the-limit").select_from(IdempotencyRecord)
            )
        assert stored == 0

    async def test_a_replay_is_served_whatever_the_limits_and_is_not_counted(
        self, limited: httpx.AsyncClient, resources: Resources, variant: uuid.UUID
    ) -> None:
        buyer = await create_user(resources)
        first = await checkout(limited, buyer, variant, key="retried")
        assert first.status_code == 201
        for _ in range(6):  # a burst of retries of one checkout: more than the limit of 3
            replay = await checkout(limited, buyer, variant, key="retried")
            assert replay.status_code == 201, replay.text
            assert replay.headers["idempotent-replayed"] == "true"
            assert replay.json()["id"] == first.json()["id"]
        # Only the first created anything: two more orders fit in the limit, the third does not.
        assert (await checkout(limited, buyer, variant)).status_code == 201
        assert (await checkout(limited, buyer, variant)).status_code == 201
        assert_rate_limited(await checkout(limited, buyer, variant))
        replay = await checkout(limited, buyer, variant, key="retried")
        assert (replay.status_code, replay.headers["idempotent-replayed"]) == (201, "true")

    async def test_signing_in_comes_first(self, limited: httpx.AsyncClient, variant: uuid.UUID) -> None:
        response = await limited.post(
            "/api/v1/orders", json={"shipping_address": ADDRESS, "items": items((variant, 1))}
        )
        assert_problem(response, 401, "unauthorized")


class TestAcrossServerProcesses:
    """Two `shop serve` processes on one Redis: a limit reached through one holds on the other."""

    @pytest.fixture(scope="class")
    @classmethod
    def servers(cls, settings: Settings) -> Iterator[tuple[RunningServer, RunningServer]]:
        env = settings_env(settings, **LIMITS)
        with run_server(env) as first, run_server(env) as second:
            yield first, second

    @pytest.fixture
    async def http(
        self, servers: tuple[RunningServer, RunningServer]
    ) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
        async with (
            httpx.AsyncClient(base_url=servers[0].base_url, timeout=60) as first,
            httpx.AsyncClient(base_url=servers[1].base_url, timeout=60) as second,
        ):
            yield first, second

    async def test_per_customer(
        self, http: tuple[httpx.AsyncClient, httpx.AsyncClient], resources: Resources, variant: uuid.UUID
    ) -> None:
        buyer = await create_user(resources)
        for client in (http[0], http[1], http[0]):
            assert (await checkout(client, buyer, variant)).status_code == 201
        assert_rate_limited(await checkout(http[1], buyer, variant))
        assert_rate_limited(await checkout(http[0], buyer, variant))

    async def test_per_address(
        self, http: tuple[httpx.AsyncClient, httpx.AsyncClient], resources: Resources, variant: uuid.UUID
    ) -> None:
        for n in range(5):
            buyer = await create_user(resources)
            assert (await checkout(http[n % 2], buyer, variant)).status_code == 201
        assert_rate_limited(await checkout(http[1], await create_user(resources), variant))
        assert_rate_limited(await checkout(http[0], await create_user(resources), variant))
