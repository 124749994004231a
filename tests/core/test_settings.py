"""Settings: API.md's names, `.env` support, and production refusing to start incomplete."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shop.core.config import ConfigError, Environment, load_settings

PROD = {
    "_env_file": None,
    "env": "prod",
    "database_url": "postgresql+asyncpg://shop@db/shop",
    "redis_url": "redis://cache:6379/0",
    "secret_key": "s" * 40,
    "payment_webhook_secret": "whsec",
    "payment_provider": "test",
    "smtp_host": "mail",
    "email_from": "shop@example.com",
}


class TestProduction:
    def test_complete_settings_load(self) -> None:
        settings = load_settings(**PROD)
        assert settings.env is Environment.prod
        assert settings.effective_log_format.value == "json"
        assert settings.effective_broker_url == "redis://cache:6379/0"

    @pytest.mark.parametrize(
        "missing",
        [
            "database_url",
            "redis_url",
            "secret_key",
            "payment_webhook_secret",
            "payment_provider",
            "smtp_host",
            "email_from",
        ],
    )
    def test_a_missing_required_setting_is_named(self, missing: str) -> None:
        with pytest.raises(ConfigError) as error:
            load_settings(**{**PROD, missing: None})
        assert str(error.value) == f"SHOP_{missing.upper()} is required when SHOP_ENV=prod"

    def test_a_short_secret_key_is_refused(self) -> None:
        with pytest.raises(ConfigError, match="SHOP_SECRET_KEY must be at least 32 characters"):
            load_settings(**{**PROD, "secret_key": "short"})


class TestParsing:
    def test_an_unknown_currency_is_refused(self) -> None:
        with pytest.raises(ConfigError, match=r"^SHOP_CURRENCY: .*ISO 4217"):
            load_settings(_env_file=None, currency="XYZ")

    def test_the_locale_is_checked_and_normalised(self) -> None:
        assert load_settings(_env_file=None, locale="de-DE").locale == "de_DE"
        assert load_settings(_env_file=None).locale == "en"
        with pytest.raises(ConfigError, match=r"^SHOP_LOCALE: "):
            load_settings(_env_file=None, locale="xx")

    def test_an_invalid_value_is_one_line_naming_the_setting(self) -> None:
        with pytest.raises(ConfigError) as error:
            load_settings(_env_file=None, access_token_minutes="soon")
        assert str(error.value).startswith("SHOP_ACCESS_TOKEN_MINUTES: ")
        assert "\n" not in str(error.value)

    def test_cors_origins_are_comma_separated(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        monkeypatch.setenv("SHOP_CORS_ORIGINS", "https://a.example, https://b.example")
        settings = load_settings(_env_file=None, data_dir=tmp_path)
        assert settings.cors_origins == ["https://a.example", "https://b.example"]

    def test_dotenv_is_read(self, tmp_path: Path) -> None:
        env_file = tmp_path / ".env"
        env_file.write_text("SHOP_CURRENCY=USD\nSHOP_PAYMENT_TIMEOUT_MINUTES=45\n")
        settings = load_settings(_env_file=env_file, data_dir=tmp_path)
        assert (settings.currency, settings.payment_timeout_minutes) == ("USD", 45)


class TestDevSecret:
    def test_dev_makes_a_secret_once_and_keeps_it(self, tmp_path: Path) -> None:
        first = load_settings(_env_file=None, env="dev", data_dir=tmp_path, secret_key=None)
        second = load_settings(_env_file=None, env="dev", data_dir=tmp_path, secret_key=None)
        assert first.secret_key and len(first.secret_key) >= 32
        assert first.secret_key == second.secret_key
        assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_the_server_refuses_to_start_in_prod_without_a_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    env.update({f"SHOP_{k.upper()}": v for k, v in PROD.items() if not k.startswith("_") and k != "secret_key"})
    result = subprocess.run(
        [sys.executable, "-m", "shop.cli", "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "shop: configuration error: SHOP_SECRET_KEY is required when SHOP_ENV=prod"


def test_the_server_refuses_an_unknown_payment_provider(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    env.update({f"SHOP_{k.upper()}": v for k, v in PROD.items() if not k.startswith("_")})
    env["SHOP_PAYMENT_PROVIDER"] = "stripe-ish"
    result = subprocess.run(
        [sys.executable, "-m", "shop.cli", "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "shop: configuration error: SHOP_PAYMENT_PROVIDER: unknown provider 'stripe-ish'"
