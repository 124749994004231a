"""No password, password hash or raw token ever shows in a response or in a log line."""

import logging

import httpx
import pytest
from sqlalchemy import text

from shop import events
from shop.core.resources import Resources
from tests.fixtures.auth import outbox_events

PASSWORD = "Sup3r-Secret-Passw0rd"
NEW_PASSWORD = "An0ther-Secret-Passw0rd"
RESET_PASSWORD = "Th1rd-Secret-Passw0rd"
TOO_SHORT = "Sh0rt-7"
EMAIL = "secretive@example.com"


async def every_flow(client: httpx.AsyncClient, resources: Resources) -> tuple[list[httpx.Response], list[str]]:
    """Register, log in (right and wrong), refresh, change and reset the password; return what was seen."""
    responses = [
        await client.post("/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD, "full_name": "S"}),
        await client.post(
            "/api/v1/auth/register", json={"email": "x@example.com", "password": TOO_SHORT, "full_name": "S"}
        ),
        await client.post("/api/v1/auth/token", data={"username": EMAIL, "password": PASSWORD + "-wrong"}),
        await client.post("/api/v1/auth/token", data={"username": EMAIL, "password": PASSWORD}),
    ]
    pair = responses[-1].json()
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    responses += [
        await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}),
        await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}),
        await client.patch(
            "/api/v1/users/me", json={"password": NEW_PASSWORD, "current_password": "wrong"}, headers=headers
        ),
        await client.patch(
            "/api/v1/users/me", json={"password": NEW_PASSWORD, "current_password": PASSWORD}, headers=headers
        ),
        await client.post("/api/v1/auth/password-reset", json={"email": EMAIL}),
    ]
    [reset] = await outbox_events(resources, events.PASSWORD_RESET_REQUESTED)
    responses += [
        await client.post(
            "/api/v1/auth/password-reset/confirm", json={"token": reset["token"], "new_password": TOO_SHORT}
        ),
        await client.post(
            "/api/v1/auth/password-reset/confirm", json={"token": reset["token"], "new_password": RESET_PASSWORD}
        ),
        await client.get("/api/v1/users/me", headers=headers),
    ]
    async with resources.database.engine.connect() as connection:
        password_hash = await connection.scalar(
            text("SELECT password_hash FROM user_account WHERE email = :e"), {"e": EMAIL}
        )
    secrets = [
        PASSWORD,
        NEW_PASSWORD,
        RESET_PASSWORD,
        TOO_SHORT,
        password_hash,
        "$argon2",
        reset["token"],
        pair["refresh_token"],
    ]
    return responses, secrets


async def test_no_secret_in_any_response(client: httpx.AsyncClient, resources: Resources) -> None:
    responses, secrets = await every_flow(client, resources)
    assert [r.status_code for r in responses] == [201, 422, 401, 200, 200, 401, 400, 200, 202, 422, 204, 200]
    for response in responses:
        seen = response.text + str(response.headers)
        if response.request.url.path.endswith(("/token", "/refresh")) and response.status_code == 200:
            seen = seen.replace(response.json()["refresh_token"], "")  # a pair legitimately carries its own token
        for secret in secrets:
            assert secret not in seen, (response.request.url, secret)
        assert "password" not in response.json() if response.content and response.status_code < 300 else True


async def test_no_secret_in_any_log_line(
    client: httpx.AsyncClient, resources: Resources, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        _, secrets = await every_flow(client, resources)
    lines = [f"{record.getMessage()} {record.args!r} {record.__dict__!r}" for record in caplog.records]
    assert any("users.password_reset" in line for line in lines), "the flows did log"
    for line in lines:
        for secret in secrets:
            assert secret not in line, secret
