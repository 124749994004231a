"""POST /auth/password-reset and /confirm: one-time tokens by email, no account enumeration."""

import time

import httpx
import pytest
from sqlalchemy import text

from shop import events
from shop.core.resources import Resources
from tests.fixtures.auth import PASSWORD, Account, create_user, login, outbox_events
from tests.fixtures.problems import assert_problem

RESET = "/api/v1/auth/password-reset"
CONFIRM = "/api/v1/auth/password-reset/confirm"
NEW_PASSWORD = "my-new-password-42"


async def reset_token(client: httpx.AsyncClient, resources: Resources, email: str) -> str:
    """Ask for a reset and read the token from the email's outbox event."""
    assert (await client.post(RESET, json={"email": email})).status_code == 202
    payloads = await outbox_events(resources, events.PASSWORD_RESET_REQUESTED)
    token: str = payloads[-1]["token"]
    return token


class TestRequest:
    async def test_an_existing_account_gets_a_token_by_email(
        self, client: httpx.AsyncClient, customer: Account, resources: Resources
    ) -> None:
        response = await client.post(RESET, json={"email": customer.email.upper()})
        assert (response.status_code, response.content) == (202, b"")
        [payload] = await outbox_events(resources, events.PASSWORD_RESET_REQUESTED)
        assert payload["user_id"] == str(customer.id)
        assert (payload["email"], payload["full_name"]) == (customer.email, "Carla Customer")
        assert payload["expires_minutes"] == 30
        assert len(payload["token"]) >= 40

    async def test_an_unknown_email_gets_the_same_answer_and_no_email(
        self, client: httpx.AsyncClient, customer: Account, resources: Resources
    ) -> None:
        known = await client.post(RESET, json={"email": customer.email})
        unknown = await client.post(RESET, json={"email": "nobody@example.com"})
        assert (unknown.status_code, unknown.content) == (known.status_code, known.content)
        assert {k for k in unknown.headers if k != "x-request-id"} == {k for k in known.headers if k != "x-request-id"}
        assert len(await outbox_events(resources, events.PASSWORD_RESET_REQUESTED)) == 1

    async def test_an_unknown_email_takes_about_as_long(self, client: httpx.AsyncClient, customer: Account) -> None:
        await client.post(RESET, json={"email": "warm-up@example.com"})
        known = await _timed(client, customer.email)
        unknown = await _timed(client, "nobody@example.com")
        assert abs(known - unknown) < 0.25

    async def test_a_deactivated_account_gets_no_email(self, client: httpx.AsyncClient, resources: Resources) -> None:
        await create_user(resources, email="gone@example.com", is_active=False)
        assert (await client.post(RESET, json={"email": "gone@example.com"})).status_code == 202
        assert await outbox_events(resources, events.PASSWORD_RESET_REQUESTED) == []

    async def test_the_token_is_stored_only_as_a_digest(
        self, client: httpx.AsyncClient, customer: Account, resources: Resources
    ) -> None:
        token = await reset_token(client, resources, customer.email)
        async with resources.database.engine.connect() as connection:
            stored = (await connection.execute(text("SELECT token_hash FROM password_reset_token"))).scalar_one()
        assert token not in stored

    async def test_an_invalid_email_is_a_422(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.post(RESET, json={"email": "not-an-email"}), 422, "validation_error")


class TestConfirm:
    async def test_sets_the_new_password_and_ends_every_login(
        self, client: httpx.AsyncClient, customer: Account, resources: Resources
    ) -> None:
        pair = await login(client, customer.email)
        token = await reset_token(client, resources, customer.email)
        response = await client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})
        assert (response.status_code, response.content) == (204, b"")
        await login(client, customer.email, NEW_PASSWORD)
        old = await client.post("/api/v1/auth/token", data={"username": customer.email, "password": PASSWORD})
        assert_problem(old, 401, "invalid_credentials")
        refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert_problem(refreshed, 401, "invalid_token")

    async def test_a_token_works_once(self, client: httpx.AsyncClient, customer: Account, resources: Resources) -> None:
        token = await reset_token(client, resources, customer.email)
        assert (await client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})).status_code == 204
        again = await client.post(CONFIRM, json={"token": token, "new_password": "yet-another-password"})
        assert_problem(again, 401, "invalid_token")
        await login(client, customer.email, NEW_PASSWORD)

    async def test_one_reset_spends_every_outstanding_token(
        self, client: httpx.AsyncClient, customer: Account, resources: Resources
    ) -> None:
        first = await reset_token(client, resources, customer.email)
        second = await reset_token(client, resources, customer.email)
        assert (await client.post(CONFIRM, json={"token": second, "new_password": NEW_PASSWORD})).status_code == 204
        assert_problem(
            await client.post(CONFIRM, json={"token": first, "new_password": NEW_PASSWORD}), 401, "invalid_token"
        )

    async def test_an_expired_token_is_a_401(
        self, client: httpx.AsyncClient, customer: Account, resources: Resources
    ) -> None:
        token = await reset_token(client, resources, customer.email)
        async with resources.database.engine.begin() as connection:
            await connection.execute(text("UPDATE password_reset_token SET expires_at = now() - interval '1 second'"))
        response = await client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})
        assert_problem(response, 401, "invalid_token")
        await login(client, customer.email)

    async def test_tokens_expire_after_the_configured_minutes(
        self, client: httpx.AsyncClient, customer: Account, resources: Resources
    ) -> None:
        await reset_token(client, resources, customer.email)
        async with resources.database.engine.connect() as connection:
            minutes = await connection.scalar(
                text("SELECT extract(epoch FROM expires_at - created_at) / 60 FROM password_reset_token")
            )
        assert abs(float(minutes) - resources.settings.password_reset_token_minutes) < 1

    async def test_an_unknown_token_is_a_401(self, client: httpx.AsyncClient) -> None:
        response = await client.post(CONFIRM, json={"token": "made-up", "new_password": NEW_PASSWORD})
        assert_problem(response, 401, "invalid_token")

    async def test_a_deactivated_account_cannot_reset(
        self, client: httpx.AsyncClient, customer: Account, resources: Resources
    ) -> None:
        token = await reset_token(client, resources, customer.email)
        async with resources.database.engine.begin() as connection:
            await connection.execute(text("UPDATE user_account SET is_active = false"))
        response = await client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})
        assert_problem(response, 401, "invalid_token")

    @pytest.mark.parametrize("password", ["short", "x" * 129])
    async def test_the_new_password_must_have_8_to_128_characters(
        self, client: httpx.AsyncClient, customer: Account, resources: Resources, password: str
    ) -> None:
        token = await reset_token(client, resources, customer.email)
        response = await client.post(CONFIRM, json={"token": token, "new_password": password})
        assert_problem(response, 422, "validation_error")
        # The refused attempt did not spend the token.
        assert (await client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})).status_code == 204


async def _timed(client: httpx.AsyncClient, email: str) -> float:
    """The fastest of three answers: a scheduling hiccup on a busy machine cannot fake a gap."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        await client.post(RESET, json={"email": email})
        times.append(time.perf_counter() - started)
    return min(times)
