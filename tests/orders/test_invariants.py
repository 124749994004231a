"""The invariant audit itself: quiet on a shop that did real work, loud on each kind of corruption."""

import asyncio
import copy
import smtplib
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from shop.core import outbox
from shop.core.db import new_id, unit_of_work
from shop.core.idempotency import IdempotencyRecord
from shop.core.mailsink import Mailbox
from shop.core.resources import Resources
from tests.fixtures.auth import Account
from tests.fixtures.invariants import InvariantsBroken, Violation, audit_invariants, find_violations, trail_start
from tests.fixtures.orders import ADDRESS, create_variants, pay, place, place_order


async def execute(resources: Resources, sql: str, **params: Any) -> None:
    async with unit_of_work(resources.database) as session:
        await session.execute(text(sql), params)


def only(violations: list[Violation], rule: str) -> list[str]:
    return [str(violation) for violation in violations if violation.rule == rule]


async def run_email(resources: Resources, event_type: str) -> uuid.UUID:
    """Deliver the first event of `event_type` through its email handler, in this process."""
    async with resources.database.sessionmaker() as session:
        event_id = await session.scalar(
            select(outbox.OutboxEvent.id).where(outbox.OutboxEvent.type == event_type).order_by(outbox.OutboxEvent.id)
        )
    assert event_id is not None
    (handler,) = [h for h in outbox.handlers_for(event_type) if h.name.startswith("emails.")]
    assert await outbox.run_handler(resources.database, resources.settings, handler.name, event_id)
    return event_id


def resend(resources: Resources, message: Any) -> None:
    settings = resources.settings
    assert settings.smtp_host is not None
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)


@pytest.fixture
async def busy_shop(
    client: httpx.AsyncClient, resources: Resources, customer: Account, staff: Account
) -> dict[str, Any]:
    """A shop after real work: orders in several statuses, a staff adjustment, keyed checkouts."""
    shirt, scarf = await create_variants(resources, [10, 4])
    paid = await place_order(client, customer, (shirt, 2), (scarf, 1))
    assert (await pay(client, customer, paid["id"])).status_code == 200
    cancelled = await place_order(client, customer, (shirt, 3))
    assert (await client.post(f"/api/v1/orders/{cancelled['id']}/cancel", headers=customer.headers)).status_code == 200
    refunded = await place_order(client, customer, (scarf, 2))
    await pay(client, customer, refunded["id"])
    assert (
        await client.post(f"/api/v1/admin/orders/{refunded['id']}/refund", headers=staff.headers)
    ).status_code == 200
    adjusted = await client.post(
        f"/api/v1/admin/variants/{shirt}/stock", json={"delta": 5, "reason": "delivery"}, headers=staff.headers
    )
    assert adjusted.status_code == 200
    keyed = (await place(client, customer, (shirt, 1), key="key-a")).json()
    other = (await place(client, customer, (shirt, 1), key="key-b")).json()
    await place(client, customer, (scarf, 99), key="key-short", expect=409)
    return {"shirt": shirt, "scarf": scarf, "paid": paid, "keyed": keyed, "other": other}


class TestAHealthyShop:
    async def test_real_work_breaks_no_rule(
        self, busy_shop: dict[str, Any], resources: Resources, mailbox: Mailbox
    ) -> None:
        await run_email(resources, "order.placed")
        await run_email(resources, "order.paid")
        assert await find_violations(resources.database, mailbox) == []
        await audit_invariants(resources.database.engine, mailbox)

    async def test_an_empty_shop_breaks_no_rule(self, resources: Resources, mailbox: Mailbox) -> None:
        await audit_invariants(resources.database, mailbox, emails_settled=True)


