"""Every process starts with the whole ORM mapper: a fresh `shop worker` or `shop serve` can
flush a row of every mapped class (a foreign key to a table it never imported fails at flush)."""

import json
import os
import subprocess
import sys

import pytest

import shop.models  # noqa: F401  (the tables this test process knows: all of them)
from shop.core.config import Settings
from shop.core.db import Base
from shop.server import APP
from tests.fixtures.settings import settings_env

# The modules each production process imports at start-up, in that order.
ENTRY_POINTS = {
    "shop worker": ["shop.cli", "shop.worker"],
    # Each server process imports the app factory's module (uvicorn, or its spawned workers).
    "shop serve": ["shop.cli", "shop.server", APP.partition(":")[0]],
}


@pytest.mark.parametrize("command", list(ENTRY_POINTS))
def test_a_fresh_process_flushes_every_mapped_class(command: str, settings: Settings) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.fixtures.flush_models", *ENTRY_POINTS[command]],
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    flushed = json.loads(result.stdout.strip().splitlines()[-1])
    assert flushed == sorted(mapper.local_table.name for mapper in Base.registry.mappers)
