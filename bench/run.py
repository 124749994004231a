"""`make bench`: load the real `shop serve` and the baselines in one run, write docs/performance.md.

Services: BENCH_DATABASE_URL / BENCH_REDIS_URL when set, else PostgreSQL and Redis on their
standard local ports when they answer, else the embedded servers. Load comes from wrk on
loopback, in bounded runs; the generator shares the machine's cores and its CPU time is reported.
"""

import argparse
import asyncio
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
from redis import Redis

from bench import report
from bench.report import Result
from bench.seed import seed
from bench.stock import audit, remember_seeded_stock
from shop.core import migrations
from shop.core.config import load_settings
from shop.core.embedded import EmbeddedPostgres, EmbeddedValkey, drop_database, ensure_database

ROOT = Path(__file__).resolve().parents[1]
LUA = ROOT / "bench" / "lua"
BENCH_DATABASE = "shop_bench"
SECRET = "bench-secret-key-0123456789-0123456789-abcdef"
# The customers' tokens are made once by the seed and must outlive the whole run.
TOKEN_MINUTES = 24 * 60
# Scenarios measured on the shop at full load, then paced at half that rate for the latency,
# with the path prefix their load script puts before what it asks for.
SHOP_SCENARIOS = {
    "detail_hot": "/api/v1/products/",
    "listing": "/api/v1/products?",
    "category_page": "/api/v1/products?",
    "search": "/api/v1/products?",
    "checkout": "",
    "mixed": "",
}
# Statuses that are answers, not errors: 409 is a checkout that found its variant sold out.
EXPECTED_STATUSES = {"status_200", "status_201", "status_409"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=15, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="server processes of every target")
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--soak-minutes", type=int, default=10, help="mixed load for the leak check (0: none)")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument(
        "--only",
        type=lambda value: value.split(","),
        default=None,
        help="comma-separated shop scenarios to measure alone, without the baselines and the soak "
        "(a quick before/after comparison: --only checkout --output /tmp/checkout.md)",
    )
    args = parser.parse_args()
    if args.only and not set(args.only) <= set(SHOP_SCENARIOS):
        sys.exit(f"bench: --only takes scenarios among {', '.join(SHOP_SCENARIOS)}")
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is not installed (Debian: apt-get install wrk)")
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="shop-bench-")))
        server_url, database_url, redis_url = stack.enter_context(seeded_services(work, args.products))
        dsn = asyncpg_dsn(database_url)
        asyncio.run(remember_seeded_stock(dsn))
        results, soak_rss = run_all(args, work, database_url, redis_url)
        orders, units, oversold = asyncio.run(audit(dsn))
        print(f"bench: {orders} orders, {units} units ordered, {oversold} units oversold or unaccounted for")
        asyncio.run(drop_database(server_url, BENCH_DATABASE))
    report.write(args.output, results, vars(args), machine_description(), oversold=oversold, soak_rss=soak_rss)
    print(f"bench: wrote {args.output}")


@contextmanager
def seeded_services(work: Path, products: int) -> Iterator[tuple[str, str, str]]:
    """PostgreSQL (its server URL and a fresh database's URL, seeded) and Redis, for one run."""
    with services(work) as (server_url, redis_url):
        database_url = fresh_database(server_url)
        settings = load_settings(
            _env_file=None,
            env="test",
            database_url=database_url,
            redis_url=redis_url,
            secret_key=SECRET,
            access_token_minutes=TOKEN_MINUTES,
        )
        asyncio.run(seed(settings, work, products=products))
        yield server_url, database_url, redis_url


