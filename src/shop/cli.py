"""The `shop` command line."""

import asyncio
import os
import shutil
import sys
import tempfile
import uuid
from typing import Annotated

import typer

from shop.core.config import ConfigError, Settings, load_settings
from shop.products.cli import export_products, import_products
from shop.users.cli import create_admin

# Modules that create Prometheus metrics are imported inside the commands: the worker must set
# PROMETHEUS_MULTIPROC_DIR before prometheus_client is first imported, or its pool won't share.


class BadInput(Exception):
    """The command was called wrongly; the message says how, in one line."""


app = typer.Typer(
    help="shop: run, operate and administer the shop backend.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _settings() -> Settings:
    return load_settings()


@app.command()
def dev(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the whole shop locally: embedded PostgreSQL and Valkey, API with reload, worker."""
    from shop.dev import run_dev

    run_dev(_settings(), host, port)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",  # noqa: S104
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
    reload: Annotated[bool, typer.Option(hidden=True)] = False,
) -> None:
    """Run the production HTTP server."""
    from shop import server
    from shop.core.logging import configure_logging

    settings = _settings()
    settings.require_database_url()
    settings.require_redis_url()
    _check_payment_provider(settings)
    configure_logging(settings)
    supervise = not reload and server.needs_supervisor(settings, workers)
    multiproc_dir = _prepare_multiprocess_metrics() if supervise else None
    try:
        server.run(server.build_config(settings, host, port, workers, reload), supervise)
    finally:
        if multiproc_dir is not None:
            shutil.rmtree(multiproc_dir, ignore_errors=True)


def _check_payment_provider(settings: Settings) -> None:
    """An unknown provider stops start-up with one line, not the first payment with a 500."""
    from shop.orders.providers import check_provider

    check_provider(settings.effective_payment_provider)


def _prepare_multiprocess_metrics() -> str | None:
    """Several processes share their Prometheus samples through a folder made for this run."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        return None
    path = tempfile.mkdtemp(prefix="shop-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def worker(
    ctx: typer.Context,
    beat: Annotated[bool, typer.Option("--beat/--no-beat", help="Also run the schedule.")] = True,
    concurrency: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve the worker's Prometheus metrics on this port.")
    ] = None,
) -> None:
    """Run a background worker (and the schedule, unless --no-beat).

    Further options go to Celery's worker as they are, e.g. `-n name@%h` or `-Q queue`.
    """
    settings = _settings()
    if not settings.effective_broker_url:
        raise ConfigError("SHOP_BROKER_URL or SHOP_REDIS_URL must be set for the worker")
    settings.require_database_url()
    # The pool's processes count tasks; the main process serves the sum of their samples.
    multiproc_dir = _prepare_multiprocess_metrics() if metrics_port else None
    from shop.worker import celery_app

    if metrics_port:
        from shop.core.metrics import serve_metrics

        serve_metrics(metrics_port)

    argv = ["worker", "--loglevel", settings.log_level, "--concurrency", str(concurrency)]
    if beat:
        schedule = settings.data_dir.resolve() / "celerybeat-schedule"
        schedule.parent.mkdir(parents=True, exist_ok=True)
        argv += ["--beat", "--schedule", str(schedule)]
    try:
        celery_app.worker_main([*argv, *ctx.args])
    finally:
        if multiproc_dir is not None:
            shutil.rmtree(multiproc_dir, ignore_errors=True)


outbox_app = typer.Typer(help="Inspect and retry failed event deliveries.", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")


@outbox_app.command("list")
def outbox_list() -> None:
    """List deliveries that failed after their last retry."""
    from shop.core import outbox
    from shop.core.resources import open_resources

    async def run() -> list[outbox.FailedDelivery]:
        async with open_resources(_settings()) as resources:
            return await outbox.list_failed(resources.database)

    failed = asyncio.run(run())
    for item in failed:
        error = (item.last_error or "").splitlines()[0][:100] if item.last_error else ""
        typer.echo(f"{item.event_id}  {item.event_type:<28} {item.handler:<28} {item.attempts:>3}  {error}")
    typer.echo(f"{len(failed)} failed deliveries")


@outbox_app.command("retry")
def outbox_retry(
    event_id: Annotated[str | None, typer.Argument(help="The event whose failed deliveries to retry.")] = None,
    retry_all: Annotated[bool, typer.Option("--all", help="Retry every failed delivery.")] = False,
) -> None:
    """Run failed deliveries again (one event's, or --all)."""
    from shop.core import outbox
    from shop.core.resources import open_resources

    if (event_id is None) == (not retry_all):
        raise BadInput("give an EVENT_ID or --all")
    parsed = _parse_uuid(event_id) if event_id else None

    async def run() -> int:
        async with open_resources(_settings()) as resources:
            return await outbox.retry_failed(resources.database, resources.publish, parsed)

    typer.echo(f"{asyncio.run(run())} deliveries sent again")


def _parse_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise BadInput(f"not an event id: {value!r}") from None


@app.command()
def migrate() -> None:
    """Upgrade the database schema to the latest revision."""
    from shop.core import migrations

    migrations.upgrade(_settings().require_database_url())
    typer.echo("database is up to date")


app.command("create-admin")(create_admin)
app.command("import-products")(import_products)
app.command("export-products")(export_products)


@app.command("seed-demo")
def seed_demo() -> None:
    """Add the demo catalog and an EU store set-up (VAT, shipping zones, a promotion and a coupon);
    running it again changes nothing."""
    # Imported here: shop.demo loads every domain's models, which `shop serve` and `shop worker`
    # must not import before they have set up their metrics (see above).
    from shop.demo import seed_demo as seed

    seed()


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        print(f"shop: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    except BadInput as exc:
        print(f"shop: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
