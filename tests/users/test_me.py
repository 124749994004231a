"""GET and PATCH /users/me: the caller's own account."""

import httpx
import pytest

from tests.fixtures.auth import PASSWORD, Account, login
from tests.fixtures.problems import assert_problem

ME = "/api/v1/users/me"


class TestRead:
    async def test_answers_the_callers_account(self, client: httpx.AsyncClient, customer: Account) -> None:
        response = await client.get(ME, headers=customer.headers)
        assert response.status_code == 200
        user = response.json()
        assert set(user) == {"id", "email", "full_name", "role", "is_active", "created_at"}
        assert (user["id"], user["email"], user["full_name"]) == (str(customer.id), customer.email, "Carla Customer")
        assert (user["role"], user["is_active"]) == ("customer", True)


class TestUpdate:
    async def test_the_full_name_changes_without_a_password(self, client: httpx.AsyncClient, customer: Account) -> None:
        response = await client.patch(ME, json={"full_name": "  Carla C. "}, headers=customer.headers)
        assert response.status_code == 200, response.text
        assert response.json()["full_name"] == "Carla C."
        assert (await client.get(ME, headers=customer.headers)).json()["full_name"] == "Carla C."

    async def test_an_empty_body_changes_nothing(self, client: httpx.AsyncClient, customer: Account) -> None:
        before = (await client.get(ME, headers=customer.headers)).json()
        response = await client.patch(ME, json={}, headers=customer.headers)
        assert response.json() == before

    async def test_the_email_changes_with_the_current_password(
        self, client: httpx.AsyncClient, customer: Account
    ) -> None:
        change = {"email": "Carla.New@Example.com", "current_password": PASSWORD}
        response = await client.patch(ME, json=change, headers=customer.headers)
        assert response.status_code == 200, response.text
        assert response.json()["email"] == "carla.new@example.com"
        await login(client, "carla.new@example.com")

    async def test_the_password_changes_with_the_current_password_and_ends_every_login(
        self, client: httpx.AsyncClient, customer: Account
    ) -> None:
        pair = await login(client, customer.email)
        change = {"password": "a-brand-new-password", "current_password": PASSWORD}
        assert (await client.patch(ME, json=change, headers=customer.headers)).status_code == 200
        await login(client, customer.email, "a-brand-new-password")
        old = await client.post("/api/v1/auth/token", data={"username": customer.email, "password": PASSWORD})
        assert_problem(old, 401, "invalid_credentials")
        refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert_problem(refreshed, 401, "invalid_token")

    @pytest.mark.parametrize("change", [{"email": "x@example.com"}, {"password": "new-password-1"}])
    async def test_without_the_current_password_email_and_password_are_a_422(
        self, client: httpx.AsyncClient, customer: Account, change: dict[str, str]
    ) -> None:
        assert_problem(await client.patch(ME, json=change, headers=customer.headers), 422, "validation_error")

    @pytest.mark.parametrize("change", [{"email": "x@example.com"}, {"password": "new-password-1"}])
    async def test_a_wrong_current_password_is_a_400(
        self, client: httpx.AsyncClient, customer: Account, change: dict[str, str]
    ) -> None:
        response = await client.patch(ME, json={**change, "current_password": "wrong"}, headers=customer.headers)
        assert_problem(response, 400, "invalid_current_password")
        assert (await client.get(ME, headers=customer.headers)).json()["email"] == customer.email
        await login(client, customer.email)

    async def test_an_email_taken_in_another_case_is_a_409(
        self, client: httpx.AsyncClient, customer: Account, staff: Account
    ) -> None:
        change = {"email": staff.email.upper(), "current_password": PASSWORD}
        assert_problem(await client.patch(ME, json=change, headers=customer.headers), 409, "email_taken")

    async def test_changing_to_the_same_email_in_another_case_is_fine(
        self, client: httpx.AsyncClient, customer: Account
    ) -> None:
        change = {"email": customer.email.upper(), "current_password": PASSWORD}
        response = await client.patch(ME, json=change, headers=customer.headers)
        assert response.status_code == 200
        assert response.json()["email"] == customer.email

    @pytest.mark.parametrize("field", ["role", "id", "is_active", "created_at"])
    async def test_server_owned_fields_are_a_422(
        self, client: httpx.AsyncClient, customer: Account, field: str
    ) -> None:
        response = await client.patch(ME, json={field: "admin"}, headers=customer.headers)
        assert_problem(response, 422, "validation_error")
        assert (await client.get(ME, headers=customer.headers)).json()["role"] == "customer"

    async def test_a_too_short_new_password_is_a_422(self, client: httpx.AsyncClient, customer: Account) -> None:
        change = {"password": "short", "current_password": PASSWORD}
        assert_problem(await client.patch(ME, json=change, headers=customer.headers), 422, "validation_error")

    async def test_needs_a_token(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.patch(ME, json={"full_name": "x"}), 401, "unauthorized")
