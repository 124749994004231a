"""uvicorn against Granian on the same app: `python -m bench.servers` (needs wrk and granian).

The shop's app (`shop.app:create_app`) behind `shop serve` (uvicorn, uvloop, httptools) and
behind Granian's ASGI interface, the same number of worker processes each, loaded by wrk in
short bounded runs. The two servers take turns, `--rounds` times, so that a drift of a shared
machine shows as the spread between rounds of the same server rather than as a difference
between the servers. Granian is not a dependency of the shop: `pip install granian` first.
"""

import argparse
import shutil
import sys
import tempfile
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path

from redis import Redis

from bench.run import Server, _running, bench_env, free_port, seeded_services, wrk

# (scenario, the path prefix its script puts before what it asks for)
SCENARIOS = [("detail_hot", "/api/v1/products/"), ("listing", "/api/v1/products?")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--products", type=int, default=1000)
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("granian", path=str(Path(sys.executable).parent)) is None:
        sys.exit("bench.servers needs wrk and granian (pip install granian)")
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="shop-servers-")))
        _, database_url, redis_url = stack.enter_context(seeded_services(work, args.products))
        Redis.from_url(redis_url).flushdb()
        env = bench_env(work, database_url, redis_url)
        rates: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.rounds):
            for name, serve in (("uvicorn", serve_uvicorn), ("granian", serve_granian)):
                with serve(env, args.workers) as server:
                    for scenario, prefix in SCENARIOS:
                        scenario_env = {**env, "BENCH_PATH_PREFIX": prefix, "BENCH_CONNECTIONS": str(args.connections)}
                        wrk(server.base, scenario, scenario_env, 2, args.connections)  # warm: cache, pools
                        summary = wrk(server.base, scenario, scenario_env, args.duration, args.connections)
                        rate = summary["requests"] / (summary["duration_us"] / 1e6)
                        rates.setdefault((name, scenario), []).append((rate, summary["p99_us"] / 1000))
                        print(
                            f"bench: {name:<8} {scenario:<11} {rate:8.0f} req/s  p99 {summary['p99_us'] / 1000:7.1f} ms"
                        )
    print("\n| server | scenario | req/s, each round | p99 ms, each round |\n|---|---|---|---|")
    for (name, scenario), runs in rates.items():
        per_round = ", ".join(f"{rate:,.0f}" for rate, _ in runs)
        p99s = ", ".join(f"{p99:.1f}" for _, p99 in runs)
        print(f"| {name} | {scenario} | {per_round} | {p99s} |")


def serve_uvicorn(env: dict[str, str], workers: int) -> AbstractContextManager[Server]:
    port = free_port()
    command = [sys.executable, "-m", "shop.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return _running([*command, "--workers", str(workers)], env, port, "/health/ready")


def serve_granian(env: dict[str, str], workers: int) -> AbstractContextManager[Server]:
    port = free_port()
    granian = str(Path(sys.executable).parent / "granian")
    command = [granian, "--interface", "asgi", "--factory", "shop.app:create_app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--loop", "uvloop", "--no-access-log"]
    return _running(command, env, port, "/health/ready")


if __name__ == "__main__":
    main()
