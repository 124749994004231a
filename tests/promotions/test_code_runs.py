"""Bulk code runs under concurrency: one at a time without queueing, idempotent retries, and never
in a checkout's way."""

import asyncio
import importlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from shop.core.resources import Resources
from shop.promotions.models import PromotionCode
from tests.fixtures.auth import Account
from tests.fixtures.problems import assert_problem
from tests.fixtures.promotion_admin import PROMOTIONS, create_promotion

repository = importlib.import_module("shop.promotions.repository")
# Generous: a run that queues instead of answering at once would take the whole test down.
NO_QUEUE = 10


@pytest.fixture
async def promotion(client: httpx.AsyncClient, staff: Account) -> str:
    created = await create_promotion(client, staff.headers)
    return str(created["id"])


async def code_count(resources: Resources, promotion_id: str) -> int:
    async with resources.database.sessionmaker() as session:
        query = select(func.count()).where(PromotionCode.promotion_id == uuid.UUID(promotion_id))
        return int(await session.scalar(query) or 0)


@asynccontextmanager
async def bulk_turn_taken(resources: Resources) -> AsyncIterator[AsyncConnection]:
    """Another bulk run's turn, held by the test until the block ends."""
    async with resources.database.engine.connect() as connection:
        transaction = await connection.begin()
        await connection.execute(select(func.pg_advisory_xact_lock(repository.BULK_CODES_LOCK)))
        try:
            yield connection
        finally:
            await transaction.rollback()


