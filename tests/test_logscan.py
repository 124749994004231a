"""The secrets-in-logs check of the suite (tests/fixtures/logscan.py) flags what it must, and fails a run."""

import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import jwt
import pytest
from argon2 import PasswordHasher

from shop.core.security import Role
from tests.fixtures.auth import PASSWORD
from tests.fixtures.logscan import scan_lines
from tests.fixtures.orders import WEBHOOK_SECRET
from tests.fixtures.settings import TEST_SECRET_KEY, make_settings

ROOT = Path(__file__).resolve().parent.parent
ACCESS_TOKEN = jwt.encode({"sub": "2f6c1f1e", "role": Role.customer.value}, "k" * 32, algorithm="HS256")
REFRESH_TOKEN = secrets.token_urlsafe(32)


class TestFlagged:
    @pytest.mark.parametrize(
        ("line", "kind"),
        [
            (f"auth.refreshed token={ACCESS_TOKEN}", "a JWT"),
            (f"{{'event': 'x', 'hash': '{PasswordHasher().hash('whatever-it-is')}'}}", "an Argon2 hash"),
            ("user.loaded password_hash=$2b$12$" + "a" * 53, "a bcrypt hash"),
            (f"auth.logout refresh_token={REFRESH_TOKEN}", "an opaque token"),
            ("http.request headers={'authorization': 'Token abcdef'}", "an Authorization header"),
            ("sent Authorization: Basic dXNlcjpwYXNzd29yZA==", "an Authorization value"),
            (f"login attempt password={PASSWORD}", "a password or secret the tests use"),
            (f"signing with {TEST_SECRET_KEY}", "a password or secret the tests use"),
        ],
        ids=["jwt", "argon2", "bcrypt", "opaque", "header", "basic", "password", "secret-key"],
    )
    def test_a_secret_is_flagged_and_masked(self, line: str, kind: str) -> None:
        (hit,) = scan_lines(["a clean line", line], [PASSWORD, TEST_SECRET_KEY], source="app.log")
        assert (hit.source, hit.line_number) == ("app.log", 2)
        assert kind in hit.kind
        assert str(hit).startswith("app.log:2: ")
        for secret in (ACCESS_TOKEN, REFRESH_TOKEN, PASSWORD, TEST_SECRET_KEY, "dXNlcjpwYXNzd29yZA=="):
            assert secret not in hit.line

    def test_colour_codes_do_not_hide_a_secret(self) -> None:
        (hit,) = scan_lines([f"token=\x1b[35m{ACCESS_TOKEN}\x1b[0m"], [])
        assert hit.kind == "a JWT"


class TestNotFlagged:
    @pytest.mark.parametrize(
        "line",
        [
            "2026-01-01T00:00:00Z [info] http.request method=GET path=/api/v1/products/by-slug/"
            "a-very-long-product-slug-of-forty-three-ch route=/api/v1/products/by-slug/{slug} status=200",
            "request_id=3f2a9c1e0b7d4e8fa1c2d3e4f5a6b7c8 user_id=01938a6e-7c1d-7b3e-9f00-1a2b3c4d5e6f",
            "ratelimit key shop:ratelimit:login:email:5d41402abc4b2a76b9719d911017c592",
            "auth.login_failed reason=invalid_credentials, WWW-Authenticate: Bearer",
            "users.password_changed user_id=42 a short password: wrong",
        ],
    )
    def test_ordinary_lines_pass(self, line: str) -> None:
        assert scan_lines([line], [PASSWORD, "wrong"]) == []


def test_the_tests_secrets_are_watched(tmp_path: Path) -> None:
    from tests.fixtures import logscan

    make_settings("postgresql+asyncpg://x@127.0.0.1/x", "redis://127.0.0.1:1/0", tmp_path)
    PasswordHasher().hash("a password hashed during the run")
    assert logscan._capture is not None
    assert {TEST_SECRET_KEY, "a password hashed during the run"} <= logscan._capture.secrets
    assert WEBHOOK_SECRET  # registered by the webhook fixture when it is used


class TestARun:
    """A whole pytest run with the plugin: a token logged anywhere fails it, naming the line."""

    def run(self, tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
        (tmp_path / "pytest.ini").write_text("[pytest]\n")
        (tmp_path / "test_inner.py").write_text(textwrap.dedent(body))
        plugins = ["-p", "tests.fixtures.logscan", "-p", "no:cacheprovider"]
        config = ["-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path)]
        return subprocess.run(
            [sys.executable, "-m", "pytest", *plugins, *config, str(tmp_path / "test_inner.py")],
            cwd=tmp_path,
            # TMPDIR: the failing run keeps its logs for a look, here inside this test's own folder.
            env={**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def test_a_logged_token_fails_the_run(self, tmp_path: Path) -> None:
        result = self.run(
            tmp_path,
            f"""
            import logging

            def test_logs_a_token():
                logging.getLogger("shop.users").warning("auth.refreshed access_token=%s", "{ACCESS_TOKEN}")
            """,
        )
        assert result.returncode == 1, result.stdout + result.stderr
        assert "1 passed" in result.stdout
        assert "secrets in the logs" in result.stdout
        assert "a JWT in: auth.refreshed access_token=<JWT>" in result.stdout
        assert "in-process.log:1:" in result.stdout
        assert ACCESS_TOKEN not in result.stdout

    def test_a_subprocess_log_is_scanned_too(self, tmp_path: Path) -> None:
        result = self.run(
            tmp_path,
            f"""
            from tests.fixtures import logscan

            def test_a_server_logs_a_token():
                path = logscan.log_file("server")
                path.write_text("first line\\nAuthorization: Bearer {REFRESH_TOKEN}\\n")
            """,
        )
        assert result.returncode == 1, result.stdout + result.stderr
        assert ".log:2: an Authorization value" in result.stdout

    def test_a_clean_run_passes(self, tmp_path: Path) -> None:
        result = self.run(
            tmp_path,
            """
            import logging

            def test_logs_nothing_secret():
                logging.getLogger("shop.users").warning("auth.login_failed reason=invalid_credentials")
            """,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "secrets in the logs" not in result.stdout
