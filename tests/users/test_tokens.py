"""Bearer access tokens, refresh-token rotation with reuse detection, and logout."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from sqlalchemy import text

from shop.core.config import Settings
from shop.core.resources import Resources
from shop.core.security import Role
from shop.users.tokens import _signing_key
from tests.fixtures.auth import Account, bearer, login
from tests.fixtures.problems import assert_problem

ME = "/api/v1/users/me"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"


def assert_unauthorized(response: httpx.Response, code: str) -> None:
    assert_problem(response, 401, code)
    assert response.headers["www-authenticate"] == "Bearer"


class TestAccessToken:
    async def test_no_token_is_a_401(self, client: httpx.AsyncClient) -> None:
        assert_unauthorized(await client.get(ME), "unauthorized")

    @pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "bearer-less-token"])
    async def test_a_malformed_authorization_header_is_a_401(self, client: httpx.AsyncClient, header: str) -> None:
        response = await client.get(ME, headers={"Authorization": header})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_an_expired_token_is_a_401(
        self, client: httpx.AsyncClient, customer: Account, settings: Settings
    ) -> None:
        issued = datetime.now(UTC) - timedelta(minutes=settings.access_token_minutes, seconds=10)
        assert_unauthorized(
            await client.get(ME, headers=bearer(customer.id, Role.customer, settings, now=issued)), "invalid_token"
        )

    async def test_a_token_just_inside_its_lifetime_works(
        self, client: httpx.AsyncClient, customer: Account, settings: Settings
    ) -> None:
        issued = datetime.now(UTC) - timedelta(minutes=settings.access_token_minutes, seconds=-30)
        assert (
            await client.get(ME, headers=bearer(customer.id, Role.customer, settings, now=issued))
        ).status_code == 200

    async def test_a_tampered_token_is_a_401(
        self, client: httpx.AsyncClient, customer: Account, staff: Account
    ) -> None:
        token = customer.headers["Authorization"].removeprefix("Bearer ")
        header, payload, signature = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["sub"], claims["role"] = str(staff.id), "admin"
        forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        forged = f"{header}.{forged_payload}.{signature}"
        assert_unauthorized(await client.get(ME, headers={"Authorization": f"Bearer {forged}"}), "invalid_token")

    async def test_a_token_signed_with_another_key_is_a_401(self, client: httpx.AsyncClient, customer: Account) -> None:
        claims = _claims(customer)
        token = jwt.encode(claims, "another-key-that-is-at-least-32-bytes-long", algorithm="HS256")
        assert_unauthorized(await client.get(ME, headers={"Authorization": f"Bearer {token}"}), "invalid_token")

    async def test_an_unsigned_token_is_a_401(self, client: httpx.AsyncClient, customer: Account) -> None:
        token = jwt.encode(_claims(customer), None, algorithm="none")
        assert_unauthorized(await client.get(ME, headers={"Authorization": f"Bearer {token}"}), "invalid_token")

    @pytest.mark.parametrize(("claim", "value"), [("aud", "someone-else"), ("iss", "evil"), ("sub", "not-a-uuid")])
    async def test_a_token_for_another_audience_issuer_or_subject_is_a_401(
        self, client: httpx.AsyncClient, customer: Account, settings: Settings, claim: str, value: str
    ) -> None:
        token = _signed(settings, {**_claims(customer), claim: value})
        assert_unauthorized(await client.get(ME, headers={"Authorization": f"Bearer {token}"}), "invalid_token")

    async def test_a_token_missing_a_claim_is_a_401(
        self, client: httpx.AsyncClient, customer: Account, settings: Settings
    ) -> None:
        claims = _claims(customer)
        del claims["jti"]
        token = _signed(settings, claims)
        assert_unauthorized(await client.get(ME, headers={"Authorization": f"Bearer {token}"}), "invalid_token")

    async def test_the_token_of_a_deleted_user_is_a_401(
        self, client: httpx.AsyncClient, customer: Account, resources: Resources
    ) -> None:
        async with resources.database.engine.begin() as connection:
            await connection.execute(text("DELETE FROM user_account WHERE id = :id"), {"id": customer.id})
        assert_unauthorized(await client.get(ME, headers=customer.headers), "invalid_token")

    async def test_a_token_for_a_user_who_never_existed_is_a_401(
        self, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        assert_unauthorized(await client.get(ME, headers=bearer(uuid.uuid4(), Role.admin, settings)), "invalid_token")


class TestRefresh:
    async def test_gives_a_new_pair_and_the_old_token_stops_working(
        self, client: httpx.AsyncClient, customer: Account
    ) -> None:
        first = await login(client, customer.email)
        response = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
        assert response.status_code == 200, response.text
        second = response.json()
        assert set(second) == {"access_token", "refresh_token", "token_type", "expires_in"}
        assert second["refresh_token"] != first["refresh_token"]
        assert response.headers["cache-control"] == "no-store"
        assert (await client.get(ME, headers={"Authorization": f"Bearer {second['access_token']}"})).status_code == 200
        # The new refresh token rotates in turn.
        assert (await client.post(REFRESH, json={"refresh_token": second["refresh_token"]})).status_code == 200

    async def test_reusing_a_rotated_token_revokes_the_whole_login(
        self, client: httpx.AsyncClient, customer: Account
    ) -> None:
        stolen = await login(client, customer.email)
        rotated = (await client.post(REFRESH, json={"refresh_token": stolen["refresh_token"]})).json()
        reuse = await client.post(REFRESH, json={"refresh_token": stolen["refresh_token"]})
        assert_unauthorized(reuse, "invalid_token")
        # The legitimate holder's newer token is revoked as well: both must log in again.
        assert_unauthorized(
            await client.post(REFRESH, json={"refresh_token": rotated["refresh_token"]}), "invalid_token"
        )

    async def test_reuse_ends_only_that_login(self, client: httpx.AsyncClient, customer: Account) -> None:
        phone = await login(client, customer.email)
        laptop = await login(client, customer.email)
        await client.post(REFRESH, json={"refresh_token": phone["refresh_token"]})
        await client.post(REFRESH, json={"refresh_token": phone["refresh_token"]})
        assert (await client.post(REFRESH, json={"refresh_token": laptop["refresh_token"]})).status_code == 200

    async def test_an_expired_refresh_token_is_a_401(
        self, client: httpx.AsyncClient, customer: Account, resources: Resources
    ) -> None:
        pair = await login(client, customer.email)
        async with resources.database.engine.begin() as connection:
            await connection.execute(text("UPDATE refresh_token SET expires_at = now() - interval '1 second'"))
        assert_unauthorized(await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]}), "invalid_token")

    async def test_refresh_tokens_live_as_long_as_the_setting_says(
        self, client: httpx.AsyncClient, customer: Account, resources: Resources, settings: Settings
    ) -> None:
        await login(client, customer.email)
        async with resources.database.engine.connect() as connection:
            lifetime = await connection.scalar(text("SELECT expires_at - created_at FROM refresh_token"))
        assert abs(lifetime - timedelta(days=settings.refresh_token_days)) < timedelta(minutes=1)

    @pytest.mark.parametrize("token", ["unknown-token", "x" * 512])
    async def test_an_unknown_token_is_a_401(self, client: httpx.AsyncClient, token: str) -> None:
        assert_unauthorized(await client.post(REFRESH, json={"refresh_token": token}), "invalid_token")

    @pytest.mark.parametrize("payload", [{}, {"refresh_token": ""}, {"refresh_token": "x" * 513}, {"token": "x"}])
    async def test_a_malformed_body_is_a_422(self, client: httpx.AsyncClient, payload: dict[str, str]) -> None:
        assert_problem(await client.post(REFRESH, json=payload), 422, "validation_error")

    async def test_refresh_tokens_are_stored_only_as_digests(
        self, client: httpx.AsyncClient, customer: Account, resources: Resources
    ) -> None:
        pair = await login(client, customer.email)
        async with resources.database.engine.connect() as connection:
            stored = (await connection.execute(text("SELECT token_hash FROM refresh_token"))).scalars().all()
        assert pair["refresh_token"] not in stored
        assert all(len(digest) == 64 for digest in stored)


class TestLogout:
    async def test_answers_204_and_the_refresh_token_stops_working(
        self, client: httpx.AsyncClient, customer: Account
    ) -> None:
        pair = await login(client, customer.email)
        response = await client.post(LOGOUT, json={"refresh_token": pair["refresh_token"]})
        assert (response.status_code, response.content) == (204, b"")
        assert_unauthorized(await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]}), "invalid_token")

    async def test_needs_no_access_token_and_leaves_other_logins_alone(
        self, client: httpx.AsyncClient, customer: Account
    ) -> None:
        leaving = await login(client, customer.email)
        staying = await login(client, customer.email)
        assert (await client.post(LOGOUT, json={"refresh_token": leaving["refresh_token"]})).status_code == 204
        assert (await client.post(REFRESH, json={"refresh_token": staying["refresh_token"]})).status_code == 200

    async def test_logging_out_twice_or_with_an_unknown_token_is_still_204(
        self, client: httpx.AsyncClient, customer: Account
    ) -> None:
        pair = await login(client, customer.email)
        for token in (pair["refresh_token"], pair["refresh_token"], "never-issued"):
            assert (await client.post(LOGOUT, json={"refresh_token": token})).status_code == 204


def _claims(account: Account) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "sub": str(account.id),
        "role": account.role.value,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "iss": "shop",
        "aud": "shop-api",
        "jti": uuid.uuid4().hex,
    }


def _signed(settings: Settings, claims: dict[str, object]) -> str:
    """Signed with the server's own key: only the claims are wrong."""
    return jwt.encode(claims, _signing_key(settings), algorithm="HS256")