class TestStock:
    async def test_a_stock_that_disagrees_with_its_movements(
        self, busy_shop: dict[str, Any], resources: Resources
    ) -> None:
        await execute(resources, "UPDATE variant SET stock = stock + 1 WHERE id = :id", id=busy_shop["shirt"])
        (found,) = only(await find_violations(resources.database), "stock")
        assert f"variant {busy_shop['shirt']}" in found
        assert "is not where its movements lead" in found

    async def test_a_variant_with_no_movements_that_lost_units(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        # The order's movement row goes, the stock it took stays taken: initial + 0 - 2 != 3.
        (bag,) = await create_variants(resources, [5])
        await place_order(client, customer, (bag, 2))
        await execute(resources, "DELETE FROM stock_movement")
        found = only(await find_violations(resources.database), "stock")
        assert any("moved 0, expected -2 for a pending_payment order" in line for line in found), found
        assert any(
            f"variant {bag}: stock 3 != initial 3 + adjustments 0 - live ordered 2 = 1" in line for line in found
        )

    async def test_a_cancelled_order_whose_stock_never_came_back(
        self, busy_shop: dict[str, Any], resources: Resources
    ) -> None:
        await execute(
            resources,
            "UPDATE customer_order SET status = 'cancelled' WHERE id = :id",
            id=uuid.UUID(busy_shop["paid"]["id"]),
        )
        found = only(await find_violations(resources.database), "stock")
        assert any("expected 0 for a cancelled order" in line for line in found), found
        assert any(f"variant {busy_shop['scarf']}: stock" in line and "live ordered" in line for line in found), found

    def test_the_trail_is_found_whatever_the_order_of_its_rows(self) -> None:
        # 5 -> 3 -> 8 -> 6 -> 8, stored in any order: it starts at 5.
        assert trail_start([(6, 8), (5, 3), (8, 6), (3, 8)], 8) == 5
        assert trail_start([], 7) == 7
        assert trail_start([(5, 3), (3, 5)], 5) == 5, "a trail may come back to where it started"
        assert trail_start([(5, 3), (3, 5)], 6) is None, "a stock away from a closed trail"
        assert trail_start([(5, 3)], 4) is None
        assert trail_start([(5, 3), (9, 7)], 7) is None, "two trails are not one"


class TestTotals:
    async def test_an_order_whose_total_is_off(self, busy_shop: dict[str, Any], resources: Resources) -> None:
        order_id = uuid.UUID(busy_shop["paid"]["id"])
        await execute(
            resources,
            "UPDATE customer_order SET subtotal_amount = subtotal_amount + 1, total_amount = total_amount + 1"
            " WHERE id = :id",
            id=order_id,
        )
        number = busy_shop["paid"]["number"]
        subtotal, total = only(await find_violations(resources.database), "order_total")
        assert subtotal.startswith(f"[order_total] order {number}: subtotal")
        assert total.startswith(f"[order_total] order {number}: total")

    async def test_a_line_whose_price_changed_after_the_fact(
        self, busy_shop: dict[str, Any], resources: Resources
    ) -> None:
        await execute(
            resources,
            "UPDATE order_line SET unit_price_amount = unit_price_amount + 100 WHERE order_id = :id",
            id=uuid.UUID(busy_shop["keyed"]["id"]),
        )
        found = only(await find_violations(resources.database), "order_total")
        assert any(busy_shop["keyed"]["number"] in line for line in found), found


class TestEvents:
    async def test_a_missing_and_a_doubled_event(self, busy_shop: dict[str, Any], resources: Resources) -> None:
        paid_id = busy_shop["paid"]["id"]
        await execute(
            resources,
            "DELETE FROM outbox_event WHERE type = 'order.placed' AND payload->>'order_id' = :id",
            id=paid_id,
        )
        await execute(
            resources,
            "INSERT INTO outbox_event (id, type, payload) SELECT gen_random_uuid(), type, payload FROM outbox_event"
            " WHERE type = 'order.paid' AND payload->>'order_id' = :id",
            id=paid_id,
        )
        found = only(await find_violations(resources.database), "outbox")
        assert f"[outbox] order {paid_id}: 0 order.placed event(s) for 1 change(s)" in found
        assert f"[outbox] order {paid_id}: 2 order.paid event(s) for 1 change(s)" in found


class TestEmails:
    async def test_a_duplicated_email(self, busy_shop: dict[str, Any], resources: Resources, mailbox: Mailbox) -> None:
        event_id = await run_email(resources, "order.placed")
        (message,) = mailbox.messages
        await asyncio.to_thread(resend, resources, message)
        (found,) = only(await find_violations(resources.database, mailbox), "email")
        assert found == f"[email] event {event_id}: 2 emails.order_placed emails, not one"

    async def test_an_email_for_an_event_that_never_committed(
        self, busy_shop: dict[str, Any], resources: Resources, mailbox: Mailbox
    ) -> None:
        await run_email(resources, "order.placed")
        message = copy.deepcopy(mailbox.messages[0])
        ghost = uuid.uuid4()
        message.replace_header("Message-ID", f"<{ghost}.order_placed@shop.test>")
        await asyncio.to_thread(resend, resources, message)
        (found,) = only(await find_violations(resources.database, mailbox), "email")
        assert found == f"[email] event {ghost}: emails.order_placed email for no committed event"

    async def test_a_delivery_marked_done_without_its_email(
        self, busy_shop: dict[str, Any], resources: Resources, mailbox: Mailbox
    ) -> None:
        event_id = await run_email(resources, "order.paid")
        mailbox.clear()
        (found,) = only(await find_violations(resources.database, mailbox), "email")
        assert found == f"[email] event {event_id}: emails.order_paid marked done, but no email arrived"

    async def test_settled_means_every_event_has_its_email(
        self, busy_shop: dict[str, Any], resources: Resources, mailbox: Mailbox
    ) -> None:
        assert only(await find_violations(resources.database, mailbox), "email") == []
        found = only(await find_violations(resources.database, mailbox, emails_settled=True), "email")
        # placed x5, paid x2, cancelled, refunded: one owed email each, none sent.
        assert len(found) == 9, found
        assert all(line.startswith("[email] event ") and ": no emails.order_" in line for line in found)


class TestIdempotency:
    async def test_the_schema_keeps_one_record_per_key(
        self, busy_shop: dict[str, Any], resources: Resources, customer: Account
    ) -> None:
        async with resources.database.sessionmaker() as session:
            first = await session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == "key-a"))
        assert first is not None
        twin = IdempotencyRecord(
            id=new_id(),
            user_id=first.user_id,
            scope=first.scope,
            key=first.key,
            fingerprint="another request",
            status=first.status,
            token=new_id(),
            locked_until=first.locked_until,
            expires_at=first.expires_at,
        )
        with pytest.raises(IntegrityError):
            async with unit_of_work(resources.database) as session:
                session.add(twin)

    async def test_one_order_answered_for_two_keys(self, busy_shop: dict[str, Any], resources: Resources) -> None:
        await execute(
            resources,
            "UPDATE idempotency_record SET response_body = (SELECT response_body FROM idempotency_record"
            " WHERE key = 'key-a') WHERE key = 'key-b'",
        )
        (found,) = only(await find_violations(resources.database), "idempotency")
        assert found == f"[idempotency] order {busy_shop['keyed']['id']}: the answer of 2 keys: ['key-a', 'key-b']"

    async def test_a_key_answered_with_an_order_that_is_gone(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [3])
        response = await client.post(
            "/api/v1/orders",
            json={"shipping_address": ADDRESS, "items": [{"variant_id": str(variant), "quantity": 1}]},
            headers={**customer.headers, "Idempotency-Key": "vanishing"},
        )
        order = response.json()
        await execute(resources, "DELETE FROM customer_order WHERE id = :id", id=uuid.UUID(order["id"]))
        found = only(await find_violations(resources.database), "idempotency")
        assert found == [
            f"[idempotency] idempotency key 'vanishing' of user {customer.id}:"
            f" answered with order {order['id']}, not one of the user's"
        ]


