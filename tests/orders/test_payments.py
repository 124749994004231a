"""Paying with the test provider's tokens, and the provider's signed webhook."""

import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from shop.core.resources import Resources
from shop.orders.models import Payment
from tests.fixtures.auth import Account, outbox_events
from tests.fixtures.orders import create_variants, deliver, event, pay, place_order, signed


async def payments_of(resources: Resources, order_id: str) -> list[tuple[str, str | None, int]]:
    """(status, reference, amount) of an order's payments, oldest first."""
    async with resources.database.sessionmaker() as session:
        rows = await session.execute(
            select(Payment.status, Payment.reference, Payment.amount)
            .where(Payment.order_id == uuid.UUID(order_id))
            .order_by(Payment.created_at, Payment.id)
        )
        return [(status.value, reference, amount) for status, reference, amount in rows]


@pytest.fixture
async def order(client: httpx.AsyncClient, resources: Resources, customer: Account) -> dict[str, Any]:
    (variant,) = await create_variants(resources, [5], prices=[2500])
    return await place_order(client, customer, (variant, 2))


class TestPay:
    async def test_tok_success_pays(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, order: dict[str, Any]
    ) -> None:
        response = await pay(client, customer, order["id"])
        assert response.status_code == 200, response.text
        paid = response.json()
        assert paid["status"] == "paid"
        assert paid["paid_at"] == paid["history"][-1]["at"]
        ((status, reference, amount),) = await payments_of(resources, order["id"])
        assert (status, amount) == ("succeeded", 5000)
        assert reference is not None and reference.startswith("test_ch_")
        (notice,) = await outbox_events(resources, "order.paid")
        assert (notice["number"], notice["status"]) == (order["number"], "paid")

    async def test_tok_declined_is_402_and_the_attempt_is_kept(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, order: dict[str, Any]
    ) -> None:
        response = await pay(client, customer, order["id"], "tok_declined")
        assert response.status_code == 402
        assert response.json()["code"] == "payment_declined"
        current = (await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)).json()
        assert current["status"] == "pending_payment"
        assert await payments_of(resources, order["id"]) == [("declined", None, 5000)]
        assert await outbox_events(resources, "order.paid") == []
        assert (await pay(client, customer, order["id"])).status_code == 200, "another card may follow"

    async def test_an_unknown_token_is_declined(
        self, client: httpx.AsyncClient, customer: Account, order: dict[str, Any]
    ) -> None:
        response = await pay(client, customer, order["id"], "tok_whatever")
        assert response.status_code == 402

    async def test_tok_error_is_502_and_changes_nothing(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, order: dict[str, Any]
    ) -> None:
        response = await pay(client, customer, order["id"], "tok_error")
        assert response.status_code == 502
        assert response.json()["code"] == "payment_provider_error"
        # The attempt was recorded before the call; the provider said it charged nothing.
        assert await payments_of(resources, order["id"]) == [("failed", None, 5000)]
        current = (await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)).json()
        assert current == order

    async def test_a_paid_or_cancelled_order_cannot_be_paid(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, order: dict[str, Any]
    ) -> None:
        await pay(client, customer, order["id"])
        again = await pay(client, customer, order["id"])
        assert again.status_code == 409
        assert again.json()["code"] == "invalid_transition"
        assert len(await payments_of(resources, order["id"])) == 1, "nothing is charged for a refused move"

    @pytest.mark.parametrize(
        "body",
        [{}, {"payment_token": ""}, {"payment_token": "tok_success", "amount": 1}, {"payment_token": 42}],
        ids=["missing", "empty", "amount", "not-a-string"],
    )
    async def test_bad_bodies_are_422(
        self, client: httpx.AsyncClient, customer: Account, order: dict[str, Any], body: dict[str, Any]
    ) -> None:
        response = await client.post(f"/api/v1/orders/{order['id']}/pay", json=body, headers=customer.headers)
        assert response.status_code == 422


