"""Exactly one email per event when a worker dies mid-send or the broker is away for a while."""

import asyncio
import threading
import time
from pathlib import Path

import psutil

from shop import events
from shop.app import create_app
from shop.core.config import Settings
from shop.core.db import Database, unit_of_work
from shop.core.embedded import EmbeddedValkey
from shop.core.mailsink import Mailbox
from shop.core.outbox import DeliveryStatus, OutboxDelivery, OutboxEvent, record_event
from shop.core.resources import Resources, open_resources
from tests.fixtures.app import client_for, running_app
from tests.fixtures.auth import create_user
from tests.fixtures.emails import by_recipient, order_payload, welcome_payload
from tests.fixtures.invariants import audit_invariants
from tests.fixtures.orders import create_variants, place
from tests.fixtures.servers import free_port
from tests.fixtures.settings import settings_env
from tests.fixtures.waiting import eventually
from tests.fixtures.workers import RunningWorker, run_worker

# A checkout answers from PostgreSQL alone; one that waited on the stopped broker's connection
# attempts would take longer than this (generous: CI shares two cores).
REQUEST_BOUND_SECONDS = 5.0


def smtp_client_pid(workers: list[RunningWorker], smtp_port: int) -> RunningWorker:
    """The worker whose process tree holds a connection to the mail server right now."""
    for worker in workers:
        tree = [psutil.Process(worker.process.pid), *psutil.Process(worker.process.pid).children(recursive=True)]
        for process in tree:
            for connection in process.net_connections(kind="tcp"):
                if connection.raddr and connection.raddr.port == smtp_port:
                    return worker
    raise AssertionError("no worker is connected to the mail server")


async def test_a_worker_killed_while_sending_delivers_exactly_once_after_another_takes_over(
    settings: Settings,
    resources: Resources,
    mailbox: Mailbox,
    mail_server: tuple[Mailbox, int],
    tmp_path: Path,
) -> None:
    # A short visibility timeout: the broker hands an unacknowledged task to another worker soon.
    env = settings_env(settings, broker_visibility_timeout=6)
    victim = "victim@shop.test"
    sending = threading.Event()
    release = threading.Event()
    first_attempt = [True]

    def hold_first_attempt(address: str) -> None:
        if address == victim and first_attempt[0]:
            first_attempt[0] = False
            sending.set()
            release.wait(timeout=60)

    mailbox.rcpt_hook = hold_first_attempt
    try:
        with run_worker(env, settings, "kill-a", tmp_path) as a, run_worker(env, settings, "kill-b", tmp_path) as b:
            async with unit_of_work(resources.database) as session:
                event_id = record_event(session, events.USER_REGISTERED, welcome_payload(victim))
            await eventually(sending.is_set, 30, "a worker is in the middle of sending")
            smtp_client_pid([a, b], mail_server[1]).kill()
            release.set()
            await eventually(lambda: len(by_recipient(mailbox, victim)) >= 1, 90, "the other worker delivers")
            await asyncio.sleep(3)
        assert len(by_recipient(mailbox, victim)) == 1, "delivered exactly once"
        async with resources.database.sessionmaker() as session:
            delivery = await session.get(OutboxDelivery, (event_id, "emails.welcome"))
            assert delivery is not None
            assert delivery.status == DeliveryStatus.done
        await audit_invariants(resources.database, mailbox, emails_settled=True)
    finally:
        mailbox.rcpt_hook = None
        release.set()


async def test_with_the_broker_down_nothing_is_lost_and_each_email_goes_once_it_is_back(
    settings: Settings, resources: Resources, mailbox: Mailbox, tmp_path: Path
) -> None:
    broker = EmbeddedValkey(tmp_path / "broker", port=free_port())
    broker.start()
    own = settings.model_copy(update={"broker_url": broker.url()})
    try:
        # One worker with the schedule: its outbox sweep publishes what the down broker refused.
        with run_worker(settings_env(own), own, "outage", tmp_path, "--beat"):
            broker.stop()
            async with open_resources(own) as writer:
                addresses = [f"outage-{index}@shop.test" for index in range(10)]
                for address in addresses:
                    async with unit_of_work(writer.database) as session:
                        record_event(session, events.USER_REGISTERED, welcome_payload(address))
                await asyncio.sleep(3)  # the immediate relays fail meanwhile
            assert mailbox.messages == []
            broker.start()
            await eventually(lambda: len(mailbox.messages) >= len(addresses), 90, "every email once the broker is back")
            await asyncio.sleep(3)
        received = sorted(message["To"] for message in mailbox.messages)
        assert received == sorted(addresses), "each email exactly once"
        await audit_invariants(resources.database, mailbox, emails_settled=True)
    finally:
        broker.stop()


async def test_with_the_broker_down_checkouts_are_accepted_and_each_order_email_goes_once_it_is_back(
    settings: Settings, mailbox: Mailbox, tmp_path: Path
) -> None:
    broker = EmbeddedValkey(tmp_path / "broker", port=free_port())
    broker.start()
    own = settings.model_copy(update={"broker_url": broker.url()})
    try:
        with run_worker(settings_env(own), own, "orders-outage", tmp_path, "--beat"):
            broker.stop()
            async with running_app(own, create_app(own)) as app, client_for(app) as client:
                shop: Resources = app.state.resources
                (variant,) = await create_variants(shop, [20])
                buyers = [await create_user(shop) for _ in range(5)]
                for buyer in buyers:
                    started = time.monotonic()
                    await place(client, buyer, (variant, 1))  # 201: the order does not wait on the broker
                    assert time.monotonic() - started < REQUEST_BOUND_SECONDS
                await asyncio.sleep(3)  # the immediate relays fail meanwhile
                assert mailbox.messages == []
                broker.start()

                def each_buyer_has_mail() -> bool:
                    return all(by_recipient(mailbox, buyer.email) for buyer in buyers)

                await eventually(each_buyer_has_mail, 90, "every order email once the broker is back")
                await asyncio.sleep(3)
                assert all(len(by_recipient(mailbox, buyer.email)) == 1 for buyer in buyers), "each email once"
                await audit_invariants(shop.database, mailbox, emails_settled=True)
    finally:
        broker.stop()


async def test_an_event_whose_relay_was_lost_goes_out_with_the_sweep(
    own_broker: Settings, resources: Resources, mailbox: Mailbox, tmp_path: Path
) -> None:
    # Sessions of a Database of its own carry no relay: committed, then nothing publishes it, as
    # when a process dies between its commit and its relay.
    lost = Database(own_broker)
    try:
        async with unit_of_work(lost) as session:
            event_id = record_event(session, events.ORDER_CANCELLED, order_payload("SO-000301", "lost@shop.test"))
    finally:
        await lost.dispose()
    async with resources.database.sessionmaker() as session:
        event = await session.get(OutboxEvent, event_id)
        assert event is not None
        assert event.published_at is None
    # The schedule's sweep runs every 5 s, each run expiring after that: a broker of its own
    # keeps it from queueing behind tasks that other tests left.
    with run_worker(settings_env(own_broker, data_dir=tmp_path), own_broker, "sweeper", tmp_path, "--beat"):
        await eventually(lambda: len(by_recipient(mailbox, "lost@shop.test")) == 1, 20, "the sweep sends the email")
