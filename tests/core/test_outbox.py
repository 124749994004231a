"""The outbox with real workers on the real broker: nothing lost, nothing done twice."""

import asyncio
import json
from collections.abc import Iterator

import pytest
import structlog
from sqlalchemy import func, select, text

from shop.core.config import Settings
from shop.core.db import Database, new_id, unit_of_work
from shop.core.outbox import (
    DeliveryStatus,
    Event,
    OutboxDelivery,
    OutboxEvent,
    handles_guarded,
    record_event,
    relay_pending,
    run_handler,
)
from shop.core.resources import Resources
from tests.fixtures import probe_events
from tests.fixtures.invariants import audit_invariants
from tests.fixtures.probe_events import PROBE_WORKER, received
from tests.fixtures.settings import settings_env
from tests.fixtures.waiting import eventually
from tests.fixtures.workers import RunningWorker, run_worker


@pytest.fixture(scope="module")
def worker(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningWorker]:
    env = settings_env(settings)
    with run_worker(env, settings, "outbox", tmp_path_factory.mktemp("logs"), *PROBE_WORKER) as running:
        yield running


class TestRecording:
    async def test_an_event_of_a_rolled_back_transaction_is_never_published(
        self, resources: Resources, worker: RunningWorker
    ) -> None:
        lost = None
        try:
            async with unit_of_work(resources.database) as session:
                lost = record_event(session, probe_events.COUNTED, {"n": 1})
                raise LookupError("the business change failed")
        except LookupError:
            pass
        assert lost is not None
        async with unit_of_work(resources.database) as session:
            kept = record_event(session, probe_events.COUNTED, {"n": 2})

        async def kept_arrived() -> bool:
            return await received(resources) == [kept]

        await eventually(kept_arrived, 30, "the committed event is handled")
        assert await relay_pending(resources.database, resources.publish) == 0
        async with resources.database.sessionmaker() as session:
            assert await session.get(OutboxEvent, lost) is None
        assert await received(resources) == [kept]

    async def test_the_request_id_travels_into_the_handlers_log(
        self, resources: Resources, worker: RunningWorker
    ) -> None:
        with structlog.contextvars.bound_contextvars(request_id="req-travels-1"):
            async with unit_of_work(resources.database) as session:
                event_id = record_event(session, probe_events.COUNTED, {})

        async def arrived() -> bool:
            return event_id in await received(resources)

        await eventually(arrived, 30, "the event is handled")

        def logged() -> bool:
            for line in worker.log().splitlines():
                if line.startswith("{") and '"outbox.handled"' in line:
                    entry = json.loads(line)
                    if entry.get("event_id") == str(event_id):
                        assert entry["request_id"] == "req-travels-1"
                        assert entry["handler"] == "probe.count"
                        return True
            return False

        await eventually(logged, 10, "the worker logs the handled event with its request id")


async def test_ten_thousand_events_from_concurrent_writers_each_handled_once(
    settings: Settings, resources: Resources, probe_tables: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    writers, per_writer, per_transaction = 20, 500, 25
    total = writers * per_writer
    # Writers without the immediate relay: everything goes out through the two sweeping relays.
    plain = Database(settings)
    env = settings_env(settings)
    logs = tmp_path_factory.mktemp("logs")

    async def write(writer: int) -> None:
        for batch in range(per_writer // per_transaction):
            async with unit_of_work(plain) as session:
                for index in range(per_transaction):
                    record_event(
                        session, probe_events.COUNTED, {"writer": writer, "n": batch * per_transaction + index}
                    )

    done_writing = asyncio.Event()

    async def relay_loop() -> None:
        while True:
            published = await relay_pending(resources.database, resources.publish, limit=200)
            if not published:
                if done_writing.is_set():
                    return
                await asyncio.sleep(0.05)

    with (
        run_worker(env, settings, "bulk-a", logs, *PROBE_WORKER, concurrency=2),
        run_worker(env, settings, "bulk-b", logs, *PROBE_WORKER, concurrency=2),
    ):
        relays = [asyncio.create_task(relay_loop()) for _ in range(2)]
        await asyncio.gather(*(write(w) for w in range(writers)))
        done_writing.set()
        await asyncio.gather(*relays)

        async def all_handled() -> bool:
            async with resources.database.engine.connect() as connection:
                handled = await connection.scalar(text("SELECT count(*) FROM probe_received"))
            return bool(handled >= total)

        await eventually(all_handled, 300, f"{total} events handled")
        await asyncio.sleep(1)  # a duplicate, if any, would land now
    await plain.dispose()

    async with resources.database.engine.connect() as connection:
        rows, distinct = (
            await connection.execute(text("SELECT count(*), count(DISTINCT event_id) FROM probe_received"))
        ).one()
        pending = await connection.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None))
        )
        done = await connection.scalar(
            select(func.count()).select_from(OutboxDelivery).where(OutboxDelivery.status == DeliveryStatus.done)
        )
    assert (rows, distinct) == (total, total), "every event handled exactly once"
    assert pending == 0
    assert done == total
    await audit_invariants(resources.database)


GUARDED = "probe.guarded"
guarded_runs: list[bool] = []  # what each run of the guarded probe answered


@handles_guarded(GUARDED, "probe.guarded")
async def guarded_probe(database: Database, event: Event, _: Settings) -> bool:
    # Outside any delivery transaction: its delivery row is free to lock while it runs.
    async with database.sessionmaker() as session:
        await session.execute(
            select(OutboxDelivery).where(OutboxDelivery.event_id == event.id).with_for_update(nowait=True)
        )
    settled = bool(event.payload["settle_on"] == len(guarded_runs) + 1)
    guarded_runs.append(settled)
    return settled


class TestGuardedHandler:
    async def test_it_runs_outside_the_delivery_transaction_until_its_work_is_settled(
        self, resources: Resources, settings: Settings
    ) -> None:
        guarded_runs.clear()
        event_id = new_id()
        # Added as a row, not recorded: no relay publishes it to a worker that does not know it.
        async with unit_of_work(resources.database) as session:
            session.add(OutboxEvent(id=event_id, type=GUARDED, payload={"settle_on": 2}))

        async def deliver() -> bool:
            return await run_handler(resources.database, settings, "probe.guarded", event_id)

        async def status() -> str | None:
            async with resources.database.sessionmaker() as session:
                return await session.scalar(select(OutboxDelivery.status).where(OutboxDelivery.event_id == event_id))

        assert not await deliver(), "held elsewhere: not settled"
        assert await status() is None, "the delivery stays open for the next time it is sent"
        assert await deliver()
        assert await status() == DeliveryStatus.done
        assert not await deliver(), "a done delivery does not run again"
        assert guarded_runs == [False, True]