def run_all(
    args: argparse.Namespace, work: Path, database_url: str, redis_url: str
) -> tuple[list[Result], list[float]]:
    """Every scenario's result, and the worker RSS (MB) after each minute of the soak."""
    env = bench_env(work, database_url, redis_url)
    results = []
    soak_rss: list[float] = []
    with serve_shop(env, args.workers) as shop:
        product_json = httpx.get(f"{shop.base}/api/v1/products/{first_id(work)}").content
        (work / "product.json").write_bytes(product_json)
        warm_up(shop.base, env)
        for scenario, prefix in SHOP_SCENARIOS.items():
            if not args.only or scenario in args.only:
                results.append(load(shop, "shop", scenario, env, args, prefix, paced=True))
        if args.only:
            return results, soak_rss
        Redis.from_url(redis_url).flushdb()
        results.append(load(shop, "shop", "detail_cold", env, args, "/api/v1/products/", cold=True))
        soak_rss = soak(shop, env, args)
    populate_redis_copies(work, redis_url)
    env["BENCH_PRODUCT_JSON"] = str(work / "product.json")
    with serve_app("bench.apps.bare:app", env, args.workers) as bare:
        results.append(load(bare, "bare ASGI", "detail_hot", env, args, "/"))
    with serve_app("bench.apps.minimal:app", env, args.workers) as minimal:
        results.append(load(minimal, "FastAPI + Redis GET", "detail_hot", env, args, "/redis/"))
        results.append(load(minimal, "FastAPI + raw asyncpg", "detail_cold", env, args, "/sql/", cold=True))
        results.append(load(minimal, "FastAPI + raw asyncpg", "listing", env, args, "/products?"))
        results.append(load(minimal, "FastAPI + raw asyncpg", "category_page", env, args, "/listing?"))
        results.append(load(minimal, "FastAPI + raw asyncpg", "search", env, args, "/search?"))
    with serve_app("bench.apps.raw_checkout:app", env, args.workers) as raw_checkout:
        results.append(load(raw_checkout, "FastAPI + raw asyncpg", "checkout", env, args, ""))
    Redis.from_url(redis_url).flushdb()
    with serve_app("bench.apps.seed_style:app", env, args.workers) as seed_style:
        results.append(load(seed_style, "seed-style", "detail_cold", env, args, "/products/", cold=True))
        warm_up(seed_style.base, env, "/products/")
        results.append(load(seed_style, "seed-style", "detail_hot", env, args, "/products/"))
    return results, soak_rss


# -- services ---------------------------------------------------------------------------------


@contextmanager
def services(work: Path) -> Iterator[tuple[str, str]]:
    database = os.environ.get("BENCH_DATABASE_URL")
    redis = os.environ.get("BENCH_REDIS_URL")
    with ExitStack() as stack:
        if not database:
            if answers(5432):
                database = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
            else:
                postgres = EmbeddedPostgres(work / "postgres")
                postgres.start()
                stack.callback(postgres.stop)
                database = postgres.url()
        if not redis:
            if answers(6379):
                redis = "redis://127.0.0.1:6379/13"
            else:
                valkey = EmbeddedValkey(work / "valkey")
                valkey.start()
                stack.callback(valkey.stop)
                redis = valkey.url()
        yield database, redis


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def fresh_database(server_url: str) -> str:
    asyncio.run(drop_database(server_url, BENCH_DATABASE))
    asyncio.run(ensure_database(server_url, BENCH_DATABASE))
    url = server_url.rsplit("/", 1)[0] + f"/{BENCH_DATABASE}" + _query(server_url)
    migrations.upgrade(url)
    return url


def _query(url: str) -> str:
    return "?" + url.split("?", 1)[1] if "?" in url else ""


def bench_env(work: Path, database_url: str, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    env.update(
        SHOP_ENV="prod",
        SHOP_DATABASE_URL=database_url,
        SHOP_REDIS_URL=redis_url,
        SHOP_SECRET_KEY=SECRET,
        SHOP_PAYMENT_PROVIDER="test",
        SHOP_PAYMENT_WEBHOOK_SECRET="bench-webhook-secret",
        SHOP_SMTP_HOST="127.0.0.1",
        SHOP_EMAIL_FROM="shop@example.com",
        SHOP_DATA_DIR=str(work / "data"),
        BENCH_DATABASE_URL=database_url,
        SHOP_ACCESS_TOKEN_MINUTES=str(TOKEN_MINUTES),
        # All the load comes from one address and a thousand customers: the abuse limits would
        # measure themselves (429s), not the checkout.
        SHOP_CHECKOUT_MAX_PER_USER=str(10**9),
        SHOP_CHECKOUT_MAX_PER_ADDRESS=str(10**9),
        BENCH_ASYNCPG_DSN=asyncpg_dsn(database_url),
        BENCH_REDIS_URL=redis_url,
        BENCH_DATA_DIR=str(work),
        BENCH_LUA_DIR=str(LUA),
        PYTHONPATH=str(ROOT),
    )
    return env


def asyncpg_dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://")


def first_id(work: Path) -> str:
    return (work / "product_ids.txt").read_text().split("\n", 1)[0]


def populate_redis_copies(work: Path, redis_url: str) -> None:
    """The Redis baseline serves the same bytes as the shop's hot path, from the same server."""
    body = (work / "product.json").read_bytes()
    client = Redis.from_url(redis_url)
    ids = (work / "product_ids.txt").read_text().split()[:100]
    client.mset({f"bench:product:{i}": body for i in ids})
    client.close()


# -- servers ----------------------------------------------------------------------------------


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]

    def worker_rss_mb(self) -> float:
        """The largest resident size among the server's worker processes (spawned by multiprocessing)."""
        main = psutil.Process(self.process.pid)
        workers = [c for c in main.children(recursive=True) if "multiprocessing" in " ".join(c.cmdline())]
        return max(p.memory_info().rss for p in (workers or [main])) / 2**20