class TestOneRunAtATime:
    async def test_a_run_while_another_runs_is_a_409_at_once_with_retry_after(
        self, client: httpx.AsyncClient, staff: Account, promotion: str, resources: Resources
    ) -> None:
        url = f"{PROMOTIONS}/{promotion}/codes/bulk"
        async with bulk_turn_taken(resources):
            response = await asyncio.wait_for(client.post(url, json={"count": 5}, headers=staff.headers), NO_QUEUE)
        assert_problem(response, 409, "bulk_generation_in_progress")
        assert int(response.headers["Retry-After"]) >= 1
        assert await code_count(resources, promotion) == 0
        assert (await client.post(url, json={"count": 5}, headers=staff.headers)).status_code == 201

    async def test_concurrent_runs_are_201_or_409_never_500(
        self, client: httpx.AsyncClient, staff: Account, resources: Resources
    ) -> None:
        targets = [str((await create_promotion(client, staff.headers, name=f"P{n}"))["id"]) for n in range(2)]
        requests = [
            client.post(f"{PROMOTIONS}/{targets[n % 2]}/codes/bulk", json={"count": 2000}, headers=staff.headers)
            for n in range(5)
        ]
        responses = await asyncio.gather(*requests)
        statuses = sorted(response.status_code for response in responses)
        assert set(statuses) <= {201, 409} and 201 in statuses, [r.text for r in responses]
        for response in responses:
            if response.status_code == 409:
                assert_problem(response, 409, "bulk_generation_in_progress")
        made = sum([await code_count(resources, target) for target in targets])
        assert made == 2000 * statuses.count(201)

    async def test_a_run_does_not_hold_up_a_checkout_taking_a_use(
        self,
        client: httpx.AsyncClient,
        staff: Account,
        promotion: str,
        resources: Resources,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # The run stops inside its transaction, with the promotion locked as a run locks it.
        inserting, finish = asyncio.Event(), asyncio.Event()
        insert_new_codes = repository.insert_new_codes

        async def paused(*args: Any, **kwargs: Any) -> int:
            inserting.set()
            await finish.wait()
            return int(await insert_new_codes(*args, **kwargs))

        monkeypatch.setattr(repository, "insert_new_codes", paused)
        run = asyncio.create_task(
            client.post(f"{PROMOTIONS}/{promotion}/codes/bulk", json={"count": 3}, headers=staff.headers)
        )
        await asyncio.wait_for(inserting.wait(), NO_QUEUE)
        try:
            async with resources.database.engine.connect() as connection, connection.begin():
                await connection.execute(text("SET LOCAL lock_timeout = '1s'"))
                taken = await connection.execute(
                    text("UPDATE promotion SET uses = uses + 1 WHERE id = :id"), {"id": uuid.UUID(promotion)}
                )
                assert taken.rowcount == 1  # type: ignore[attr-defined]
        finally:
            finish.set()
        assert (await run).status_code == 201


class TestIdempotentRuns:
    async def test_a_retry_with_the_key_gets_the_first_answer_and_no_more_codes(
        self, client: httpx.AsyncClient, staff: Account, promotion: str, resources: Resources
    ) -> None:
        url = f"{PROMOTIONS}/{promotion}/codes/bulk"
        headers = {**staff.headers, "Idempotency-Key": "run-1"}
        first = await client.post(url, json={"count": 50}, headers=headers)
        retry = await client.post(url, json={"count": 50}, headers=headers)
        assert (first.status_code, retry.status_code) == (201, 201), retry.text
        assert retry.json() == first.json() == {"created": 50, "prefix": None}
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert await code_count(resources, promotion) == 50
        other = await client.post(url, json={"count": 50}, headers={**staff.headers, "Idempotency-Key": "run-2"})
        assert other.status_code == 201
        assert await code_count(resources, promotion) == 100

    async def test_the_key_with_another_body_is_a_422(
        self, client: httpx.AsyncClient, staff: Account, promotion: str
    ) -> None:
        url = f"{PROMOTIONS}/{promotion}/codes/bulk"
        headers = {**staff.headers, "Idempotency-Key": "run-1"}
        assert (await client.post(url, json={"count": 5}, headers=headers)).status_code == 201
        assert_problem(await client.post(url, json={"count": 6}, headers=headers), 422, "idempotency_key_reused")

    async def test_a_run_refused_for_another_run_gives_its_key_back(
        self, client: httpx.AsyncClient, staff: Account, promotion: str, resources: Resources
    ) -> None:
        url = f"{PROMOTIONS}/{promotion}/codes/bulk"
        headers = {**staff.headers, "Idempotency-Key": "run-1"}
        async with bulk_turn_taken(resources):
            refused = await asyncio.wait_for(client.post(url, json={"count": 5}, headers=headers), NO_QUEUE)
        assert_problem(refused, 409, "bulk_generation_in_progress")
        retry = await client.post(url, json={"count": 5}, headers=headers)
        assert retry.status_code == 201, retry.text
        assert "Idempotent-Replayed" not in retry.headers
        assert await code_count(resources, promotion) == 5


class PausedDownload:
    """A GET through the app's whole ASGI stack whose client stops reading after each chunk it got,
    until the test asks for the next one: a slow client, without sockets or timing."""

    def __init__(self, app: Any, path: str, headers: dict[str, str]) -> None:
        self.chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self.resume = asyncio.Event()
        self.done = asyncio.Event()
        raw_headers = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"test"), *raw_headers],
            "client": ("127.0.0.1", 1234),
            "server": ("test", 80),
        }
        self.task = asyncio.create_task(app(scope, self._receive, self._send))
        self._requested = False
        self.flowing = False

    async def _receive(self) -> dict[str, Any]:
        if not self._requested:
            self._requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.done.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200, message
        elif message["type"] == "http.response.body" and message.get("body"):
            await self.chunks.put(message["body"])
            if not self.flowing:
                # The client reads no more until told to: the server's next send waits.
                await self.resume.wait()
                self.resume.clear()

    async def next_chunk(self) -> bytes:
        return await asyncio.wait_for(self.chunks.get(), NO_QUEUE)

    async def close(self) -> None:
        """The client goes away: whatever the server still holds for the response is let go."""
        self.done.set()
        if not self.task.done():
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    async def rest(self) -> bytes:
        """Read on without pausing, to the end of the response."""
        self.flowing = True
        self.resume.set()
        await asyncio.wait_for(self.task, NO_QUEUE)
        self.done.set()
        received = b""
        while not self.chunks.empty():
            received += self.chunks.get_nowait()
        return received


async def export_transactions_open(resources: Resources) -> int:
    """Sessions of this database left in a transaction by a read of promotion codes."""
    async with resources.database.engine.connect() as connection:
        count = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND state LIKE 'idle in transaction%' AND query LIKE '%promotion_code%'"
            )
        )
    return int(count or 0)


class TestExportAtTheClientsPace:
    async def test_a_paused_download_holds_no_connection_nor_transaction(
        self,
        app: Any,
        client: httpx.AsyncClient,
        staff: Account,
        promotion: str,
        resources: Resources,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(importlib.import_module("shop.promotions.service.codes"), "EXPORT_PAGE", 10)
        await client.post(f"{PROMOTIONS}/{promotion}/codes/bulk", json={"count": 25}, headers=staff.headers)
        download = PausedDownload(app, f"{PROMOTIONS}/{promotion}/codes.csv", staff.headers)
        try:
            received = await download.next_chunk()
            if received == b"code,max_uses,uses,created_at\n":
                download.resume.set()
                received += await download.next_chunk()
            # Paused after the header and the first page: the download waits on the client alone.
            assert received.count(b"\n") == 11
            assert await export_transactions_open(resources) == 0
            received += await download.rest()
            assert received.count(b"\n") == 26
        finally:
            await download.close()
