"""Idempotency-Key: a retry gets the first answer, whatever it was, and nothing runs twice."""

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from starlette.responses import Response

from shop.core import idempotency
from shop.core.config import Settings
from shop.core.db import unit_of_work
from shop.core.idempotency import IdempotencyInProgress, IdempotencyRecord, claim_key, store_response
from shop.core.resources import Resources
from shop.orders.models import Order, Payment
from shop.orders.schemas import PaymentStatus
from tests.fixtures.auth import Account
from tests.fixtures.invariants import audit_invariants
from tests.fixtures.orders import ADDRESS, create_variants, items, pay, place, place_order, stock_of

ORDERS_SCOPE = "POST /api/v1/orders"


async def count(resources: Resources, model: type[Order] | type[Payment]) -> int:
    async with resources.database.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def post_raw(client: httpx.AsyncClient, account: Account, key: str | bytes, body: bytes) -> httpx.Response:
    headers = {**account.headers, "Idempotency-Key": key, "Content-Type": "application/json"}
    return await client.post("/api/v1/orders", content=body, headers=headers)


async def claim(resources: Resources, user_id: uuid.UUID, key: str, digest: str) -> idempotency.Claim:
    async with resources.database.sessionmaker() as session:
        return await claim_key(session, user_id, ORDERS_SCOPE, key, digest)


def order_body(*lines: tuple[uuid.UUID, int]) -> dict[str, Any]:
    return {"shipping_address": ADDRESS, "items": items(*lines)}


