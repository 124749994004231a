"""Settings: every `SHOP_*` variable of API.md, read from the environment and `.env`."""

import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from babel import Locale, UnknownLocaleError
from babel.numbers import is_currency
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shop.core.redis_urls import is_cluster_url, is_sentinel_url, parse_cluster_url, parse_sentinel_url


class Environment(StrEnum):
    dev = "dev"
    test = "test"
    prod = "prod"


class LogFormat(StrEnum):
    json = "json"
    console = "console"


class ConfigError(Exception):
    """A setting is missing or invalid; the message is one line that names it."""


# Settings that production cannot run without (API.md, "Settings required in prod").
PROD_REQUIRED = (
    "database_url",
    "redis_url",
    "secret_key",
    "payment_webhook_secret",
    "payment_provider",
    "smtp_host",
    "email_from",
)
MIN_SECRET_KEY_LENGTH = 32
MiB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOP_", env_file=".env", env_file_encoding="utf-8", extra="ignore")

    env: Environment = Environment.dev
    data_dir: Path = Path(".shop")

    database_url: str | None = None
    # A streaming replica for storefront catalogue reads; writes and read-your-writes stay on the primary.
    database_replica_url: str | None = None
    # For this long after a write, cached catalogue entries of what it changed are loaded from the
    # primary (a replica may not have replayed the write yet). Keep it above the replica's lag alarm.
    database_replica_max_lag_seconds: float = Field(default=10.0, ge=0, le=3600)
    # Connections go through PgBouncer in transaction pooling mode (no cached prepared statements,
    # no session-level settings at connect).
    database_pgbouncer: bool = False
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_max_overflow: int = Field(default=10, ge=0, le=200)
    database_pool_timeout: float = Field(default=5.0, gt=0)
    database_statement_timeout_ms: int = Field(default=15_000, ge=0)

    redis_url: str | None = None
    redis_timeout: float = Field(default=0.5, gt=0)
    broker_url: str | None = None
    # Redis broker: a task unacknowledged this long (its worker died) goes to another worker.
    # Longer than any task runs; AMQP brokers redeliver at once when the connection drops.
    broker_visibility_timeout: int = Field(default=3600, ge=5)
    # Event handlers retry with exponential backoff and jitter, then the delivery is marked failed.
    task_max_retries: int = Field(default=8, ge=0, le=50)
    task_retry_base_seconds: float = Field(default=2.0, gt=0)
    # A running job whose worker has not committed a step for this long is taken to have lost its
    # worker: the schedule sends it again and another worker continues after its last step.
    job_lease_seconds: int = Field(default=60, ge=2, le=3600)
    # Catalog import lines per transaction (and per checkpoint of an import job).
    import_batch_size: int = Field(default=500, ge=1, le=10_000)

    secret_key: str | None = None
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    # How text for people (emails) writes numbers and money: a CLDR locale such as en, en_GB, de_DE.
    locale: str = "en"
    access_token_minutes: int = Field(default=15, ge=1)
    refresh_token_days: int = Field(default=30, ge=1)
    password_reset_token_minutes: int = Field(default=30, ge=1)
    # Login and password-reset limits (API.md, "Limits"); windows slide, counts hold across processes.
    login_max_failures_per_email: int = Field(default=10, ge=1)
    login_max_attempts_per_address: int = Field(default=100, ge=1)
    login_window_seconds: int = Field(default=15 * 60, ge=1)
    password_reset_max_per_email: int = Field(default=5, ge=1)
    password_reset_window_seconds: int = Field(default=60 * 60, ge=1)
    # Reset requests per client address, whatever the email: one address cannot mail-bomb many accounts.
    password_reset_max_per_address: int = Field(default=50, ge=1)
    # Checkouts per customer and per client address (each attempt counts; 429 beyond).
    checkout_max_per_user: int = Field(default=20, ge=1)
    checkout_max_per_address: int = Field(default=100, ge=1)
    checkout_window_seconds: int = Field(default=60 * 60, ge=1)
    payment_timeout_minutes: int = Field(default=30, ge=1)
    # How often the schedule looks for unpaid orders past that timeout.
    order_expiry_interval_seconds: int = Field(default=60, ge=1, le=3600)
    # How the store enters its prices: including tax (what the customer pays, as EU shops do) or
    # excluding it (the net price, tax on top, as US shops do). Every price is read this way.
    prices_include_tax: bool = True
    payment_provider: str | None = None
    payment_webhook_secret: str | None = None
    # A provider call unanswered after this long fails (502); the payment or refund it was for is
    # settled by the reconciliation once three times this has passed. A pay request can wait on
    # the provider three times, so this stays well under the Idempotency-Key lease (60 s).
    payment_provider_timeout_seconds: float = Field(default=10.0, gt=0, le=15)

    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_tls: bool = False
    email_from: str | None = None

    log_format: LogFormat | None = None
    log_level: str = "INFO"
    cors_origins: Annotated[list[str], NoDecode] = []
    docs_enabled: bool = True
    max_body_bytes: int = Field(default=1 * MiB, ge=1)
    max_upload_bytes: int = Field(default=50 * MiB, ge=1)

    # `shop serve` (docs/operations.md). On SIGTERM a process answers readiness with 503 and
    # keeps serving for the drain, then stops accepting and gives in-flight requests the
    # shutdown timeout before cancelling them.
    server_drain_seconds: float = Field(default=5.0, ge=0, le=300)
    server_shutdown_timeout_seconds: int = Field(default=20, ge=1, le=3600)
    # Longer than the idle timeout of the proxy in front (60 s for nginx upstreams and AWS ALB),
    # or the proxy may send a request on a connection the server is closing: a 502.
    server_keepalive_timeout_seconds: int = Field(default=75, ge=1, le=3600)
    # A worker process is replaced after this many requests (0: never), plus a random share of
    # the jitter drawn by each process, so that the workers do not all restart at once.
    server_max_requests: int = Field(default=0, ge=0)
    server_max_requests_jitter: int | None = Field(default=None, ge=0)
    # Requests in flight per process beyond which a request gets an immediate 503 (0: no limit).
    server_max_concurrent_requests: int = Field(default=100, ge=0)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # Operators write `SHOP_CORS_ORIGINS=https://a.example,https://b.example`.
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("redis_url", "broker_url")
    @classmethod
    def _valid_redis_url(cls, value: str | None) -> str | None:
        # A malformed Sentinel or Cluster URL stops start-up here, named.
        if value is not None and is_sentinel_url(value):
            parse_sentinel_url(value)
        if value is not None and is_cluster_url(value):
            parse_cluster_url(value)
        return value

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        # Its number of decimals turns stored minor units into an amount (core/money.py).
        if not is_currency(value):
            raise ValueError("must be an ISO 4217 currency code")
        return value

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        try:
            return str(Locale.parse(value.replace("-", "_")))
        except (ValueError, UnknownLocaleError):
            raise ValueError("must be a locale such as en, en_GB or de_DE") from None

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @property
    def is_prod(self) -> bool:
        return self.env is Environment.prod

    @property
    def effective_log_format(self) -> LogFormat:
        if self.log_format is not None:
            return self.log_format
        return LogFormat.json if self.is_prod else LogFormat.console

    @property
    def effective_broker_url(self) -> str | None:
        return self.broker_url or self.redis_url

    @property
    def effective_max_requests_jitter(self) -> int:
        """The recycling jitter; a tenth of the request limit unless set."""
        if self.server_max_requests_jitter is not None:
            return self.server_max_requests_jitter
        return self.server_max_requests // 10

    @property
    def effective_payment_provider(self) -> str:
        return self.payment_provider or "test"

    def require_database_url(self) -> str:
        if not self.database_url:
            raise ConfigError("SHOP_DATABASE_URL is not set (`shop dev` starts an embedded PostgreSQL)")
        return self.database_url

    def require_redis_url(self) -> str:
        if not self.redis_url:
            raise ConfigError("SHOP_REDIS_URL is not set (`shop dev` starts an embedded Valkey)")
        return self.redis_url

    def check_complete(self) -> None:
        """Refuse to run with a broker Celery cannot use, or production with a missing secret or URL."""
        broker = self.effective_broker_url
        if broker is not None and is_cluster_url(broker):
            raise ConfigError(
                "SHOP_BROKER_URL: Celery cannot use a Redis Cluster as its broker; "
                "name a single Redis, a redis+sentinel:// URL or RabbitMQ"
            )
        if not self.is_prod:
            return
        for name in PROD_REQUIRED:
            if not getattr(self, name):
                raise ConfigError(f"SHOP_{name.upper()} is required when SHOP_ENV=prod")
        assert self.secret_key is not None
        if len(self.secret_key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(f"SHOP_SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters")

    def with_dev_secret(self) -> "Settings":
        """Outside prod a missing secret key is made once and kept in the data folder."""
        if self.secret_key or self.is_prod:
            return self
        key_file = self.data_dir / "secret_key"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        return self.model_copy(update={"secret_key": key_file.read_text().strip()})


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning any problem into a `ConfigError` with one line naming the setting."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "SHOP_" + ".".join(str(part) for part in first["loc"]).upper()
        raise ConfigError(f"{name}: {first['msg']}") from None
    settings.check_complete()
    return settings.with_dev_secret()


@lru_cache
def get_settings() -> Settings:
    return load_settings()
