"""/openapi.json as a client generator reads it: names, security, servers, headers and errors.

That every answer the suite receives is the one the document declares is checked for every
response by tests/fixtures/contract.py; here, the parts of the document no single answer shows.
"""

import re
from typing import Any

import httpx
import pytest

CAMEL_CASE = re.compile(r"^[a-z][a-zA-Z0-9]*$")
OAUTH2 = [{"OAuth2PasswordBearer": []}]
PROBLEM_JSON = "application/problem+json"


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict[str, Any]:
    document: dict[str, Any] = (await client.get("/openapi.json")).json()
    return document


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation) for path, methods in spec["paths"].items() for method, operation in methods.items()
    ]


def header(spec: dict[str, Any], response: dict[str, Any], name: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = response.get("headers", {}).get(name)
    if found is not None and "$ref" in found:
        found = spec["components"]["headers"][found["$ref"].rsplit("/", 1)[1]]
    return found


def test_operation_ids_are_unique_camel_case_words(spec: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(spec)]
    assert len(ids) == len(set(ids))
    assert [name for name in ids if not CAMEL_CASE.fullmatch(name)] == []


# Every operation's id, pinned: the generated clients name their methods after these, so a
# renamed handler must not rename a client's method. Staff operations take "admin" only where a
# customer's operation would have the same name.
OPERATION_IDS = {
    ("get", "/health/live"): "getLiveness",
    ("get", "/health/ready"): "getReadiness",
    ("get", "/api/v1/categories"): "listCategories",
    ("get", "/api/v1/products"): "listProducts",
    ("get", "/api/v1/products/by-slug/{slug}"): "getProductBySlug",
    ("get", "/api/v1/products/{product_id}"): "getProduct",
    ("post", "/api/v1/auth/register"): "registerUser",
    ("post", "/api/v1/auth/token"): "logIn",
    ("post", "/api/v1/auth/refresh"): "refreshTokens",
    ("post", "/api/v1/auth/logout"): "logOut",
    ("post", "/api/v1/auth/password-reset"): "requestPasswordReset",
    ("post", "/api/v1/auth/password-reset/confirm"): "confirmPasswordReset",
    ("get", "/api/v1/users/me"): "getCurrentUser",
    ("patch", "/api/v1/users/me"): "updateCurrentUser",
    ("get", "/api/v1/admin/users"): "listUsers",
    ("patch", "/api/v1/admin/users/{user_id}"): "updateUser",
    ("post", "/api/v1/admin/categories"): "createCategory",
    ("patch", "/api/v1/admin/categories/{category_id}"): "updateCategory",
    ("delete", "/api/v1/admin/categories/{category_id}"): "deleteCategory",
    ("post", "/api/v1/admin/products"): "createProduct",
    ("post", "/api/v1/admin/products/import"): "importProducts",
    ("patch", "/api/v1/admin/products/{product_id}"): "updateProduct",
    ("delete", "/api/v1/admin/products/{product_id}"): "archiveProduct",
    ("post", "/api/v1/admin/products/{product_id}/variants"): "addVariant",
    ("patch", "/api/v1/admin/variants/{variant_id}"): "updateVariant",
    ("post", "/api/v1/admin/variants/{variant_id}/stock"): "adjustStock",
    ("get", "/api/v1/admin/jobs/{job_id}"): "getJob",
    ("get", "/api/v1/admin/tax-classes"): "listTaxClasses",
    ("post", "/api/v1/admin/tax-classes"): "createTaxClass",
    ("get", "/api/v1/admin/tax-classes/{tax_class_id}"): "getTaxClass",
    ("patch", "/api/v1/admin/tax-classes/{tax_class_id}"): "updateTaxClass",
    ("delete", "/api/v1/admin/tax-classes/{tax_class_id}"): "deleteTaxClass",
    ("get", "/api/v1/admin/tax-rates"): "listTaxRates",
    ("post", "/api/v1/admin/tax-rates"): "createTaxRate",
    ("get", "/api/v1/admin/tax-rates/{tax_rate_id}"): "getTaxRate",
    ("patch", "/api/v1/admin/tax-rates/{tax_rate_id}"): "updateTaxRate",
    ("delete", "/api/v1/admin/tax-rates/{tax_rate_id}"): "deleteTaxRate",
    ("get", "/api/v1/admin/shipping-zones"): "listShippingZones",
    ("post", "/api/v1/admin/shipping-zones"): "createShippingZone",
    ("get", "/api/v1/admin/shipping-zones/{zone_id}"): "getShippingZone",
    ("patch", "/api/v1/admin/shipping-zones/{zone_id}"): "updateShippingZone",
    ("delete", "/api/v1/admin/shipping-zones/{zone_id}"): "deleteShippingZone",
    ("get", "/api/v1/admin/shipping-zones/{zone_id}/methods"): "listShippingMethods",
    ("post", "/api/v1/admin/shipping-zones/{zone_id}/methods"): "createShippingMethod",
    ("get", "/api/v1/admin/shipping-methods/{method_id}"): "getShippingMethod",
    ("patch", "/api/v1/admin/shipping-methods/{method_id}"): "updateShippingMethod",
    ("delete", "/api/v1/admin/shipping-methods/{method_id}"): "deleteShippingMethod",
    ("get", "/api/v1/admin/promotions"): "listPromotions",
    ("post", "/api/v1/admin/promotions"): "createPromotion",
    ("get", "/api/v1/admin/promotions/{promotion_id}"): "getPromotion",
    ("patch", "/api/v1/admin/promotions/{promotion_id}"): "updatePromotion",
    ("delete", "/api/v1/admin/promotions/{promotion_id}"): "deletePromotion",
    ("post", "/api/v1/admin/promotions/{promotion_id}/codes"): "createPromotionCode",
    ("get", "/api/v1/admin/promotions/{promotion_id}/codes"): "listPromotionCodes",
    ("post", "/api/v1/admin/promotions/{promotion_id}/codes/bulk"): "generatePromotionCodes",
    ("get", "/api/v1/admin/promotions/{promotion_id}/codes.csv"): "exportPromotionCodes",
    ("delete", "/api/v1/admin/promotion-codes/{code_id}"): "deletePromotionCode",
    ("get", "/api/v1/cart"): "getCart",
    ("delete", "/api/v1/cart"): "clearCart",
    ("put", "/api/v1/cart/items/{variant_id}"): "putCartItem",
    ("delete", "/api/v1/cart/items/{variant_id}"): "deleteCartItem",
    ("put", "/api/v1/cart/shipping-address"): "putCartShippingAddress",
    ("put", "/api/v1/cart/shipping-method"): "putCartShippingMethod",
    ("put", "/api/v1/cart/coupon"): "putCartCoupon",
    ("delete", "/api/v1/cart/coupon"): "deleteCartCoupon",
    ("post", "/api/v1/orders"): "placeOrder",
    ("get", "/api/v1/orders"): "listOrders",
    ("get", "/api/v1/orders/{order_id}"): "getOrder",
    ("post", "/api/v1/orders/{order_id}/pay"): "payOrder",
    ("post", "/api/v1/orders/{order_id}/cancel"): "cancelOrder",
    ("get", "/api/v1/admin/orders"): "adminListOrders",
    ("get", "/api/v1/admin/orders/{order_id}"): "adminGetOrder",
    ("post", "/api/v1/admin/orders/{order_id}/ship"): "shipOrder",
    ("post", "/api/v1/admin/orders/{order_id}/deliver"): "deliverOrder",
    ("post", "/api/v1/admin/orders/{order_id}/refund"): "refundOrder",
    ("post", "/api/v1/admin/orders/{order_id}/cancel"): "adminCancelOrder",
    ("post", "/api/v1/payments/webhook"): "receivePaymentEvent",
}


def test_every_operation_id_is_pinned(spec: dict[str, Any]) -> None:
    # A new operation is added here on purpose, with the name its clients will call.
    assert {(method, path): operation["operationId"] for path, method, operation in operations(spec)} == OPERATION_IDS


def test_public_operations_say_they_need_no_token(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        guarded = "401" in operation["responses"] and path not in {
            "/api/v1/auth/token",  # a wrong password
            "/api/v1/auth/refresh",  # a stale refresh token
            "/api/v1/auth/password-reset/confirm",  # a used reset token
        }
        assert operation["security"] == (OAUTH2 if guarded else []), (method, path)


def test_servers_licence_and_contact(spec: dict[str, Any]) -> None:
    assert spec["servers"] == [{"url": "/", "description": "The origin that serves this document"}]
    assert spec["info"]["license"] == {"name": "MIT", "identifier": "MIT"}
    assert spec["info"]["contact"]["name"]


def test_every_response_names_its_request_id(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            request_id = header(spec, response, "X-Request-ID")
            assert request_id is not None and request_id["required"], (method, path, status)


def test_every_operation_that_load_shedding_covers_can_be_a_503_with_retry_after(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        if path.startswith("/health/"):
            continue  # never shed: a probe must get its answer (shop.app)
        unavailable = operation["responses"]["503"]
        assert list(unavailable["content"]) == [PROBLEM_JSON], (method, path)
        assert header(spec, unavailable, "Retry-After") == {
            "description": "Seconds to wait before trying again.",
            "schema": {"type": "integer", "minimum": 1},
            "required": True,
        }
    assert "503" not in spec["paths"]["/health/live"]["get"]["responses"]


def test_retry_after_is_declared_where_a_limit_or_a_busy_key_sends_it(spec: dict[str, Any]) -> None:
    checkout = spec["paths"]["/api/v1/orders"]["post"]["responses"]
    assert header(spec, checkout["429"], "Retry-After")["required"]  # type: ignore[index]
    # 409 idempotency_in_progress sends it, 409 insufficient_stock does not.
    assert header(spec, checkout["409"], "Retry-After")["required"] is False  # type: ignore[index]
    login = spec["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert header(spec, login["429"], "Retry-After")["required"]  # type: ignore[index]
    assert header(spec, login["401"], "WWW-Authenticate")["required"]  # type: ignore[index]


def test_idempotent_operations_declare_the_replay_header(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        takes_key = any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
        for status, response in operation["responses"].items():
            replayed = header(spec, response, "Idempotent-Replayed")
            replayable = takes_key and status < "500" and status != "429"
            assert (replayed is not None) is replayable, (method, path, status)
            if replayed is not None:
                assert replayed["schema"] == {"type": "string", "enum": ["true"]}
                assert replayed["required"] is False


@pytest.mark.parametrize(
    "path", ["/api/v1/categories", "/api/v1/products/{product_id}", "/api/v1/products/by-slug/{slug}"]
)
def test_cached_reads_take_if_none_match_and_answer_304_with_an_etag(spec: dict[str, Any], path: str) -> None:
    operation = spec["paths"][path]["get"]
    (if_none_match,) = [p for p in operation["parameters"] if p["name"] == "If-None-Match"]
    assert (if_none_match["in"], if_none_match["required"]) == ("header", False)
    responses = operation["responses"]
    assert "content" not in responses["304"]
    for status in ("200", "304"):
        assert header(spec, responses[status], "ETag")["required"], status  # type: ignore[index]


def test_the_webhook_declares_its_body_its_signature_and_its_413(spec: dict[str, Any]) -> None:
    webhook = spec["paths"]["/api/v1/payments/webhook"]["post"]
    body = webhook["requestBody"]
    assert body["required"] is True
    assert body["content"] == {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookEvent"}}}
    event = spec["components"]["schemas"]["WebhookEvent"]
    assert set(event["required"]) == {"id", "type", "data"}
    assert event["properties"]["data"] == {"$ref": "#/components/schemas/WebhookData"}
    (signature,) = webhook["parameters"]
    assert (signature["name"], signature["in"], signature["required"]) == ("Shop-Signature", "header", True)
    assert signature["schema"]["type"] == "string"
    assert webhook["responses"]["413"]["description"] == "payload_too_large"


def test_the_import_says_where_to_follow_the_job(spec: dict[str, Any]) -> None:
    accepted = spec["paths"]["/api/v1/admin/products/import"]["post"]["responses"]["202"]
    assert header(spec, accepted, "Location")["required"]  # type: ignore[index]


def test_problems_type_their_validation_errors(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    problem = schemas["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}
    items = [option["$ref"].rsplit("/", 1)[1] for option in problem["properties"]["errors"]["items"]["anyOf"]]
    assert items[0] == "ValidationErrorItem"
    item = schemas["ValidationErrorItem"]
    assert set(item["required"]) == {"loc", "msg", "type"}
    assert item["properties"]["loc"]["items"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert item["additionalProperties"] is False


def test_form_bodies_have_readable_names(spec: dict[str, Any]) -> None:
    assert [name for name in spec["components"]["schemas"] if name.startswith("Body_")] == []
    token = spec["paths"]["/api/v1/auth/token"]["post"]["requestBody"]["content"]
    assert token["application/x-www-form-urlencoded"]["schema"] == {"$ref": "#/components/schemas/LogInForm"}


def test_every_schema_has_a_name_of_its_own(spec: dict[str, Any]) -> None:
    """Two models of one name in two domains get module-qualified names (`shop__orders__…`), which
    typed clients refuse to generate: a model's name is unique across the whole document."""
    assert [name for name in spec["components"]["schemas"] if "__" in name] == []