@contextmanager
def _running(command: list[str], env: dict[str, str], port: int, ready_path: str) -> Iterator[Server]:
    log = open(Path(env["BENCH_DATA_DIR"]) / f"server-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    server = Server(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(server.base + ready_path, timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{command} did not start; see {log.name}")
            time.sleep(0.3)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def serve_shop(env: dict[str, str], workers: int) -> AbstractContextManager[Server]:
    port = free_port()
    command = [sys.executable, "-m", "shop.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return _running([*command, "--workers", str(workers)], env, port, "/health/ready")


def serve_app(target: str, env: dict[str, str], workers: int) -> AbstractContextManager[Server]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    return _running(command, env, port, "/")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- load -------------------------------------------------------------------------------------


def warm_up(base: str, env: dict[str, str], prefix: str = "/api/v1/products/") -> None:
    wrk(base, "detail_hot", {**env, "BENCH_PATH_PREFIX": prefix}, duration=3, connections=16)


def load(
    server: Server,
    target: str,
    scenario: str,
    env: dict[str, str],
    args: argparse.Namespace,
    prefix: str,
    cold: bool = False,
    paced: bool = False,
) -> Result:
    """One scenario at full load; with `paced`, again at half the rate it reached, for the p99 there."""
    # A cold run stops before the threads have walked their share of the catalog.
    duration = min(args.duration, 5) if cold else args.duration
    scenario_env = {**env, "BENCH_PATH_PREFIX": prefix, "BENCH_CONNECTIONS": str(args.connections)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = wrk(server.base, scenario, scenario_env, duration, args.connections)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = summary["duration_us"] / 1e6
    statuses: dict[str, int] = summary["statuses"]
    sockets = sum(summary[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    if statuses:
        errors = sockets + sum(count for status, count in statuses.items() if status not in EXPECTED_STATUSES)
    else:
        errors = sockets + summary["status_errors"]
    rate = summary["requests"] / seconds
    half_p99_ms = None
    if paced:
        half = wrk(server.base, scenario, {**scenario_env, "BENCH_RATE": str(rate / 2)}, duration, args.connections)
        half_p99_ms = half["p99_us"] / 1000
    result = Result(
        target=target,
        scenario=scenario,
        requests_per_second=rate,
        p50_ms=summary["p50_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        errors=errors,
        rss_mb_per_worker=server.worker_rss_mb(),
        generator_cpu_s=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        p99_at_half_ms=half_p99_ms,
        created_per_second=statuses.get("status_201", 0) / seconds if statuses else None,
        sold_out=statuses.get("status_409", 0),
    )
    half_text = f"  p99 at half {half_p99_ms:6.1f} ms" if half_p99_ms is not None else ""
    print(
        f"bench: {target:<24} {scenario:<12} {rate:9.0f} req/s  p99 {result.p99_ms:6.1f} ms{half_text}  errors {errors}"
    )
    return result


def soak(server: Server, env: dict[str, str], args: argparse.Namespace) -> list[float]:
    """The mixed session for `--soak-minutes`, one minute at a time; a leak shows as RSS that keeps rising."""
    rss = [server.worker_rss_mb()]
    scenario_env = {**env, "BENCH_CONNECTIONS": str(args.connections)}
    for minute in range(1, args.soak_minutes + 1):
        wrk(server.base, "mixed", scenario_env, 60, args.connections)
        rss.append(server.worker_rss_mb())
        print(f"bench: soak minute {minute:>2}: RSS per worker {rss[-1]:.0f} MB")
    return rss


def wrk(base: str, scenario: str, env: dict[str, str], duration: int, connections: int) -> dict[str, Any]:
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        # A slow answer is a latency to report, not an error: wrk's own limit is 2 s.
        "--timeout",
        "10s",
        "-s",
        str(LUA / f"{scenario}.lua"),
        base,
    ]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    line = [row for row in output.splitlines() if row.startswith("{")][-1]
    summary: dict[str, Any] = json.loads(line)
    return summary


def machine_description() -> str:
    return f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, Python {sys.version.split()[0]}"


if __name__ == "__main__":
    main()
