"""The `shop` command line."""

import os
import shutil
import sys
import tempfile
from typing import Annotated

import typer

from shop.core.config import ConfigError, Settings, load_settings
from shop.users.cli import create_admin

app = typer.Typer(
    help="shop: run, operate and administer the shop backend.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Seconds a stopping server gives in-flight requests to finish.
GRACEFUL_SHUTDOWN_SECONDS = 30


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
    import uvicorn

    from shop.core.logging import configure_logging

    settings = _settings()
    settings.require_database_url()
    settings.require_redis_url()
    configure_logging(settings)
    multiproc_dir = _prepare_multiprocess_metrics(workers)
    try:
        uvicorn.run(
            "shop.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=None if reload else workers,
            reload=reload,
            reload_dirs=[os.path.dirname(__file__)] if reload else None,
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=True,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
            timeout_keep_alive=15,
        )
    finally:
        if multiproc_dir is not None:
            shutil.rmtree(multiproc_dir, ignore_errors=True)


def _prepare_multiprocess_metrics(workers: int) -> str | None:
    """Several processes share their Prometheus samples through a folder made for this run."""
    if workers <= 1 or "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        return None
    path = tempfile.mkdtemp(prefix="shop-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


@app.command()
def worker(
    beat: Annotated[bool, typer.Option("--beat/--no-beat", help="Also run the schedule.")] = True,
    concurrency: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
) -> None:
    """Run a background worker (and the schedule, unless --no-beat)."""
    settings = _settings()
    if not settings.effective_broker_url:
        raise ConfigError("SHOP_BROKER_URL or SHOP_REDIS_URL must be set for the worker")
    settings.require_database_url()
    from shop.worker import celery_app

    argv = ["worker", "--loglevel", settings.log_level, "--concurrency", str(concurrency)]
    if beat:
        schedule = settings.data_dir.resolve() / "celerybeat-schedule"
        schedule.parent.mkdir(parents=True, exist_ok=True)
        argv += ["--beat", "--schedule", str(schedule)]
    celery_app.worker_main(argv)


@app.command()
def migrate() -> None:
    """Upgrade the database schema to the latest revision."""
    from shop.core import migrations

    migrations.upgrade(_settings().require_database_url())
    typer.echo("database is up to date")


app.command("create-admin")(create_admin)


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        print(f"shop: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
