"""The checkout's ceiling: the same writes as the shop's cart and checkout, by raw asyncpg.

Same paths and bodies as the shop (`PUT /api/v1/cart/items/{variant_id}`, `POST /api/v1/orders`
ordering the cart, with an Idempotency-Key), the same access tokens verified the same way, and
the rows the shop writes (read off PostgreSQL's statement log): the idempotency claim and its
stored answer, the stock taken conditionally, the order, its lines, its first status, the stock
movements, the outbox event, the emptied cart. Written as a careful engineer would by hand: one
transaction, set-based statements (every line in one UPDATE), no ORM. Not done here: the outbox
relay publishing the event afterwards (the shop does it in the background, in batches).
"""

import hashlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
import uuid_utils.compat as uuid_utils
from fastapi import FastAPI, Header, HTTPException, Request, Response

from shop.core.config import load_settings
from shop.users.tokens import decode_access_token

CART_SQL = """
INSERT INTO cart (id, user_id) VALUES ($1, $2)
ON CONFLICT (user_id) DO UPDATE SET updated_at = now() RETURNING id
"""
# The line is added only for a variant that can be ordered: active, of a live product.
CART_ITEM_SQL = """
INSERT INTO cart_item (cart_id, variant_id, quantity)
SELECT $1, v.id, $3 FROM variant v JOIN product p ON p.id = v.product_id
WHERE v.id = $2 AND v.is_active AND p.is_active AND p.archived_at IS NULL
ON CONFLICT (cart_id, variant_id) DO UPDATE SET quantity = EXCLUDED.quantity
"""
CLAIM_SQL = """
INSERT INTO idempotency_record (id, user_id, scope, key, fingerprint, status, token, locked_until, expires_at)
VALUES ($1, $2, 'POST /api/v1/orders', $3, $4, 'in_progress', $5, now() + interval '1 minute', now() + interval '1 day')
ON CONFLICT (user_id, scope, key) DO NOTHING RETURNING id
"""
# Reads the cart and empties it in one statement.
TAKE_CART_SQL = """
DELETE FROM cart_item i USING cart c WHERE c.id = i.cart_id AND c.user_id = $1
RETURNING i.variant_id, i.quantity
"""
# Every line's stock in one statement, each taken only if enough is left.
TAKE_STOCK_SQL = """
UPDATE variant v SET stock = v.stock - l.quantity, updated_at = now()
FROM unnest($1::uuid[], $2::int[]) AS l(id, quantity), product p
WHERE v.id = l.id AND p.id = v.product_id AND v.is_active AND p.is_active AND p.archived_at IS NULL
  AND v.stock >= l.quantity
RETURNING v.id, v.stock, v.sku, p.name || ' - ' || v.name AS name, v.price_amount, l.quantity
"""
ORDER_SQL = """
INSERT INTO customer_order (id, number, user_id, status, currency, subtotal_amount, shipping_amount,
                            total_amount, shipping_address, email)
SELECT $1, 'SO-' || lpad(nextval('order_number_seq')::text, 6, '0'), $2, 'pending_payment', 'EUR', $3, 0, $3, $4,
       u.email
FROM user_account u WHERE u.id = $2
RETURNING number, email, created_at
"""
LINES_SQL = """
INSERT INTO order_line (id, order_id, position, variant_id, sku, name, unit_price_amount, quantity, total_amount)
SELECT l.id, $1, l.position, l.variant_id, l.sku, l.name, l.price, l.quantity, l.price * l.quantity
FROM unnest($2::uuid[], $3::smallint[], $4::uuid[], $5::text[], $6::text[], $7::bigint[], $8::int[])
  AS l(id, position, variant_id, sku, name, price, quantity)
"""
STATUS_SQL = """
INSERT INTO order_status_change (id, order_id, status, actor_role, at)
VALUES ($1, $2, 'pending_payment', 'customer', $3)
"""
MOVEMENTS_SQL = """
INSERT INTO stock_movement (id, variant_id, delta, stock_after, reason, actor_id)
SELECT m.id, m.variant_id, -m.quantity, m.stock_after, $1, $2
FROM unnest($3::uuid[], $4::uuid[], $5::int[], $6::int[]) AS m(id, variant_id, quantity, stock_after)
"""
OUTBOX_SQL = "INSERT INTO outbox_event (id, type, payload, request_id) VALUES ($1, 'order.placed', $2, $3)"
ANSWER_SQL = """
UPDATE idempotency_record SET status = 'done', response_status = 201,
  response_headers = '{"content-type": "application/json"}', response_body = $2
WHERE id = $1
"""
state: dict[str, Any] = {}


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    state["settings"] = load_settings()
    state["pool"] = await asyncpg.create_pool(os.environ["BENCH_ASYNCPG_DSN"], min_size=2, max_size=10)
    yield
    await state["pool"].close()