class TestPayments:
    async def test_a_paid_order_charged_twice(self, busy_shop: dict[str, Any], resources: Resources) -> None:
        await execute(
            resources,
            "INSERT INTO payment (id, order_id, provider, reference, amount, currency, status)"
            " SELECT :id, order_id, provider, 'ch_twice', amount, currency, status FROM payment"
            " WHERE order_id = :order_id",
            id=new_id(),
            order_id=uuid.UUID(busy_shop["paid"]["id"]),
        )
        (found,) = only(await find_violations(resources.database), "payment")
        assert found == f"[payment] order {busy_shop['paid']['id']}: paid, paid by 2 payments"

    async def test_a_refunded_payment_without_its_refund(self, busy_shop: dict[str, Any], resources: Resources) -> None:
        await execute(
            resources,
            "UPDATE payment SET status = 'refunded' WHERE order_id = :id",
            id=uuid.UUID(busy_shop["paid"]["id"]),
        )
        found = only(await find_violations(resources.database), "payment")
        assert any("is refunded, its refund None" in violation for violation in found)
        assert f"[payment] order {busy_shop['paid']['id']}: paid, paid by 0 payments" in found

    async def test_a_pending_attempt_of_an_order_that_no_longer_awaits_payment(
        self, busy_shop: dict[str, Any], resources: Resources
    ) -> None:
        await execute(
            resources,
            "UPDATE payment SET status = 'pending' WHERE order_id = :id",
            id=uuid.UUID(busy_shop["paid"]["id"]),
        )
        found = only(await find_violations(resources.database), "payment")
        assert any("pending for an order paid" in violation for violation in found)


async def test_every_violation_is_reported_at_once(busy_shop: dict[str, Any], resources: Resources) -> None:
    await execute(resources, "UPDATE variant SET stock = stock + 2 WHERE id = :id", id=busy_shop["scarf"])
    await execute(
        resources,
        "UPDATE order_line SET quantity = quantity + 1 WHERE order_id = :id",
        id=uuid.UUID(busy_shop["other"]["id"]),
    )
    await execute(resources, "DELETE FROM outbox_event WHERE type = 'order.refunded'")
    with pytest.raises(InvariantsBroken) as raised:
        await audit_invariants(resources.database)
    assert {v.rule for v in raised.value.violations} == {"stock", "order_total", "outbox"}
    report = str(raised.value)
    assert report.startswith(f"{len(raised.value.violations)} invariant violation(s):\n")
    assert f"variant {busy_shop['scarf']}" in report
    assert busy_shop["other"]["number"] in report
