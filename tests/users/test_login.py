"""POST /auth/token: the OAuth2 password flow, and answers that reveal nothing."""

import time
import uuid

import httpx
import jwt
import pytest

from shop.core.config import Settings
from shop.core.resources import Resources
from shop.core.security import Role
from tests.fixtures.auth import PASSWORD, Account, create_user
from tests.fixtures.problems import assert_problem

TOKEN = "/api/v1/auth/token"


class TestLogin:
    async def test_answers_a_token_pair(self, client: httpx.AsyncClient, customer: Account) -> None:
        response = await client.post(TOKEN, data={"username": customer.email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        pair = response.json()
        assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in"}
        assert pair["token_type"] == "bearer"
        assert pair["expires_in"] == 15 * 60
        assert response.headers["cache-control"] == "no-store"

    async def test_the_access_token_carries_the_claims_and_works(
        self, client: httpx.AsyncClient, staff: Account, settings: Settings
    ) -> None:
        pair = (await client.post(TOKEN, data={"username": staff.email, "password": PASSWORD})).json()
        claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
        assert set(claims) == {"sub", "role", "exp", "iat", "iss", "aud", "jti"}
        assert (claims["sub"], claims["role"]) == (str(staff.id), "staff")
        assert claims["exp"] - claims["iat"] == settings.access_token_minutes * 60
        assert abs(claims["iat"] - time.time()) < 60
        me = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
        assert me.json()["id"] == str(staff.id)

    async def test_each_login_gets_its_own_tokens(self, client: httpx.AsyncClient, customer: Account) -> None:
        form = {"username": customer.email, "password": PASSWORD}
        first, second = [(await client.post(TOKEN, data=form)).json() for _ in range(2)]
        assert first["refresh_token"] != second["refresh_token"]
        assert first["access_token"] != second["access_token"]

    async def test_the_form_also_takes_the_oauth2_grant_type(
        self, client: httpx.AsyncClient, customer: Account
    ) -> None:
        form = {"grant_type": "password", "username": customer.email, "password": PASSWORD}
        assert (await client.post(TOKEN, data=form)).status_code == 200

    async def test_a_json_body_is_a_422(self, client: httpx.AsyncClient, customer: Account) -> None:
        response = await client.post(TOKEN, json={"username": customer.email, "password": PASSWORD})
        assert_problem(response, 422, "validation_error")


class TestRefused:
    async def test_wrong_password_and_unknown_email_answer_identically(
        self, client: httpx.AsyncClient, customer: Account
    ) -> None:
        wrong = await client.post(TOKEN, data={"username": customer.email, "password": "not-the-password"})
        unknown = await client.post(TOKEN, data={"username": "nobody@example.com", "password": PASSWORD})
        for response in (wrong, unknown):
            assert_problem(response, 401, "invalid_credentials")
            assert response.headers["www-authenticate"] == "Bearer"
        assert wrong.json() == unknown.json()
        assert _comparable_headers(wrong) == _comparable_headers(unknown)

    async def test_an_unknown_email_costs_as_much_time_as_a_wrong_password(
        self, client: httpx.AsyncClient, customer: Account
    ) -> None:
        # Both paths run one Argon2 verification (~0.1 s); without the dummy one an unknown
        # email would answer in a few milliseconds.
        wrong = await _timed(client, customer.email)
        unknown = await _timed(client, "nobody@example.com")
        assert unknown > wrong / 3

    async def test_a_deactivated_user_with_the_right_password_is_told_so(
        self, client: httpx.AsyncClient, resources: Resources
    ) -> None:
        gone = await create_user(resources, email="gone@example.com", is_active=False)
        response = await client.post(TOKEN, data={"username": gone.email, "password": PASSWORD})
        assert_problem(response, 401, "account_disabled")

    async def test_a_deactivated_user_with_a_wrong_password_learns_nothing(
        self, client: httpx.AsyncClient, resources: Resources
    ) -> None:
        gone = await create_user(resources, email="gone@example.com", is_active=False)
        response = await client.post(TOKEN, data={"username": gone.email, "password": "wrong-password"})
        assert_problem(response, 401, "invalid_credentials")

    @pytest.mark.parametrize("form", [{"username": "a@example.com"}, {"password": PASSWORD}, {}])
    async def test_missing_fields_are_a_422(self, client: httpx.AsyncClient, form: dict[str, str]) -> None:
        assert_problem(await client.post(TOKEN, data=form), 422, "validation_error")

    @pytest.mark.parametrize(
        "field", [("username", "a" * 321), ("password", "p" * 129), ("scope", "s" * 256), ("client_id", "c" * 256)]
    )
    async def test_overlong_fields_are_a_422(
        self, client: httpx.AsyncClient, customer: Account, field: tuple[str, str]
    ) -> None:
        form = {"username": customer.email, "password": customer.password, field[0]: field[1]}
        response = await client.post("/api/v1/auth/token", data=form)
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", field[0]]

    async def test_a_username_that_is_no_email_is_just_wrong(self, client: httpx.AsyncClient) -> None:
        response = await client.post(TOKEN, data={"username": "admin", "password": PASSWORD})
        assert_problem(response, 401, "invalid_credentials")


def _comparable_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k not in {"x-request-id", "date"}}


async def _timed(client: httpx.AsyncClient, email: str) -> float:
    """The fastest of three answers: a scheduling hiccup on a busy machine cannot fake a gap."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        await client.post(TOKEN, data={"username": email, "password": f"wrong-{uuid.uuid4().hex}"})
        times.append(time.perf_counter() - started)
    return min(times)


async def test_roles_in_tokens_follow_the_account(client: httpx.AsyncClient, resources: Resources) -> None:
    boss = await create_user(resources, email="boss@example.com", role=Role.admin)
    pair = (await client.post(TOKEN, data={"username": boss.email, "password": PASSWORD})).json()
    assert jwt.decode(pair["access_token"], options={"verify_signature": False})["role"] == "admin"
