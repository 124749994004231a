"""`shop import-products` and `shop export-products` as an operator runs them: exit codes and output."""

import asyncio
import os
import pty
import subprocess
from pathlib import Path

import httpx
import pytest

from shop.core.config import Settings
from shop.core.resources import Resources
from shop.products.catalog_file import CSV_HEADER
from tests.fixtures.catalog import create_category
from tests.fixtures.cli import shop

GOOD = ["TEE-S,tee,Tee,Soft cotton,shirts,S,1999,5,,,true", "TEE-M,tee,Tee,Soft cotton,shirts,M,2499,0,,,true"]


async def run(settings: Settings, cwd: Path, *args: str) -> "subprocess.CompletedProcess[str]":
    return await asyncio.to_thread(shop, settings, cwd, *args)


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
async def shirts(resources: Resources) -> None:
    await create_category(resources, "Shirts")


class TestImport:
    async def test_every_line_applied_exits_0_with_plain_output(
        self, settings: Settings, tmp_path: Path, shirts: None, client: httpx.AsyncClient
    ) -> None:
        file = write(tmp_path / "catalog.csv", CSV_HEADER, *GOOD)
        result = await run(settings, tmp_path, "import-products", str(file))
        assert result.returncode == 0, result.stderr
        assert result.stdout == "2 lines: 2 applied, 0 rejected\n"
        assert "\x1b" not in result.stderr and "\r" not in result.stderr, "no progress bar drawn off a terminal"
        product = (await client.get("/api/v1/products/by-slug/tee")).json()
        assert sorted(v["sku"] for v in product["variants"]) == ["TEE-M", "TEE-S"]

    async def test_rejected_lines_are_listed_and_exit_1(self, settings: Settings, tmp_path: Path, shirts: None) -> None:
        file = write(
            tmp_path / "catalog.csv",
            CSV_HEADER,
            GOOD[0],
            "MUG-1,mug,Mug,,kitchen,,900,1,,,true",
            "CAP-1,cap,Cap,,,,-1,1,,,true",
        )
        result = await run(settings, tmp_path, "import-products", str(file))
        assert result.returncode == 1, result.stderr
        assert result.stdout.splitlines() == [
            "line 3: unknown category_slug 'kitchen'",
            "line 4: price_amount: Input should be greater than or equal to 0",
            "3 lines: 1 applied, 2 rejected",
        ]

    async def test_jsonl_is_read_by_its_extension(self, settings: Settings, tmp_path: Path) -> None:
        file = write(
            tmp_path / "catalog.jsonl",
            '{"sku": "A-1", "product_slug": "a", "product_name": "A", "price_amount": 100}',
            '{"sku": "B-1", "product_slug": "b", "product_name": "B", "price_amount": 1.5}',
        )
        result = await run(settings, tmp_path, "import-products", str(file))
        assert result.returncode == 1
        assert result.stdout.splitlines() == [
            "line 2: price_amount: Input should be a valid integer",
            "2 lines: 1 applied, 1 rejected",
        ]

    @pytest.mark.parametrize(
        ("name", "content", "message"),
        [
            ("missing.csv", None, "shop: no such file: {path}"),
            ("catalog.xlsx", "whatever", "shop: 'catalog.xlsx' is neither CSV (.csv, text/csv) nor JSON Lines"),
            ("catalog.csv", "sku,name\nA,B", "shop: {path}: the CSV header must be exactly: " + CSV_HEADER),
        ],
    )
    def test_unusable_input_is_one_line_and_exit_2(
        self, settings: Settings, tmp_path: Path, name: str, content: str | None, message: str
    ) -> None:
        path = tmp_path / name
        if content is not None:
            path.write_text(content)
        result = shop(settings, tmp_path, "import-products", str(path))
        assert result.returncode == 2
        assert result.stdout == ""
        assert len(result.stderr.splitlines()) == 1
        assert result.stderr.startswith(message.format(path=path)), result.stderr

    def test_on_a_terminal_the_progress_bar_goes_to_stderr_only(
        self, settings: Settings, tmp_path: Path, resources: Resources
    ) -> None:
        file = write(tmp_path / "catalog.csv", CSV_HEADER, *(f"S-{n},p-{n},P {n},,,,100,1,,,true" for n in range(50)))
        controller, terminal = pty.openpty()
        try:
            result = shop(settings, tmp_path, "import-products", str(file), stderr=terminal)
            os.close(terminal)
            drawn = b""
            while True:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # the terminal's other end is closed: all was read
                    break
                if not chunk:
                    break
                drawn += chunk
        finally:
            os.close(controller)
        assert result.returncode == 0
        assert result.stdout == "50 lines: 50 applied, 0 rejected\n"
        assert b"importing" in drawn and b"50/50" in drawn


class TestExport:
    async def test_export_writes_the_file_and_an_unknown_type_exits_2(
        self, settings: Settings, tmp_path: Path, shirts: None
    ) -> None:
        source = write(tmp_path / "in.csv", CSV_HEADER, *GOOD)
        assert (await run(settings, tmp_path, "import-products", str(source))).returncode == 0
        result = await run(settings, tmp_path, "export-products", str(tmp_path / "out.csv"))
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"exported 2 lines (1 products) to {tmp_path / 'out.csv'}\n"
        assert (tmp_path / "out.csv").read_text().splitlines() == [CSV_HEADER, *sorted(GOOD)]
        left = sorted(await asyncio.to_thread(os.listdir, tmp_path))
        assert left == ["in.csv", "out.csv"], "no temporary file left behind"

        unknown = await run(settings, tmp_path, "export-products", str(tmp_path / "out.txt"))
        assert unknown.returncode == 2
        assert unknown.stderr.startswith("shop: 'out.txt' is neither CSV")
        assert not (tmp_path / "out.txt").exists()
