"""The CPU cost of each middleware, per request, in instructions: `python -m bench.middleware_cost`.

The shop's app answers a fixed number of cached product reads (a Redis hit) in-process, driven
straight through ASGI: with every middleware, without each one in turn, and with none. Under
callgrind, each measured batch is one profile dump (the batch runs inside `sys.call_tracing`,
and callgrind collects and dumps only inside that C function), so the figures are instructions
executed, the same on a busy machine as on a quiet one. The per-request figure is the
difference between a batch of `--requests` and one of half as many, divided by the difference:
the set-up of a batch cancels out. A middleware's cost is the full stack less the stack without it.

Needs PostgreSQL and Redis (BENCH_DATABASE_URL / BENCH_REDIS_URL, else the local standard
ports) and valgrind; `--no-valgrind` reports CPU time per request instead (noisy on a shared
machine, for a quick look).
"""

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

DATABASE = "shop_middleware_cost"
SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/13"
ORIGIN = "https://storefront.example"
# The headers a browser sends for a product page's data.
HEADERS = [
    (b"host", b"shop.example"),
    (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0"),
    (b"accept", b"application/json"),
    (b"accept-encoding", b"gzip, deflate, br"),
    (b"accept-language", b"en-GB,en;q=0.5"),
]
NONE = "none"
FULL = "full"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400, help="requests in the larger batch")
    parser.add_argument("--no-valgrind", action="store_true", help="CPU time instead of instructions")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _measure(args.requests, args.child, timed=False)
        return
    with tempfile.TemporaryDirectory(prefix="shop-mwcost-") as folder:
        work = Path(folder)
        if args.no_valgrind:
            _measure(args.requests, work, timed=True)
            _print_table(_read_timings(work))
            return
        command = [
            "valgrind",
            "--tool=callgrind",
            "--collect-atstart=no",
            "--toggle-collect=sys_call_tracing",
            "--dump-after=sys_call_tracing",
            f"--callgrind-out-file={work}/callgrind.out",
            f"--log-file={work}/valgrind.log",
            sys.executable,
            "-m",
            "bench.middleware_cost",
            "--requests",
            str(args.requests),
            "--child",
            str(work),
        ]
        subprocess.run(command, check=True, stderr=subprocess.DEVNULL)
        _print_table(_read_callgrind(work))


# -- inside the measured process ------------------------------------------------------------


