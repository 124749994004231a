"""`shop import-products FILE`, `shop export-products FILE`, and the demo catalog `shop seed-demo` adds.

Import commits batch by batch (`SHOP_IMPORT_BATCH_SIZE` lines each, no transaction spans the
file) and exits 0 when every line applied, 1 when some were rejected (each listed on stdout with its
line number and reason), 2 with one line on stderr when the file cannot be used at all. The
progress bar goes to stderr and only to a terminal, so piped or logged output stays plain.
Heavy imports wait inside the commands, so `shop --help` and the other commands stay quick.
"""

import asyncio
import os
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TextIO, TypeVar

import typer

from shop.core.config import Settings

if TYPE_CHECKING:
    from shop.core.resources import Resources
    from shop.products.catalog_file import CatalogFile
    from shop.products.importing import ImportReport

T = TypeVar("T")
FileArgument = Annotated[Path, typer.Argument(help="A .csv or .jsonl catalog file.", show_default=False)]


def import_products(file: FileArgument) -> None:
    """Upsert products and variants by SKU from a CSV or JSON Lines file; lists the rejected lines."""
    from shop.products.catalog_file import CatalogFile, UnusableInput

    try:
        source = CatalogFile.from_path(file)
    except UnusableInput as exc:
        _fail(str(exc))
    try:
        total = source.check()
    except UnusableInput as exc:
        _fail(f"{file}: {exc}")
    report = run_on_database(lambda resources: _import(resources, source, total))
    for line, reason in report.rejected:
        typer.echo(f"line {line}: {reason}")
    typer.echo(f"{report.total} lines: {report.applied} applied, {len(report.rejected)} rejected")
    raise typer.Exit(1 if report.rejected else 0)


async def _import(resources: "Resources", source: "CatalogFile", total: int) -> "ImportReport":
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from sqlalchemy.ext.asyncio import AsyncSession

    from shop.core.db import after_commit
    from shop.products.importing import Batch, import_catalog

    console = Console(stderr=True)
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task("import", total=total)

        async def advance(session: AsyncSession, batch: Batch) -> None:
            async def committed() -> None:
                progress.advance(task, batch.lines)

            after_commit(session, committed)

        return await import_catalog(
            resources.database.sessionmaker,
            source.lines(),
            batch_size=resources.settings.import_batch_size,
            checkpoint=advance,
        )


def export_products(file: FileArgument) -> None:
    """Write every product that is not archived to a CSV or JSON Lines file (chosen by its extension)."""
    from shop.products.catalog_file import UnusableInput, format_of
    from shop.products.exporting import export_catalog

    try:
        file_format = format_of(file.name)
    except UnusableInput as exc:
        _fail(str(exc))
    if not file.parent.is_dir():
        _fail(f"no such folder: {file.parent}")

    async def export(resources: "Resources") -> tuple[int, int]:
        with _replacing(file) as out:
            report = await export_catalog(resources.database.sessionmaker, out, file_format)
        return report.lines, report.products

    lines, products = run_on_database(export)
    typer.echo(f"exported {lines} lines ({products} products) to {file}")


@contextmanager
def _replacing(file: Path) -> Iterator[TextIO]:
    """Write beside `file` and move into place at the end: a failed export leaves the old file whole."""
    handle, temporary = tempfile.mkstemp(prefix=f".{file.name}.", dir=file.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            yield out
        os.replace(temporary, file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


async def seed_demo_catalog(resources: "Resources") -> None:
    from shop.products.demo import seed_demo as seed

    report = await seed(resources.database.sessionmaker)
    if report.rejected:  # the demo data is ours: a rejection is a bug, not bad input
        raise RuntimeError(f"demo line {report.rejected[0][0]} rejected: {report.rejected[0][1]}")


class _DatabaseUnreachable(Exception):
    pass


def run_on_database(work: Callable[["Resources"], Awaitable[T]]) -> T:
    """Run `work` on this process's resources; exit 2 with one line when the database is unreachable."""
    from shop.core.config import load_settings

    settings = load_settings()
    _quiet_logging(settings)
    try:
        return asyncio.run(with_database(settings, work))
    except _DatabaseUnreachable as exc:
        _fail(f"cannot reach the database ({exc})")


async def with_database(settings: Settings, work: Callable[["Resources"], Awaitable[T]]) -> T:
    from sqlalchemy import exc as sa_exc
    from sqlalchemy import text

    from shop.core.resources import open_resources

    async with open_resources(settings) as resources:
        try:
            async with resources.database.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (OSError, sa_exc.DBAPIError, sa_exc.TimeoutError) as exc:
            raise _DatabaseUnreachable(type(exc).__name__) from None
        return await work(resources)


def _quiet_logging(settings: Settings) -> None:
    # These commands print their own report; info lines would only repeat it (and cut the bar).
    from shop.core.logging import configure_logging

    level = settings.log_level if settings.log_level in ("WARNING", "ERROR", "CRITICAL") else "WARNING"
    configure_logging(settings.model_copy(update={"log_level": level}))


def _fail(message: str) -> NoReturn:
    typer.echo(f"shop: {message}", err=True)
    raise typer.Exit(2)
