"""POST /auth/register: a customer account, its welcome email in the outbox, and what is refused."""

import uuid
from datetime import datetime

import httpx
import pytest

from shop import events
from shop.core.resources import Resources
from tests.fixtures.auth import Account, outbox_events
from tests.fixtures.problems import assert_problem

REGISTER = "/api/v1/auth/register"


def body(**overrides: object) -> dict[str, object]:
    return {"email": "New.Customer@Example.com", "password": "s3cret-enough", "full_name": "New Customer", **overrides}


class TestRegister:
    async def test_creates_a_customer_and_answers_201_with_the_user(self, client: httpx.AsyncClient) -> None:
        response = await client.post(REGISTER, json=body())
        assert response.status_code == 201, response.text
        user = response.json()
        assert set(user) == {"id", "email", "full_name", "role", "is_active", "created_at"}
        assert uuid.UUID(user["id"]).version == 7
        assert user["email"] == "new.customer@example.com", "addresses are stored lower-cased"
        assert (user["full_name"], user["role"], user["is_active"]) == ("New Customer", "customer", True)
        assert datetime.fromisoformat(user["created_at"]).utcoffset() is not None

    async def test_the_new_account_can_log_in_with_any_case_of_its_email(self, client: httpx.AsyncClient) -> None:
        await client.post(REGISTER, json=body())
        form = {"username": "NEW.customer@example.COM", "password": "s3cret-enough"}
        response = await client.post("/api/v1/auth/token", data=form)
        assert response.status_code == 200, response.text

    async def test_records_the_welcome_event_in_the_same_transaction(
        self, client: httpx.AsyncClient, resources: Resources
    ) -> None:
        user = (await client.post(REGISTER, json=body())).json()
        assert await outbox_events(resources, events.USER_REGISTERED) == [
            {"user_id": user["id"], "email": "new.customer@example.com", "full_name": "New Customer"}
        ]


class TestRefused:
    async def test_an_email_taken_in_another_case_is_a_409(
        self, client: httpx.AsyncClient, customer: Account, resources: Resources
    ) -> None:
        response = await client.post(REGISTER, json=body(email=customer.email.upper()))
        assert_problem(response, 409, "email_taken")
        assert await outbox_events(resources, events.USER_REGISTERED) == [], "no email for a refused registration"

    @pytest.mark.parametrize("field", ["role", "id", "is_active", "created_at"])
    async def test_a_body_setting_a_server_owned_field_is_a_422(
        self, client: httpx.AsyncClient, resources: Resources, field: str
    ) -> None:
        value = "admin" if field == "role" else str(uuid.uuid4())
        response = await client.post(REGISTER, json=body(**{field: value}))
        problem = assert_problem(response, 422, "validation_error")
        assert problem["errors"] == [
            {"loc": ["body", field], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}
        ]
        assert await outbox_events(resources, events.USER_REGISTERED) == []

    @pytest.mark.parametrize(
        ("password", "error_type"),
        [("seven77", "string_too_short"), ("x" * 129, "string_too_long"), (12345678, "string_type")],
    )
    async def test_a_password_outside_8_to_128_characters_is_a_422(
        self, client: httpx.AsyncClient, password: object, error_type: str
    ) -> None:
        problem = assert_problem(await client.post(REGISTER, json=body(password=password)), 422, "validation_error")
        assert [(e["loc"], e["type"]) for e in problem["errors"]] == [(["body", "password"], error_type)]  # type: ignore[union-attr]

    async def test_passwords_of_exactly_8_and_128_characters_are_accepted(self, client: httpx.AsyncClient) -> None:
        assert (await client.post(REGISTER, json=body(email="a@example.com", password="8" * 8))).status_code == 201
        assert (await client.post(REGISTER, json=body(email="b@example.com", password="x" * 128))).status_code == 201

    @pytest.mark.parametrize("email", ["not-an-email", "two@@example.com", "no-domain@", "a@b", ""])
    async def test_an_invalid_email_is_a_422(self, client: httpx.AsyncClient, email: str) -> None:
        problem = assert_problem(await client.post(REGISTER, json=body(email=email)), 422, "validation_error")
        assert problem["errors"][0]["loc"] == ["body", "email"]  # type: ignore[index]

    @pytest.mark.parametrize("missing", ["email", "password", "full_name"])
    async def test_every_field_is_required(self, client: httpx.AsyncClient, missing: str) -> None:
        data = body()
        del data[missing]
        assert_problem(await client.post(REGISTER, json=data), 422, "validation_error")

    async def test_a_blank_full_name_is_a_422(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.post(REGISTER, json=body(full_name="   ")), 422, "validation_error")
