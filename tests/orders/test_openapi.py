"""/openapi.json documents the cart, order and payment routes: descriptions, keys and errors."""

from typing import Any

import httpx
import pytest

# A JSON body can be too large or of another media type (see shop.core.routing).
JSON_BODY = {"413", "415"}
# Every operation can be shed under load, or lose its database (see shop.core.openapi).
UNAVAILABLE = {"503"}
# (method, path) → (takes Idempotency-Key, error statuses)
ROUTES: dict[tuple[str, str], tuple[bool, set[str]]] = {
    ("get", "/api/v1/cart"): (False, {"401", "422"} | UNAVAILABLE),
    ("put", "/api/v1/cart/items/{variant_id}"): (False, {"401", "422"} | JSON_BODY | UNAVAILABLE),
    ("delete", "/api/v1/cart/items/{variant_id}"): (False, {"401", "422"} | UNAVAILABLE),
    ("delete", "/api/v1/cart"): (False, {"401", "422"} | UNAVAILABLE),
    ("post", "/api/v1/orders"): (True, {"400", "401", "409", "422", "429"} | JSON_BODY | UNAVAILABLE),
    ("get", "/api/v1/orders"): (False, {"401", "422"} | UNAVAILABLE),
    ("get", "/api/v1/orders/{order_id}"): (False, {"401", "404", "422"} | UNAVAILABLE),
    ("post", "/api/v1/orders/{order_id}/pay"): (
        True,
        {"400", "401", "402", "404", "409", "422", "502"} | JSON_BODY | UNAVAILABLE,
    ),
    ("post", "/api/v1/orders/{order_id}/cancel"): (True, {"400", "401", "404", "409", "422", "502"} | UNAVAILABLE),
    ("get", "/api/v1/admin/orders"): (False, {"401", "403", "422"} | UNAVAILABLE),
    ("get", "/api/v1/admin/orders/{order_id}"): (False, {"401", "403", "404", "422"} | UNAVAILABLE),
    ("post", "/api/v1/admin/orders/{order_id}/ship"): (
        True,
        {"400", "401", "403", "404", "409", "422"} | JSON_BODY | UNAVAILABLE,
    ),
    ("post", "/api/v1/admin/orders/{order_id}/deliver"): (
        True,
        {"400", "401", "403", "404", "409", "422"} | UNAVAILABLE,
    ),
    ("post", "/api/v1/admin/orders/{order_id}/refund"): (
        True,
        {"400", "401", "403", "404", "409", "422", "502"} | UNAVAILABLE,
    ),
    ("post", "/api/v1/admin/orders/{order_id}/cancel"): (
        True,
        {"400", "401", "403", "404", "409", "422", "502"} | UNAVAILABLE,
    ),
    ("post", "/api/v1/payments/webhook"): (False, {"400", "413", "422"} | UNAVAILABLE),
}


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict[str, Any]:
    document: dict[str, Any] = (await client.get("/openapi.json")).json()
    return document


@pytest.mark.parametrize(("method", "path"), list(ROUTES))
def test_every_route_is_described_with_its_errors(spec: dict[str, Any], method: str, path: str) -> None:
    idempotent, errors = ROUTES[(method, path)]
    operation = spec["paths"][path][method]
    assert operation.get("description")
    headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
    assert ("Idempotency-Key" in headers) is idempotent
    assert {code for code in operation["responses"] if code.startswith(("4", "5"))} == errors


def test_the_order_and_cart_shapes(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    breakdown = {"discount_total", "shipping_total", "tax_total", "total", "taxes", "promotions", "prices_include_tax"}
    assert set(schemas["Order"]["properties"]) == {
        "id", "number", "status", "items", "subtotal", "currency", "coupon_code", "shipping_method",
        "shipping_address", "email", "tracking", "history", "created_at", "updated_at", "paid_at",
        "cancelled_at", *breakdown,
    }  # fmt: skip
    assert set(schemas["Cart"]["properties"]) == {
        "items", "subtotal", "item_count", "shipping_address", "shipping_method_id", "shipping_methods", "coupon",
        *breakdown,
    }  # fmt: skip
    line = {"discount", "tax_rate", "tax", "total"}
    assert set(schemas["CartLine"]["properties"]) == {
        "variant_id", "sku", "name", "unit_price", "quantity", "line_total", "available", *line,
    }  # fmt: skip
    assert set(schemas["OrderItem"]["properties"]) == {
        "variant_id", "sku", "name", "unit_price", "quantity", "line_total", *line,
    }  # fmt: skip
    assert set(schemas["OrderCreate"]["properties"]) == {
        "shipping_address", "items", "shipping_method_id", "coupon_code",
    }  # fmt: skip
    assert schemas["OrderCreate"]["additionalProperties"] is False