class TestReplay:
    async def test_a_retry_gets_the_first_answer_byte_for_byte(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        first = await place(client, customer, (variant, 2), key="order-1")
        assert "idempotent-replayed" not in first.headers
        retry = await place(client, customer, (variant, 2), key="order-1")
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.content == first.content
        assert retry.headers["content-type"] == first.headers["content-type"] == "application/json"
        assert await count(resources, Order) == 1
        assert await stock_of(resources, variant) == [3]

    async def test_a_body_spelled_differently_is_the_same_request(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        body = order_body((variant, 1))
        compact = json.dumps(body, separators=(",", ":")).encode()
        spaced = json.dumps(dict(reversed(list(body.items()))), indent=2).encode()
        first = await post_raw(client, customer, "spelling", compact)
        retry = await post_raw(client, customer, "spelling", spaced)
        assert (first.status_code, retry.status_code) == (201, 201)
        assert retry.headers["idempotent-replayed"] == "true"
        assert await count(resources, Order) == 1

    async def test_the_same_key_with_another_body_is_422(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        await place(client, customer, (variant, 1), key="reused")
        response = await place(client, customer, (variant, 2), key="reused", expect=422)
        assert response.json()["code"] == "idempotency_key_reused"
        assert await count(resources, Order) == 1

    async def test_keys_belong_to_one_user(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, other_customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        mine = await place(client, customer, (variant, 1), key="shared-key")
        theirs = await place(client, other_customer, (variant, 1), key="shared-key")
        assert "idempotent-replayed" not in theirs.headers
        assert theirs.json()["id"] != mine.json()["id"]
        assert await stock_of(resources, variant) == [3]

    async def test_keys_belong_to_one_endpoint(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        order = (await place(client, customer, (variant, 1), key="k-1")).json()
        cancelled = await client.post(
            f"/api/v1/orders/{order['id']}/cancel", headers={**customer.headers, "Idempotency-Key": "k-1"}
        )
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "cancelled"

    async def test_a_quoted_key_is_the_same_key(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        await place(client, customer, (variant, 1), key='"quoted \\"key\\""')
        retry = await place(client, customer, (variant, 1), key='quoted "key"')
        assert retry.headers["idempotent-replayed"] == "true"

    @pytest.mark.parametrize(
        "key",
        ["", "x" * 256, "clé".encode(), "tab\there", '"unterminated', '"in"side"', '"bad \\escape"', '""'],
        ids=["empty", "too-long", "non-ascii", "tab", "unterminated", "inner-quote", "bad-escape", "empty-quoted"],
    )
    async def test_invalid_keys_are_400(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, key: str | bytes
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        response = await post_raw(client, customer, key, json.dumps(order_body((variant, 1))).encode())
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "invalid_idempotency_key"
        assert await count(resources, Order) == 0

    async def test_255_printable_characters_are_a_key(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        key = "".join(chr(33 + i % 94) for i in range(255))
        await place(client, customer, (variant, 1), key=key)
        retry = await place(client, customer, (variant, 1), key=key)
        assert retry.headers["idempotent-replayed"] == "true"


class TestStoredOutcomes:
    async def test_a_refusal_for_short_stock_is_replayed_even_once_stock_is_back(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [1])
        first = await place(client, customer, (variant, 2), key="short", expect=409)
        async with unit_of_work(resources.database) as session:
            from shop.products.models import Variant

            await session.execute(update(Variant).values(stock=10))
        retry = await place(client, customer, (variant, 2), key="short", expect=409)
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.content == first.content
        assert retry.headers["content-type"] == "application/problem+json"
        assert await count(resources, Order) == 0
        await place(client, customer, (variant, 2), key="short-2")

    async def test_a_validation_error_is_not_stored(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        await place(client, customer, (variant, 0), key="fix-me", expect=422)
        fixed = await place(client, customer, (variant, 1), key="fix-me")
        assert "idempotent-replayed" not in fixed.headers

    async def test_a_missing_login_is_not_stored(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/api/v1/orders", json={}, headers={"Idempotency-Key": "anon"})
        assert response.status_code == 401

    async def test_pay_is_replayed_and_charges_once(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        order = await place_order(client, customer, (variant, 1))
        headers = {**customer.headers, "Idempotency-Key": "pay-1"}
        path = f"/api/v1/orders/{order['id']}/pay"
        first = await client.post(path, json={"payment_token": "tok_success"}, headers=headers)
        retry = await client.post(path, json={"payment_token": "tok_success"}, headers=headers)
        assert (first.status_code, retry.status_code) == (200, 200)
        assert retry.content == first.content
        assert await count(resources, Payment) == 1
        async with resources.database.sessionmaker() as session:
            scopes = set(await session.scalars(select(IdempotencyRecord.scope)))
        assert scopes == {"POST /api/v1/orders/{order_id}/pay"}, "keys are scoped by the route, not the raw path"
        again = await pay(client, customer, order["id"])
        assert again.status_code == 409, "without the key, a second pay is a transition error"

    async def test_a_decline_is_stored_and_kept(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        order = await place_order(client, customer, (variant, 1))
        headers = {**customer.headers, "Idempotency-Key": "declined"}
        path = f"/api/v1/orders/{order['id']}/pay"
        first = await client.post(path, json={"payment_token": "tok_declined"}, headers=headers)
        retry = await client.post(path, json={"payment_token": "tok_declined"}, headers=headers)
        assert (first.status_code, retry.status_code) == (402, 402)
        assert retry.headers["idempotent-replayed"] == "true"
        assert await count(resources, Payment) == 1, "the declined attempt is recorded once"

    async def test_a_provider_failure_is_not_stored_so_a_retry_runs(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        order = await place_order(client, customer, (variant, 1))
        headers = {**customer.headers, "Idempotency-Key": "flaky"}
        path = f"/api/v1/orders/{order['id']}/pay"
        failed = await client.post(path, json={"payment_token": "tok_error"}, headers=headers)
        assert failed.status_code == 502
        retried = await client.post(path, json={"payment_token": "tok_error"}, headers=headers)
        assert retried.status_code == 502
        assert "idempotent-replayed" not in retried.headers
        # Each run recorded its attempt before calling, and failed it when the provider said it
        # had charged nothing.
        async with resources.database.sessionmaker() as session:
            statuses = sorted((await session.scalars(select(Payment.status))).all())
        assert statuses == [PaymentStatus.failed, PaymentStatus.failed]

    async def test_cancel_replays_its_first_answer(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        order = await place_order(client, customer, (variant, 1))
        path = f"/api/v1/orders/{order['id']}/cancel"
        first = await client.post(path, headers={**customer.headers, "Idempotency-Key": "c"})
        retry = await client.post(path, headers={**customer.headers, "Idempotency-Key": "c"})
        assert (first.status_code, retry.status_code) == (200, 200)
        assert retry.content == first.content
        second = await client.post(path, headers=customer.headers)
        assert second.status_code == 409
        assert second.json()["code"] == "invalid_transition"
        assert await stock_of(resources, variant) == [5], "the stock came back once"


class TestAdminMoves:
    async def test_an_admin_cancel_with_a_key_is_replayed(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account, staff: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        order = await place_order(client, customer, (variant, 1))
        path = f"/api/v1/admin/orders/{order['id']}/cancel"
        headers = {**staff.headers, "Idempotency-Key": "staff-cancel"}
        first = await client.post(path, headers=headers)
        retry = await client.post(path, headers=headers)
        assert (first.status_code, retry.status_code) == (200, 200)
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.content == first.content
        assert await stock_of(resources, variant) == [5]


class TestConcurrency:
    async def test_a_duplicate_while_the_first_runs_is_409(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        body = json.dumps(order_body((variant, 1))).encode()
        digest = idempotency.fingerprint("POST", "/api/v1/orders", "", body)
        await claim(resources, customer.id, "busy", digest)
        response = await post_raw(client, customer, "busy", body)
        assert response.status_code == 409
        assert response.json()["code"] == "idempotency_in_progress"
        assert response.headers["retry-after"] == "1"
        other = await post_raw(client, customer, "busy", json.dumps(order_body((variant, 2))).encode())
        assert other.json()["code"] == "idempotency_key_reused", "another body is refused even while it runs"
        await audit_invariants(resources.database)

    async def test_a_claim_whose_request_died_is_taken_over_after_its_lease(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        body = json.dumps(order_body((variant, 1))).encode()
        digest = idempotency.fingerprint("POST", "/api/v1/orders", "", body)
        await claim(resources, customer.id, "orphan", digest)
        async with unit_of_work(resources.database) as session:
            await session.execute(update(IdempotencyRecord).values(locked_until=func.now() - idempotency.LEASE))
        response = await post_raw(client, customer, "orphan", body)
        assert response.status_code == 201
        assert await count(resources, Order) == 1
        await audit_invariants(resources.database)

    async def test_an_answer_older_than_a_day_is_forgotten(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        await place(client, customer, (variant, 1), key="old")
        async with unit_of_work(resources.database) as session:
            await session.execute(update(IdempotencyRecord).values(expires_at=func.now()))
        fresh = await place(client, customer, (variant, 2), key="old")
        assert "idempotent-replayed" not in fresh.headers
        assert await count(resources, Order) == 2
        await audit_invariants(resources.database)

    async def test_a_request_that_lost_its_claim_cannot_store_its_answer(self, resources: Resources) -> None:
        user = uuid.uuid4()
        slow = await claim(resources, user, "lost", "d")
        async with unit_of_work(resources.database) as session:
            await session.execute(update(IdempotencyRecord).values(locked_until=func.now()))
        await claim(resources, user, "lost", "d")
        async with resources.database.sessionmaker() as session:
            with pytest.raises(IdempotencyInProgress):
                await store_response(session, slow, Response(b"{}", status_code=201))

    async def test_twenty_identical_concurrent_checkouts_make_one_order(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [50])
        responses = await asyncio.gather(
            *(place(client, customer, (variant, 1), key="burst", expect=None) for _ in range(20))
        )
        created = [r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers]
        replayed = [r for r in responses if r.headers.get("idempotent-replayed") == "true"]
        busy = [r for r in responses if r.status_code == 409]
        assert len(created) == 1
        assert len(created) + len(replayed) + len(busy) == 20
        assert all(r.json()["code"] == "idempotency_in_progress" for r in busy)
        assert all(r.content == created[0].content for r in replayed)
        assert await count(resources, Order) == 1
        assert await stock_of(resources, variant) == [49]
        await audit_invariants(resources.database)


class TestRetention:
    async def test_expired_answers_are_purged_and_fresh_ones_kept(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5])
        await place(client, customer, (variant, 1), key="old")
        await place(client, customer, (variant, 1), key="new")
        async with unit_of_work(resources.database) as session:
            await session.execute(
                update(IdempotencyRecord).where(IdempotencyRecord.key == "old").values(expires_at=func.now())
            )
        assert await idempotency.purge_expired(resources) == 1
        async with resources.database.sessionmaker() as session:
            assert list(await session.scalars(select(IdempotencyRecord.key))) == ["new"]

    def test_the_purge_and_the_expiry_sweep_are_on_the_schedule(self, settings: Settings) -> None:
        import shop.subscribers  # noqa: F401
        from shop.core.schedule import periodic_jobs

        jobs = periodic_jobs()
        assert jobs["idempotency.purge"].period(settings) == timedelta(hours=1)
        assert jobs["orders.expire_unpaid"].period(settings) == timedelta(minutes=1)
        faster = settings.model_copy(update={"order_expiry_interval_seconds": 5})
        assert jobs["orders.expire_unpaid"].period(faster) == timedelta(seconds=5)
