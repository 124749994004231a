"""The status machine: every allowed and forbidden move, stock back on cancel and refund, one
outbox event per move, and the expiry of unpaid orders."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from shop.core import outbox
from shop.core.mailsink import Mailbox
from shop.core.resources import Resources
from shop.events import OrderNotice
from shop.orders import tasks
from shop.orders.models import Payment
from tests.fixtures.auth import Account, outbox_events
from tests.fixtures.orders import backdate, create_variants, movements, pay, place_order, stock_of

SHIPMENT = {"carrier": "DHL", "tracking_number": "JD014600006251234567"}

Action = Callable[[httpx.AsyncClient, dict[str, Any], Account, Account], Awaitable[httpx.Response]]


async def admin_post(
    client: httpx.AsyncClient, staff: Account, order: dict[str, Any], verb: str, **body: Any
) -> httpx.Response:
    return await client.post(f"/api/v1/admin/orders/{order['id']}/{verb}", json=body or None, headers=staff.headers)


ACTIONS: dict[str, Action] = {
    "pay": lambda client, order, customer, staff: pay(client, customer, order["id"]),
    "cancel": lambda client, order, customer, staff: client.post(
        f"/api/v1/orders/{order['id']}/cancel", headers=customer.headers
    ),
    "admin_cancel": lambda client, order, customer, staff: admin_post(client, staff, order, "cancel"),
    "ship": lambda client, order, customer, staff: admin_post(client, staff, order, "ship", **SHIPMENT),
    "deliver": lambda client, order, customer, staff: admin_post(client, staff, order, "deliver"),
    "refund": lambda client, order, customer, staff: admin_post(client, staff, order, "refund"),
}
# How each status is reached from a new order.
PATHS = {
    "pending_payment": [],
    "paid": ["pay"],
    "shipped": ["pay", "ship"],
    "delivered": ["pay", "ship", "deliver"],
    "cancelled": ["cancel"],
    "refunded": ["pay", "refund"],
}
ALLOWED = {
    ("pending_payment", "pay"): "paid",
    ("pending_payment", "cancel"): "cancelled",
    ("pending_payment", "admin_cancel"): "cancelled",
    ("paid", "ship"): "shipped",
    ("paid", "refund"): "refunded",
    ("paid", "cancel"): "refunded",  # a customer's cancel of a paid, unshipped order refunds it
    ("paid", "admin_cancel"): "refunded",
    ("shipped", "deliver"): "delivered",
}


async def order_in(
    client: httpx.AsyncClient, resources: Resources, customer: Account, staff: Account, status: str
) -> dict[str, Any]:
    (variant,) = await create_variants(resources, [10])
    order = await place_order(client, customer, (variant, 2))
    for step in PATHS[status]:
        response = await ACTIONS[step](client, order, customer, staff)
        assert response.status_code == 200, response.text
        order = response.json()
    assert order["status"] == status
    return order


@pytest.mark.parametrize("status", list(PATHS))
@pytest.mark.parametrize("action", list(ACTIONS))
async def test_every_move_from_every_status(
    client: httpx.AsyncClient, resources: Resources, customer: Account, staff: Account, status: str, action: str
) -> None:
    order = await order_in(client, resources, customer, staff, status)
    variant = uuid.UUID(order["items"][0]["variant_id"])
    stock_before = await stock_of(resources, variant)
    response = await ACTIONS[action](client, order, customer, staff)
    target = ALLOWED.get((status, action))
    if target is None:
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "invalid_transition"
        after = (await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)).json()
        assert after == order, "a refused move changes nothing"
        assert await stock_of(resources, variant) == stock_before
        return
    assert response.status_code == 200, response.text
    moved = response.json()
    assert moved["status"] == target
    actor = "staff" if action in ("admin_cancel", "ship", "deliver", "refund") else "customer"
    assert moved["history"][:-1] == order["history"]
    assert (moved["history"][-1]["status"], moved["history"][-1]["actor_role"]) == (target, actor)
    assert moved["updated_at"] == moved["history"][-1]["at"]
    returned = 2 if target in ("cancelled", "refunded") else 0
    assert await stock_of(resources, variant) == [stock_before[0] + returned]


class TestMoves:
    async def test_history_and_timestamps_along_the_happy_path(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, staff: Account, admin: Account
    ) -> None:
        order = await order_in(client, resources, customer, staff, "paid")
        assert order["paid_at"] == order["history"][1]["at"]
        shipped = (await admin_post(client, admin, order, "ship", **SHIPMENT)).json()
        assert shipped["tracking"] == SHIPMENT
        delivered = (await admin_post(client, staff, order, "deliver")).json()
        assert [(h["status"], h["actor_role"]) for h in delivered["history"]] == [
            ("pending_payment", "customer"),
            ("paid", "customer"),
            ("shipped", "admin"),
            ("delivered", "staff"),
        ]
        assert delivered["cancelled_at"] is None

    async def test_cancel_gives_back_exactly_the_stock_taken(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        shirt, scarf = await create_variants(resources, [5, 7])
        order = await place_order(client, customer, (shirt, 2), (scarf, 3))
        assert await stock_of(resources, shirt, scarf) == [3, 4]
        response = await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer.headers)
        assert response.json()["cancelled_at"] is not None
        assert await stock_of(resources, shirt, scarf) == [5, 7]
        number = order["number"]
        assert await movements(resources, scarf) == [(-3, 4, f"order {number}"), (3, 7, f"order {number} cancelled")]

    async def test_a_refund_gives_the_stock_and_the_payment_back(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, staff: Account
    ) -> None:
        (variant,) = await create_variants(resources, [4])
        order = await place_order(client, customer, (variant, 4))
        await pay(client, customer, order["id"])
        refunded = await admin_post(client, staff, order, "refund")
        assert refunded.json()["status"] == "refunded"
        assert await stock_of(resources, variant) == [4]
        async with resources.database.sessionmaker() as session:
            statuses = list(await session.scalars(select(Payment.status)))
        assert statuses == ["refunded"]

    async def test_a_second_cancel_is_409(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [4])
        order = await place_order(client, customer, (variant, 1))
        path = f"/api/v1/orders/{order['id']}/cancel"
        assert (await client.post(path, headers=customer.headers)).status_code == 200
        second = await client.post(path, headers=customer.headers)
        assert second.status_code == 409
        assert second.json()["code"] == "invalid_transition"
        assert await stock_of(resources, variant) == [4]

    async def test_shipping_needs_a_carrier_and_a_tracking_number(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, staff: Account
    ) -> None:
        order = await order_in(client, resources, customer, staff, "paid")
        for body in ({}, {"carrier": "DHL"}, {**SHIPMENT, "tracking_number": ""}, {**SHIPMENT, "status": "shipped"}):
            response = await client.post(f"/api/v1/admin/orders/{order['id']}/ship", json=body, headers=staff.headers)
            assert response.status_code == 422, body


class TestEvents:
    async def test_each_move_records_its_event_with_the_order_notice(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, staff: Account
    ) -> None:
        delivered = await order_in(client, resources, customer, staff, "delivered")
        refunded = await order_in(client, resources, customer, staff, "refunded")
        cancelled = await order_in(client, resources, customer, staff, "cancelled")
        expected = {
            "order.placed": [delivered, refunded, cancelled],
            "order.paid": [delivered, refunded],
            "order.shipped": [delivered],
            "order.delivered": [delivered],
            "order.refunded": [refunded],
            "order.cancelled": [cancelled],
        }
        for event_type, orders in expected.items():
            notices = [OrderNotice.model_validate(p) for p in await outbox_events(resources, event_type)]
            assert [n.number for n in notices] == [o["number"] for o in orders], event_type
            status = event_type.removeprefix("order.").replace("placed", "pending_payment")
            assert {n.status for n in notices} == {status}
            assert all(n.email == customer.email and n.total.amount == delivered["total"]["amount"] for n in notices)
        (shipped,) = [OrderNotice.model_validate(p) for p in await outbox_events(resources, "order.shipped")]
        assert shipped.tracking is not None
        assert (shipped.tracking.carrier, shipped.tracking.tracking_number) == (
            SHIPMENT["carrier"],
            SHIPMENT["tracking_number"],
        )

    async def test_a_customer_cancel_of_a_paid_order_sends_the_refund_email(
        self,
        client: httpx.AsyncClient,
        resources: Resources,
        customer: Account,
        staff: Account,
        mailbox: Mailbox,
    ) -> None:
        order = await order_in(client, resources, customer, staff, "paid")
        await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer.headers)
        assert await outbox_events(resources, "order.cancelled") == []
        (event_id,) = await event_ids(resources, "order.refunded")
        assert await outbox.run_handler(resources.database, resources.settings, "emails.order_refunded", event_id)
        (message,) = mailbox.messages
        assert message["To"] == customer.email
        assert order["number"] in message["Subject"]

    async def test_the_shipped_email_names_the_tracking_number(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, staff: Account, mailbox: Mailbox
    ) -> None:
        order = await order_in(client, resources, customer, staff, "shipped")
        (event_id,) = await event_ids(resources, "order.shipped")
        await outbox.run_handler(resources.database, resources.settings, "emails.order_shipped", event_id)
        (message,) = mailbox.messages
        assert order["number"] in message["Subject"]
        assert SHIPMENT["tracking_number"] in message["Subject"]


async def event_ids(resources: Resources, event_type: str) -> list[uuid.UUID]:
    async with resources.database.sessionmaker() as session:
        rows = await session.scalars(
            select(outbox.OutboxEvent.id).where(outbox.OutboxEvent.type == event_type).order_by(outbox.OutboxEvent.id)
        )
        return list(rows)


class TestExpiry:
    async def test_only_unpaid_orders_older_than_the_timeout_are_cancelled(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [10])
        stale = await place_order(client, customer, (variant, 1))
        fresh = await place_order(client, customer, (variant, 2))
        paid = await place_order(client, customer, (variant, 3))
        await pay(client, customer, paid["id"])
        timeout = resources.settings.payment_timeout_minutes
        await backdate(resources, stale["id"], timeout + 1)
        await backdate(resources, fresh["id"], timeout - 1)
        await backdate(resources, paid["id"], timeout + 60)
        assert await tasks.expire_unpaid(resources) == 1
        assert await stock_of(resources, variant) == [10 - 2 - 3]

        def status(order: dict[str, Any]) -> Awaitable[httpx.Response]:
            return client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)

        expired = (await status(stale)).json()
        assert expired["status"] == "cancelled"
        assert (expired["history"][-1]["status"], expired["history"][-1]["actor_role"]) == ("cancelled", "system")
        assert (await status(fresh)).json()["status"] == "pending_payment"
        assert (await status(paid)).json()["status"] == "paid"
        (notice,) = await outbox_events(resources, "order.cancelled")
        assert notice["number"] == stale["number"]
        assert await tasks.expire_unpaid(resources) == 0

    async def test_the_sweep_works_through_batches(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(tasks, "EXPIRY_BATCH_SIZE", 2)
        first, second = await create_variants(resources, [20, 20])
        orders = [await place_order(client, customer, (first, 1), (second, 2)) for _ in range(5)]
        for order in orders:
            await backdate(resources, order["id"], 120)
        assert await tasks.expire_unpaid(resources) == 5
        assert await stock_of(resources, first, second) == [20, 20]

    async def test_an_order_being_paid_is_skipped_not_waited_for(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [10])
        busy = await place_order(client, customer, (variant, 1))
        idle = await place_order(client, customer, (variant, 1))
        for order in (busy, idle):
            await backdate(resources, order["id"], 120)
        async with resources.database.sessionmaker() as session:
            await session.execute(
                text("SELECT 1 FROM customer_order WHERE id = :id FOR UPDATE"), {"id": uuid.UUID(busy["id"])}
            )
            assert await tasks.expire_unpaid(resources) == 1
        assert await tasks.expire_unpaid(resources) == 1
        assert await stock_of(resources, variant) == [10]
