"""/openapi.json documents every accounts route: its body, its answer and its errors."""

from typing import Any

import httpx
import pytest

# Any body can be too large; a JSON body can also be of another media type (see shop.core.routing).
FORM_BODY = {"413"}
JSON_BODY = {"413", "415"}
# Every operation can be shed under load, or lose its database (see shop.core.openapi).
UNAVAILABLE = {"503"}
# (method, path) → (request body schema, success status, response schema, error statuses)
ROUTES: dict[tuple[str, str], tuple[str | None, str, str | None, set[str]]] = {
    ("post", "/api/v1/auth/register"): ("UserCreate", "201", "User", {"409", "422"} | JSON_BODY | UNAVAILABLE),
    ("post", "/api/v1/auth/token"): (
        "LogInForm",
        "200",
        "TokenPair",
        {"401", "422", "429"} | FORM_BODY | UNAVAILABLE,
    ),
    ("post", "/api/v1/auth/refresh"): ("RefreshRequest", "200", "TokenPair", {"401", "422"} | JSON_BODY | UNAVAILABLE),
    ("post", "/api/v1/auth/logout"): ("RefreshRequest", "204", None, {"422"} | JSON_BODY | UNAVAILABLE),
    ("post", "/api/v1/auth/password-reset"): (
        "PasswordResetRequest",
        "202",
        None,
        {"422", "429"} | JSON_BODY | UNAVAILABLE,
    ),
    ("post", "/api/v1/auth/password-reset/confirm"): (
        "PasswordResetConfirm",
        "204",
        None,
        {"401", "422"} | JSON_BODY | UNAVAILABLE,
    ),
    ("get", "/api/v1/users/me"): (None, "200", "User", {"401", "422"} | UNAVAILABLE),
    ("patch", "/api/v1/users/me"): (
        "UserUpdate",
        "200",
        "User",
        {"400", "401", "409", "422"} | JSON_BODY | UNAVAILABLE,
    ),
    ("get", "/api/v1/admin/users"): (None, "200", "Page_AdminUserView_", {"401", "403", "422"} | UNAVAILABLE),
    ("patch", "/api/v1/admin/users/{user_id}"): (
        "AdminUserUpdate",
        "200",
        "AdminUserView",
        {"401", "403", "404", "422"} | JSON_BODY | UNAVAILABLE,
    ),
}
PROTECTED = {key for key in ROUTES if "/users" in key[1]}


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _ref(content: dict[str, Any]) -> str:
    schema = next(iter(content.values()))["schema"]
    return str(schema["$ref"]).rsplit("/", 1)[-1]


@pytest.mark.parametrize(("method", "path"), list(ROUTES))
def test_every_route_has_its_models_and_error_responses(spec: dict[str, Any], method: str, path: str) -> None:
    body, status, response_model, errors = ROUTES[(method, path)]
    operation = spec["paths"][path][method]
    assert operation.get("description"), "the one-line docstring becomes the description"
    if body is None:
        assert "requestBody" not in operation
    else:
        assert _ref(operation["requestBody"]["content"]) == body
    responses = operation["responses"]
    assert status in responses
    if response_model is not None:
        assert _ref(responses[status]["content"]) == response_model
    assert {code for code in responses if code.startswith(("4", "5"))} == errors
    for code in errors:
        assert list(responses[code]["content"]) == ["application/problem+json"]
        assert _ref(responses[code]["content"]) == "Problem"
        assert responses[code]["description"], "the description lists the error codes"


def test_error_descriptions_name_the_codes(spec: dict[str, Any]) -> None:
    token = spec["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert token["401"]["description"] == "invalid_credentials, account_disabled"
    assert token["429"]["description"] == "rate_limited"
    assert token["503"]["description"] == "service_unavailable"
    admin = spec["paths"]["/api/v1/admin/users/{user_id}"]["patch"]["responses"]
    assert admin["403"]["description"] == "forbidden"
    assert admin["404"]["description"] == "not_found"


def test_protected_routes_use_the_oauth2_password_flow(spec: dict[str, Any]) -> None:
    scheme = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    for method, path in ROUTES:
        security = spec["paths"][path][method].get("security")
        assert (security == [{"OAuth2PasswordBearer": []}]) == ((method, path) in PROTECTED), (method, path)


def test_passwords_are_write_only_and_bounded(spec: dict[str, Any]) -> None:
    password = spec["components"]["schemas"]["UserCreate"]["properties"]["password"]
    assert (password["format"], password["writeOnly"]) == ("password", True)
    assert (password["minLength"], password["maxLength"]) == (8, 128)
    assert "password" not in spec["components"]["schemas"]["User"]["properties"]
