"""Money moves once, and never inside a transaction that can still fail.

Each test makes one step of a charge or a refund fail (the provider down, its answer lost after
the money moved, the commit of the outcome refused by the database) and then checks that the
order ends as the provider's ledger says: charged at most once, refunded at most once, and paid
or refunded exactly when the money is there or back. The provider is the sandbox, whose ledger
lives in Redis like a real provider's lives at the provider.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from shop.core.db import unit_of_work
from shop.core.mailsink import Mailbox
from shop.core.resources import Resources
from shop.orders import sandbox
from shop.orders.models import Refund
from shop.orders.repository import lock_unpaid_before
from shop.orders.sandbox import Fault
from shop.orders.schemas import PaymentStatus, RefundStatus
from shop.orders.service.reconciliation import reconcile
from tests.fixtures import contract
from tests.fixtures.auth import Account, outbox_events
from tests.fixtures.invariants import audit_invariants
from tests.fixtures.orders import (
    create_variants,
    deliver,
    event,
    pay,
    payment_rows,
    place_order,
    refunded,
    signed,
    stock_of,
)

# A provider call fails after this long, and its intent may be settled by others after thrice it.
SHORT_TIMEOUT = 0.05
LEASE = 3 * SHORT_TIMEOUT


@pytest.fixture
async def order(client: httpx.AsyncClient, resources: Resources, customer: Account) -> dict[str, Any]:
    (variant,) = await create_variants(resources, [5], prices=[2500])
    placed = await place_order(client, customer, (variant, 2))
    placed["variant_id"] = variant
    return placed


@pytest.fixture
def short_leases(resources: Resources, monkeypatch: pytest.MonkeyPatch) -> None:
    """Intents whose request gave up may be settled by others almost at once."""
    monkeypatch.setattr(resources.settings, "payment_provider_timeout_seconds", SHORT_TIMEOUT)


Arm = Callable[[str, str], Awaitable[None]]


@pytest.fixture
async def failing_commits(resources: Resources) -> AsyncIterator[Arm]:
    """`arm(table, status)`: every COMMIT that leaves a row of `table` in `status` fails, as a
    commit refused by the database (a deferred constraint checked at commit time) does."""
    armed: list[str] = []

    async def arm(table: str, status: str) -> None:
        async with unit_of_work(resources.database) as session:
            await session.execute(
                text(
                    "CREATE OR REPLACE FUNCTION test_refuse_commit() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'the commit is refused (injected)'; END $$"
                )
            )
            await session.execute(
                text(
                    f"CREATE CONSTRAINT TRIGGER test_refuse_commit AFTER UPDATE ON {table} "
                    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                    f"WHEN (NEW.status = '{status}') EXECUTE FUNCTION test_refuse_commit()"
                )
            )
        armed.append(table)

    # The refused commit is a failure no code of the shop expects: its answer is the 500 of any
    # such failure, which no operation declares (tests/fixtures/contract.py).
    with contract.RECORDER.expecting_crashes():
        yield arm
    await disarm(resources, armed)


async def disarm(resources: Resources, tables: list[str]) -> None:
    async with unit_of_work(resources.database) as session:
        for table in tables:
            await session.execute(text(f"DROP TRIGGER IF EXISTS test_refuse_commit ON {table}"))
    tables.clear()


async def order_status(client: httpx.AsyncClient, account: Account, order_id: str) -> str:
    status: str = (await client.get(f"/api/v1/orders/{order_id}", headers=account.headers)).json()["status"]
    return status


async def refund_rows(resources: Resources, order_id: str) -> list[RefundStatus]:
    async with resources.database.sessionmaker() as session:
        return list((await session.scalars(select(Refund.status).where(Refund.order_id == uuid.UUID(order_id)))).all())


async def charged(resources: Resources, order_id: str) -> int:
    return await sandbox.charges_of(resources.redis, uuid.UUID(order_id))


async def paid_order(client: httpx.AsyncClient, customer: Account, order: dict[str, Any]) -> None:
    assert (await pay(client, customer, order["id"])).status_code == 200


def refund_path(order: dict[str, Any]) -> str:
    return f"/api/v1/admin/orders/{order['id']}/refund"


class TestCharge:
    async def test_an_answer_lost_after_the_charge_is_found_by_the_retry(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        customer: Account,
        order: dict[str, Any],
        short_leases: None,
    ) -> None:
        await sandbox.inject_faults(resources.redis, Fault.lose_answer)
        lost = await pay(client, customer, order["id"])
        assert lost.status_code == 502
        assert await charged(resources, order["id"]) == 1, "the provider took the money"
        assert await order_status(client, customer, order["id"]) == "pending_payment"
        assert [status for status, _ in await payment_rows(resources, order["id"])] == [PaymentStatus.pending]
        # Within the lease nobody may conclude the provider never got it: the money may be moving.
        early = await pay(client, customer, order["id"])
        assert (early.status_code, early.json()["code"]) == (409, "payment_in_progress")
        assert int(early.headers["Retry-After"]) >= 1

        await asyncio.sleep(LEASE)
        retried = await pay(client, customer, order["id"])
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "paid"
        assert await charged(resources, order["id"]) == 1, "the retry found the charge instead of making another"
        ((status, reference),) = await payment_rows(resources, order["id"])
        assert status is PaymentStatus.succeeded and reference is not None
        assert len(await outbox_events(resources, "order.paid")) == 1
        await audit_invariants(resources.database)

    async def test_a_provider_down_charges_nothing_and_the_next_card_pays(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        customer: Account,
        order: dict[str, Any],
        short_leases: None,
    ) -> None:
        await sandbox.inject_faults(resources.redis, Fault.down)
        assert (await pay(client, customer, order["id"])).status_code == 502
        assert await charged(resources, order["id"]) == 0
        assert (await pay(client, customer, order["id"])).status_code == 200
        statuses = [status for status, _ in await payment_rows(resources, order["id"])]
        assert statuses == [PaymentStatus.failed, PaymentStatus.succeeded]
        assert await charged(resources, order["id"]) == 1
        await audit_invariants(resources.database)

    async def test_a_refused_commit_of_the_outcome_is_settled_by_the_reconciliation(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        customer: Account,
        order: dict[str, Any],
        short_leases: None,
        failing_commits: Arm,
    ) -> None:
        await failing_commits("payment", "succeeded")
        failed = await pay(client, customer, order["id"])
        assert failed.status_code >= 500
        assert await charged(resources, order["id"]) == 1
        assert await order_status(client, customer, order["id"]) == "pending_payment"
        assert [status for status, _ in await payment_rows(resources, order["id"])] == [PaymentStatus.pending]
        await disarm(resources, ["payment"])

        await asyncio.sleep(LEASE)
        settled = await reconcile(resources)
        assert settled.charges == 1
        assert await order_status(client, customer, order["id"]) == "paid"
        assert await charged(resources, order["id"]) == 1
        assert (await reconcile(resources)).charges == 0, "nothing is left to settle"
        assert len(await outbox_events(resources, "order.paid")) == 1
        await audit_invariants(resources.database)

    async def test_while_an_attempt_is_in_flight_pay_and_cancel_wait_and_the_expiry_skips_it(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, order: dict[str, Any]
    ) -> None:
        await sandbox.set_latency(resources.redis, 1500)
        first = asyncio.create_task(pay(client, customer, order["id"]))
        await _until_pending(resources, order["id"])
        second = await pay(client, customer, order["id"])
        assert second.status_code == 409
        assert second.json()["code"] == "payment_in_progress"
        assert int(second.headers["Retry-After"]) >= 1
        cancel = await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer.headers)
        assert cancel.status_code == 409
        assert cancel.json()["code"] == "payment_in_progress"
        async with resources.database.sessionmaker() as session:
            assert await lock_unpaid_before(session, timedelta(0), 10) == [], "the expiry leaves it alone"
        assert (await first).status_code == 200
        assert await charged(resources, order["id"]) == 1
        await audit_invariants(resources.database)

    async def test_a_charge_for_an_order_paid_meanwhile_by_another_charge_goes_back(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        customer: Account,
        order: dict[str, Any],
        webhook_secret: str,
    ) -> None:
        await sandbox.set_latency(resources.redis, 1000)
        attempt = asyncio.create_task(pay(client, customer, order["id"]))
        await _until_pending(resources, order["id"])
        # The provider reports another charge of the order (a second tab) while ours is in flight.
        body = event(order, reference="ch_from_another_tab")
        assert (await deliver(client, body, signed(webhook_secret, body))).status_code == 200
        assert (await attempt).status_code == 200
        references = {reference: status for status, reference in await payment_rows(resources, order["id"])}
        assert references["ch_from_another_tab"] is PaymentStatus.succeeded
        ours = [reference for reference in references if reference and reference.startswith("test_ch_")]
        assert len(ours) == 1 and references[ours[0]] is PaymentStatus.refunded
        assert await sandbox.refunds_of(resources.redis, ours[0]) == 1
        assert await order_status(client, customer, order["id"]) == "paid"
        await audit_invariants(resources.database)


class TestRefund:
    async def test_an_answer_lost_after_the_refund_is_not_refunded_again_by_the_retry(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        customer: Account,
        staff: Account,
        order: dict[str, Any],
        mailbox: Mailbox,
    ) -> None:
        await paid_order(client, customer, order)
        await sandbox.inject_faults(resources.redis, Fault.lose_answer)
        lost = await client.post(refund_path(order), headers=staff.headers)
        assert lost.status_code == 502
        assert await refunded(resources, order["id"]) == 1, "the provider gave the money back"
        assert await order_status(client, customer, order["id"]) == "paid"
        assert await refund_rows(resources, order["id"]) == [RefundStatus.pending]
        shipped = await client.post(
            f"/api/v1/admin/orders/{order['id']}/ship",
            json={"carrier": "DHL", "tracking_number": "1Z"},
            headers=staff.headers,
        )
        assert shipped.status_code == 409, "an order being refunded does not ship"

        retried = await client.post(refund_path(order), headers=staff.headers)
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "refunded"
        assert await refunded(resources, order["id"]) == 1
        assert await stock_of(resources, order["variant_id"]) == [5]
        assert len(await outbox_events(resources, "order.refunded")) == 1
        await audit_invariants(resources.database, mailbox)

    async def test_a_provider_down_leaves_the_refund_to_the_reconciliation(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, staff: Account, order: dict[str, Any]
    ) -> None:
        await paid_order(client, customer, order)
        await sandbox.inject_faults(resources.redis, Fault.down)
        assert (await client.post(refund_path(order), headers=staff.headers)).status_code == 502
        assert await refunded(resources, order["id"]) == 0
        settled = await reconcile(resources)  # a failed call may be asked again at once
        assert settled.refunds == 1
        assert await order_status(client, customer, order["id"]) == "refunded"
        assert await refunded(resources, order["id"]) == 1
        assert await stock_of(resources, order["variant_id"]) == [5]
        assert len(await outbox_events(resources, "order.refunded")) == 1
        await audit_invariants(resources.database)

    async def test_a_refused_commit_of_the_outcome_is_settled_once(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        customer: Account,
        staff: Account,
        order: dict[str, Any],
        short_leases: None,
        failing_commits: Arm,
    ) -> None:
        await paid_order(client, customer, order)
        await failing_commits("refund", "succeeded")
        failed = await client.post(refund_path(order), headers=staff.headers)
        assert failed.status_code >= 500
        assert await refunded(resources, order["id"]) == 1
        assert await order_status(client, customer, order["id"]) == "paid"
        assert await refund_rows(resources, order["id"]) == [RefundStatus.pending]
        await disarm(resources, ["refund"])

        await asyncio.sleep(LEASE)
        assert (await reconcile(resources)).refunds == 1
        assert await order_status(client, customer, order["id"]) == "refunded"
        assert await refunded(resources, order["id"]) == 1
        assert (await reconcile(resources)).refunds == 0
        await audit_invariants(resources.database)

    async def test_concurrent_refunds_and_cancels_refund_once(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, staff: Account, order: dict[str, Any]
    ) -> None:
        await paid_order(client, customer, order)
        await sandbox.set_latency(resources.redis, 200)
        answers = await asyncio.gather(
            *[client.post(refund_path(order), headers=staff.headers) for _ in range(4)],
            *[client.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer.headers) for _ in range(2)],
        )
        assert {answer.status_code for answer in answers} <= {200, 409, 502}
        assert any(answer.status_code == 200 for answer in answers)
        await reconcile(resources)
        assert await order_status(client, customer, order["id"]) == "refunded"
        assert await refunded(resources, order["id"]) == 1
        assert await stock_of(resources, order["variant_id"]) == [5]
        await audit_invariants(resources.database)

    async def test_money_given_back_by_the_webhook_path_is_retried_by_the_reconciliation(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        customer: Account,
        order: dict[str, Any],
        webhook_secret: str,
    ) -> None:
        await paid_order(client, customer, order)
        await sandbox.inject_faults(resources.redis, Fault.down)
        body = event(order, reference="ch_paid_twice")
        assert (await deliver(client, body, signed(webhook_secret, body))).status_code == 200
        assert await sandbox.refunds_of(resources.redis, "ch_paid_twice") == 0
        assert (await reconcile(resources)).refunds == 1
        assert await sandbox.refunds_of(resources.redis, "ch_paid_twice") == 1
        assert (PaymentStatus.refunded, "ch_paid_twice") in await payment_rows(resources, order["id"])
        assert await order_status(client, customer, order["id"]) == "paid"
        await audit_invariants(resources.database)


async def _until_pending(resources: Resources, order_id: str) -> None:
    for _ in range(500):
        if PaymentStatus.pending in [status for status, _ in await payment_rows(resources, order_id)]:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no attempt was recorded")