app = FastAPI(lifespan=lifespan)


def _user(authorization: str) -> uuid.UUID:
    try:
        return decode_access_token(authorization.removeprefix("Bearer "), state["settings"]).user_id
    except Exception:
        raise HTTPException(401) from None


@app.get("/")
async def ready() -> dict[str, str]:
    return {"status": "ok"}


@app.put("/api/v1/cart/items/{variant_id}")
async def add_to_cart(variant_id: uuid.UUID, request: Request, authorization: Annotated[str, Header()]) -> Response:
    user_id = _user(authorization)
    quantity = int(json.loads(await request.body())["quantity"])
    async with state["pool"].acquire() as connection, connection.transaction():
        cart_id = await connection.fetchval(CART_SQL, uuid_utils.uuid7(), user_id)
        added = await connection.execute(CART_ITEM_SQL, cart_id, variant_id, quantity)
    if added.endswith(" 0"):
        raise HTTPException(422)
    return _json(200, {"variant_id": str(variant_id), "quantity": quantity})


@app.post("/api/v1/orders")
async def place_order(
    request: Request, authorization: Annotated[str, Header()], idempotency_key: Annotated[str, Header()]
) -> Response:
    user_id = _user(authorization)
    body = await request.body()
    address = json.loads(body)["shipping_address"]
    order_id = uuid_utils.uuid7()
    async with state["pool"].acquire() as connection, connection.transaction():
        fingerprint = hashlib.sha256(body).hexdigest()
        claim = await connection.fetchval(
            CLAIM_SQL, uuid_utils.uuid7(), user_id, idempotency_key, fingerprint, uuid_utils.uuid7()
        )
        if claim is None:
            raise HTTPException(409)
        cart = await connection.fetch(TAKE_CART_SQL, user_id)
        if not cart:
            raise HTTPException(422)
        taken = await connection.fetch(
            TAKE_STOCK_SQL, [line["variant_id"] for line in cart], [line["quantity"] for line in cart]
        )
        if len(taken) != len(cart):
            # Raised to roll the transaction back: no stock taken, the cart as it was.
            raise HTTPException(409, "insufficient_stock")
        total = sum(line["price_amount"] * line["quantity"] for line in taken)
        order = await connection.fetchrow(ORDER_SQL, order_id, user_id, total, json.dumps(address))
        count = len(taken)
        await connection.execute(
            LINES_SQL,
            order_id,
            [uuid_utils.uuid7() for _ in taken],
            list(range(count)),
            [line["id"] for line in taken],
            [line["sku"] for line in taken],
            [line["name"] for line in taken],
            [line["price_amount"] for line in taken],
            [line["quantity"] for line in taken],
        )
        await connection.execute(STATUS_SQL, uuid_utils.uuid7(), order_id, order["created_at"])
        await connection.execute(
            MOVEMENTS_SQL,
            f"order {order['number']}",
            order_id,
            [uuid_utils.uuid7() for _ in taken],
            [line["id"] for line in taken],
            [line["quantity"] for line in taken],
            [line["stock"] for line in taken],
        )
        answer = _order(order_id, order, taken, total, address)
        await connection.execute(
            OUTBOX_SQL, uuid_utils.uuid7(), json.dumps(answer), request.headers.get("x-request-id")
        )
        encoded = json.dumps(answer, separators=(",", ":")).encode()
        await connection.execute(ANSWER_SQL, claim, encoded)
    return Response(encoded, status_code=201, media_type="application/json")


def _order(order_id: uuid.UUID, order: asyncpg.Record, taken: list[asyncpg.Record], total: int, address: Any) -> Any:
    def money(amount: int) -> dict[str, Any]:
        return {"amount": amount, "currency": "EUR"}

    created = order["created_at"].isoformat()
    return {
        "id": str(order_id),
        "number": order["number"],
        "status": "pending_payment",
        "items": [
            {
                "variant_id": str(line["id"]),
                "sku": line["sku"],
                "name": line["name"],
                "unit_price": money(line["price_amount"]),
                "quantity": line["quantity"],
                "line_total": money(line["price_amount"] * line["quantity"]),
            }
            for line in taken
        ],
        "subtotal": money(total),
        "shipping_total": money(0),
        "total": money(total),
        "currency": "EUR",
        "shipping_address": address,
        "email": order["email"],
        "history": [{"status": "pending_payment", "at": created, "actor_role": "customer"}],
        "created_at": created,
    }


def _json(status: int, body: object) -> Response:
    return Response(json.dumps(body).encode(), status_code=status, media_type="application/json")