class TestWebhook:
    async def test_a_signed_success_pays_the_order(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        customer: Account,
        order: dict[str, Any],
        webhook_secret: str,
    ) -> None:
        body = event(order)
        response = await deliver(client, body, signed(webhook_secret, body))
        assert response.status_code == 200, response.text
        assert response.json() == {"received": True, "duplicate": False}
        paid = (await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)).json()
        assert paid["status"] == "paid"
        assert (paid["history"][-1]["status"], paid["history"][-1]["actor_role"]) == ("paid", "system")
        assert await payments_of(resources, order["id"]) == [("succeeded", "ch_provider_123", 5000)]
        assert len(await outbox_events(resources, "order.paid")) == 1

    async def test_a_redelivered_event_does_nothing_again(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        customer: Account,
        order: dict[str, Any],
        webhook_secret: str,
    ) -> None:
        body = event(order)
        await deliver(client, body, signed(webhook_secret, body))
        again = await deliver(client, body, signed(webhook_secret, body))
        assert again.status_code == 200
        assert again.json() == {"received": True, "duplicate": True}
        paid = (await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)).json()
        assert len(paid["history"]) == 2
        assert len(await payments_of(resources, order["id"])) == 1
        assert len(await outbox_events(resources, "order.paid")) == 1

    @pytest.mark.parametrize(
        "tamper",
        ["no-header", "wrong-secret", "changed-body", "garbled", "stale", "future", "no-timestamp", "oversized"],
    )
    async def test_a_bad_or_stale_signature_is_400(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        customer: Account,
        order: dict[str, Any],
        webhook_secret: str,
        tamper: str,
    ) -> None:
        body = event(order)
        now = int(time.time())
        headers = {
            "no-header": {"Content-Type": "application/json"},
            "wrong-secret": signed("another-secret", body),
            "changed-body": signed(webhook_secret, body.replace(b"5000", b"1")),
            "garbled": {"Shop-Signature": "v1=zz,t=abc"},
            "stale": signed(webhook_secret, body, now - 301),
            "future": signed(webhook_secret, body, now + 301),
            "no-timestamp": {"Shop-Signature": signed(webhook_secret, body)["Shop-Signature"].split(",")[1]},
            # A valid signature buried in padding: a header this long is refused unread.
            "oversized": {"Shop-Signature": signed(webhook_secret, body)["Shop-Signature"] + ",v0=" + "0" * 1024},
        }[tamper]
        response = await deliver(client, body, headers)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_signature"
        current = (await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)).json()
        assert current["status"] == "pending_payment"

    async def test_a_signature_within_five_minutes_is_accepted(
        self, client: httpx.AsyncClient, order: dict[str, Any], webhook_secret: str
    ) -> None:
        body = event(order)
        response = await deliver(client, body, signed(webhook_secret, body, int(time.time()) - 280))
        assert response.status_code == 200

    async def test_without_a_configured_secret_nothing_is_accepted(
        self, client: httpx.AsyncClient, order: dict[str, Any]
    ) -> None:
        body = event(order)
        response = await deliver(client, body, signed("", body))
        assert response.status_code == 400

    async def test_a_failure_is_recorded_and_the_order_still_awaits_payment(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        customer: Account,
        order: dict[str, Any],
        webhook_secret: str,
    ) -> None:
        body = event(order, "payment.failed")
        assert (await deliver(client, body, signed(webhook_secret, body))).status_code == 200
        assert await payments_of(resources, order["id"]) == [("failed", "ch_provider_123", 5000)]
        current = (await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)).json()
        assert current["status"] == "pending_payment"

    @pytest.mark.parametrize(
        "data",
        [{"amount": 1}, {"currency": "USD"}, {"order_id": str(uuid.uuid4())}],
        ids=["amount", "currency", "order"],
    )
    async def test_a_success_that_does_not_match_the_order_pays_nothing(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        customer: Account,
        order: dict[str, Any],
        webhook_secret: str,
        data: dict[str, Any],
    ) -> None:
        body = event(order, **data)
        assert (await deliver(client, body, signed(webhook_secret, body))).status_code == 200
        current = (await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)).json()
        assert current["status"] == "pending_payment"
        assert await payments_of(resources, order["id"]) == []

    async def test_the_confirmation_of_a_payment_made_through_the_api_changes_nothing(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        customer: Account,
        order: dict[str, Any],
        webhook_secret: str,
    ) -> None:
        paid = (await pay(client, customer, order["id"])).json()
        ((_, reference, _),) = await payments_of(resources, order["id"])
        body = event(order, reference=reference)
        assert (await deliver(client, body, signed(webhook_secret, body))).status_code == 200
        assert (await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)).json() == paid
        assert [status for status, _, _ in await payments_of(resources, order["id"])] == ["succeeded"]

    @pytest.mark.parametrize("state", ["paid", "cancelled"])
    async def test_money_for_an_order_that_cannot_take_it_is_refunded(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        customer: Account,
        order: dict[str, Any],
        webhook_secret: str,
        state: str,
    ) -> None:
        if state == "paid":
            await pay(client, customer, order["id"])
        else:
            await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer.headers)
        before = (await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)).json()
        body = event(order, reference="ch_late_or_twice")
        assert (await deliver(client, body, signed(webhook_secret, body))).status_code == 200
        assert (await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)).json() == before
        assert ("refunded", "ch_late_or_twice", 5000) in await payments_of(resources, order["id"])

    async def test_unknown_event_types_are_acknowledged(
        self, client: httpx.AsyncClient, order: dict[str, Any], webhook_secret: str
    ) -> None:
        body = event(order, "payment.disputed")
        response = await deliver(client, body, signed(webhook_secret, body))
        assert response.status_code == 200

    async def test_a_signed_but_malformed_event_is_422(self, client: httpx.AsyncClient, webhook_secret: str) -> None:
        for body in (b"not json", b'{"id": "evt_1", "type": "payment.succeeded"}', b"[]"):
            response = await deliver(client, body, signed(webhook_secret, body))
            assert response.status_code == 422, body
            assert response.json()["code"] == "validation_error"