def _measure(requests: int, work: Path, *, timed: bool) -> None:
    import logging

    from shop.app import create_app
    from shop.core.config import load_settings
    from shop.core.embedded import drop_database

    loop = asyncio.new_event_loop()
    server = os.environ.get("BENCH_DATABASE_URL", SERVER_URL)
    product_id, database_url = loop.run_until_complete(_catalogue(server, work))
    settings = load_settings(
        _env_file=None,
        env="prod",
        database_url=database_url,
        redis_url=os.environ.get("BENCH_REDIS_URL", REDIS_URL),
        secret_key="middleware-cost-secret-0123456789-0123456789",
        payment_provider="test",
        payment_webhook_secret="middleware-cost-webhook",
        smtp_host="127.0.0.1",
        email_from="shop@example.com",
        data_dir=work / "data",
        cors_origins=[ORIGIN],
        log_format="json",
    )
    app = create_app(settings)
    # The request log is formatted as in production, and written nowhere.
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115
    path = f"/api/v1/products/{product_id}"
    everything = list(app.user_middleware)
    order: list[str] = []
    lifespan = app.router.lifespan_context(app)
    loop.run_until_complete(lifespan.__aenter__())
    try:
        for name, kept in _variants(everything):
            app.user_middleware = kept
            stack = app.build_middleware_stack()
            loop.run_until_complete(_drive(app, stack, path, 50))  # warm: the cache entry, pools, route lookups
            for count in (requests // 2, requests):
                batch = _drive(app, stack, path, count)
                if timed:
                    started = time.process_time()
                    loop.run_until_complete(batch)
                    order.append(f"{name} {count} {time.process_time() - started}")
                else:
                    # The one region callgrind collects, and dumps when it ends: sys.call_tracing.
                    sys.call_tracing(loop.run_until_complete, (batch,))
                    order.append(f"{name} {count}")
    finally:
        app.user_middleware = everything
        loop.run_until_complete(lifespan.__aexit__(None, None, None))
        loop.run_until_complete(drop_database(server, DATABASE))
        loop.close()
    (work / "order.txt").write_text("\n".join(order) + "\n")


def _variants(everything: list[Any]) -> Iterator[tuple[str, list[Any]]]:
    yield FULL, everything
    for middleware in everything:
        yield f"without {middleware.cls.__name__}", [m for m in everything if m is not middleware]
    yield NONE, []


async def _drive(app: Any, stack: Callable[..., Any], path: str, count: int) -> None:
    """`count` requests for `path` through `stack`, as uvicorn and Starlette's own entry would pass them."""
    scope_base = {
        "app": app,
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [*HEADERS, (b"origin", ORIGIN.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    for _ in range(count):
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any], statuses: list[int] = statuses) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await stack({**scope_base, "headers": list(scope_base["headers"]), "state": {}}, receive, send)
        if statuses != [200]:
            raise RuntimeError(f"{path} answered {statuses}")


async def _catalogue(server: str, work: Path) -> tuple[str, str]:
    """A fresh database with a small catalogue; one product's id and the database's URL."""
    from bench.seed import seed
    from shop.core import migrations
    from shop.core.config import load_settings
    from shop.core.embedded import drop_database, ensure_database

    await drop_database(server, DATABASE)
    await ensure_database(server, DATABASE)
    url = server.rsplit("/", 1)[0] + f"/{DATABASE}"
    await asyncio.to_thread(migrations.upgrade, url)
    settings = load_settings(_env_file=None, env="test", database_url=url, secret_key="x" * 40)
    await seed(settings, work, products=20, customers=1)
    return (work / "product_ids.txt").read_text().split()[0], url


# -- reading the results ------------------------------------------------------------------


def _read_callgrind(work: Path) -> dict[str, dict[int, float]]:
    order = (work / "order.txt").read_text().split("\n")[:-1]
    dumps = sorted(work.glob("callgrind.out.*"), key=lambda p: int(p.name.rsplit(".", 1)[1]))
    if len(dumps) != len(order):
        raise RuntimeError(f"{len(dumps)} profiles for {len(order)} batches: see {work}/valgrind.log")
    results: dict[str, dict[int, float]] = {}
    for line, dump in zip(order, dumps, strict=True):
        name, count = line.rsplit(" ", 1)
        totals = re.search(r"^(?:summary|totals): (\d+)", dump.read_text(), re.MULTILINE)
        assert totals is not None, dump
        results.setdefault(name, {})[int(count)] = float(totals.group(1))
    return results


def _read_timings(work: Path) -> dict[str, dict[int, float]]:
    results: dict[str, dict[int, float]] = {}
    for line in (work / "order.txt").read_text().split("\n")[:-1]:
        name, count, seconds = line.rsplit(" ", 2)
        results.setdefault(name, {})[int(count)] = float(seconds) * 1e6  # µs
    return results


def _print_table(results: dict[str, dict[int, float]]) -> None:
    per_request = {}
    for name, batches in results.items():
        (small, small_total), (large, large_total) = sorted(batches.items())
        per_request[name] = (large_total - small_total) / (large - small)
    full = per_request[FULL]
    print("| stack | per request | the middleware's share |")
    print("|---|---:|---:|")
    for name, value in per_request.items():
        share = f"{full - value:,.0f}" if name.startswith("without ") else ""
        print(f"| {name} | {value:,.0f} | {share} |")


if __name__ == "__main__":
    main()
