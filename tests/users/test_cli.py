"""`shop create-admin EMAIL`, run as an operator would: a subprocess on the test database."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from shop.core.config import Settings
from shop.core.resources import Resources
from tests.fixtures.auth import PASSWORD, Account, login
from tests.fixtures.problems import assert_problem
from tests.fixtures.settings import settings_env

ADMIN_PASSWORD = "admin-password-123"


async def shop(settings: Settings, cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")} | settings_env(settings)
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "shop.cli", *args],
        input=stdin,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def role_of(client: httpx.AsyncClient, email: str, password: str) -> str:
    pair = await login(client, email, password)
    me = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    role: str = me.json()["role"]
    return role


class TestCreate:
    async def test_creates_an_admin_from_a_password_on_stdin(
        self, client: httpx.AsyncClient, settings: Settings, resources: Resources, tmp_path: Path
    ) -> None:
        result = await shop(
            settings, tmp_path, "create-admin", "Root@Example.com", "--password-stdin", stdin=ADMIN_PASSWORD + "\n"
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "created admin root@example.com"
        assert await role_of(client, "root@example.com", ADMIN_PASSWORD) == "admin"
        assert ADMIN_PASSWORD not in result.stdout + result.stderr

    async def test_prompts_for_the_password_twice(
        self, client: httpx.AsyncClient, settings: Settings, resources: Resources, tmp_path: Path
    ) -> None:
        typed = f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n"
        result = await shop(settings, tmp_path, "create-admin", "root@example.com", stdin=typed)
        assert result.returncode == 0, result.stderr
        assert "Repeat for confirmation" in result.stdout + result.stderr
        assert await role_of(client, "root@example.com", ADMIN_PASSWORD) == "admin"

    async def test_two_different_passwords_create_nothing(
        self, client: httpx.AsyncClient, settings: Settings, resources: Resources, tmp_path: Path
    ) -> None:
        typed = f"{ADMIN_PASSWORD}\nsomething-else\n"
        result = await shop(settings, tmp_path, "create-admin", "root@example.com", stdin=typed)
        assert result.returncode != 0
        assert "do not match" in result.stdout + result.stderr
        response = await client.post(
            "/api/v1/auth/token", data={"username": "root@example.com", "password": ADMIN_PASSWORD}
        )
        assert_problem(response, 401, "invalid_credentials")


class TestPromote:
    async def test_an_existing_user_is_promoted_reactivated_and_given_the_password(
        self, client: httpx.AsyncClient, settings: Settings, customer: Account, tmp_path: Path
    ) -> None:
        old_login = await login(client, customer.email, PASSWORD)
        result = await shop(
            settings, tmp_path, "create-admin", customer.email.upper(), "--password-stdin", stdin=ADMIN_PASSWORD
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"promoted {customer.email} to admin"
        assert await role_of(client, customer.email, ADMIN_PASSWORD) == "admin"
        refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": old_login["refresh_token"]})
        assert_problem(refreshed, 401, "invalid_token")

    async def test_running_it_twice_keeps_one_account(
        self, client: httpx.AsyncClient, settings: Settings, admin: Account, tmp_path: Path
    ) -> None:
        for _ in range(2):
            result = await shop(
                settings, tmp_path, "create-admin", "root@example.com", "--password-stdin", stdin=ADMIN_PASSWORD
            )
            assert result.returncode == 0, result.stderr
        page = (await client.get("/api/v1/admin/users", params={"q": "root@"}, headers=admin.headers)).json()
        assert [user["email"] for user in page["items"]] == ["root@example.com"]


class TestBadInput:
    @pytest.mark.parametrize(
        ("args", "stdin", "message"),
        [
            (["not-an-email"], ADMIN_PASSWORD, "shop: invalid email address 'not-an-email': "),
            (["root@example.com"], "short", "shop: the password must have 8 to 128 characters"),
            (["root@example.com"], "x" * 129, "shop: the password must have 8 to 128 characters"),
            (["root@example.com"], "", "shop: no password on standard input"),
            (
                ["root@example.com", "--full-name", "  "],
                ADMIN_PASSWORD,
                "shop: the full name must have 1 to 200 characters",
            ),
        ],
    )
    async def test_exits_non_zero_with_one_clear_line(
        self,
        client: httpx.AsyncClient,
        settings: Settings,
        resources: Resources,
        tmp_path: Path,
        args: list[str],
        stdin: str,
        message: str,
    ) -> None:
        result = await shop(settings, tmp_path, "create-admin", *args, "--password-stdin", stdin=stdin)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(message), result.stderr
        response = await client.post(
            "/api/v1/auth/token", data={"username": "root@example.com", "password": ADMIN_PASSWORD}
        )
        assert_problem(response, 401, "invalid_credentials")

    async def test_an_unreachable_database_is_one_clear_line(self, settings: Settings, tmp_path: Path) -> None:
        down = settings.model_copy(update={"database_url": "postgresql+asyncpg://postgres@127.0.0.1:1/shop"})
        result = await shop(
            down, tmp_path, "create-admin", "root@example.com", "--password-stdin", stdin=ADMIN_PASSWORD
        )
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == ["shop: cannot reach the database (ConnectionRefusedError)"]
