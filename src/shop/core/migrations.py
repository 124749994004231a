"""Run Alembic from code (`shop migrate`, `shop dev`, the test suite)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

import shop


def migrations_dir() -> Path:
    """The migration scripts: packaged inside the wheel, or beside `src/` in a checkout."""
    package_dir = Path(shop.__file__).resolve().parent
    for candidate in (package_dir / "_migrations", package_dir.parents[1] / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("the migrations folder is missing from this installation")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)
