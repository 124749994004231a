"""docs/performance.md and its chart, from one benchmark run."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Result:
    """One target under one scenario."""

    target: str
    scenario: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    rss_mb_per_worker: float
    generator_cpu_s: float
    # The p99 when the same scenario is paced at half the rate it reached (None: not paced).
    p99_at_half_ms: float | None = None
    # Scenarios that place orders: orders placed per second, and checkouts that found a variant sold out.
    created_per_second: float | None = None
    sold_out: int = 0


# (shop scenario, baseline target, baseline scenario, what the ratio means)
RATIOS = [
    (
        "detail_hot",
        "seed-style",
        "detail_hot",
        "detail, cache hit ÷ seed-style (FastAPI, SQLAlchemy, Redis cache-aside)",
    ),
    ("detail_hot", "FastAPI + Redis GET", "detail_hot", "detail, cache hit ÷ FastAPI + Redis GET (target ≥ 0.8)"),
    ("detail_hot", "bare ASGI", "detail_hot", "detail, cache hit ÷ bare ASGI (the ceiling)"),
    (
        "detail_cold",
        "FastAPI + raw asyncpg",
        "detail_cold",
        "detail, cache miss ÷ raw asyncpg, same SQL (target ≥ 0.7)",
    ),
    ("detail_cold", "seed-style", "detail_cold", "detail, cache miss ÷ seed-style"),
    (
        "category_page",
        "FastAPI + raw asyncpg",
        "category_page",
        "category page ÷ raw asyncpg, same SQL (target ≥ 0.7)",
    ),
    ("listing", "FastAPI + raw asyncpg", "listing", "listing ÷ raw asyncpg, same SQL (target ≥ 0.7)"),
    ("search", "FastAPI + raw asyncpg", "search", "search ÷ raw asyncpg, same SQL (target ≥ 0.7)"),
    ("checkout", "FastAPI + raw asyncpg", "checkout", "checkout orders/s ÷ raw asyncpg, same writes (target ≥ 0.5)"),
]


def write(
    output: Path,
    results: Sequence[Result],
    options: dict[str, Any],
    machine: str,
    oversold: int,
    soak_rss: Sequence[float],
) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    chart = output.with_suffix(".png")
    _chart(chart, results)
    by_key = {(r.target, r.scenario): r for r in results}
    lines = [
        "# Performance",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine}, load generator (wrk, 2 threads, "
        f"{options['connections']} connections) on the same machine; {options['workers']} server processes per "
        f"target; {options['duration']} s per scenario (cold runs 5 s at most, before the catalog is walked once).",
        "",
        "Reproduce: `make bench` (or `python -m bench.run --duration 15 --connections 64 --workers 2`).",
        "",
        f"![requests per second]({chart.name})",
        "",
        "| target | scenario | req/s | p50 ms | p99 ms | p99 ms at half rate | orders/s | sold out (409) "
        "| errors | RSS/worker MB | wrk CPU s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        half = f"{r.p99_at_half_ms:.1f}" if r.p99_at_half_ms is not None else ""
        orders = f"{r.created_per_second:,.0f}" if r.created_per_second is not None else ""
        lines.append(
            f"| {r.target} | {r.scenario} | {r.requests_per_second:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | "
            f"{half} | {orders} | {r.sold_out} | {r.errors} | {r.rss_mb_per_worker:.0f} | {r.generator_cpu_s:.1f} |"
        )
    lines += [
        "",
        f"Units oversold or unaccounted for after every order scenario: **{oversold}** "
        "(every unit the stock lost is on an order line, checked in the database after the run).",
    ]
    if len(soak_rss) > 1:
        series = ", ".join(f"{mb:.0f}" for mb in soak_rss)
        lines += [
            "",
            f"Leak check: the mixed session for {len(soak_rss) - 1} minutes; the largest worker's RSS in MB at the "
            f"start and after each minute: {series} (growth {soak_rss[-1] - soak_rss[1]:+.0f} MB after the first "
            "minute, which fills the caches and pools).",
        ]
    lines += ["", "## Ratios", "", "| comparison | ratio |", "|---|---:|"]
    for scenario, target, baseline_scenario, label in RATIOS:
        shop, base = by_key.get(("shop", scenario)), by_key.get((target, baseline_scenario))
        if shop and base and _rate(base):
            lines.append(f"| {label} | {_rate(shop) / _rate(base):.2f} |")
    output.write_text("\n".join(lines) + "\n" + _analysis(output))


def _rate(result: Result) -> float:
    """What a scenario is compared on: orders per second where it places orders, else requests."""
    return result.created_per_second if result.created_per_second is not None else result.requests_per_second


# The hand-written analysis below this line in docs/performance.md survives a new run.
ANALYSIS_MARKER = "<!-- analysis: written by hand, kept by `make bench` -->"


def _analysis(output: Path) -> str:
    previous = output.read_text() if output.exists() else ""
    _, marker, analysis = previous.partition(ANALYSIS_MARKER)
    return f"\n{ANALYSIS_MARKER}{analysis}" if marker else f"\n{ANALYSIS_MARKER}\n"


def _chart(path: Path, results: Sequence[Result]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r.target} · {r.scenario}" for r in results]
    values = [r.requests_per_second for r in results]
    colours = ["#2b7a78" if r.target == "shop" else "#9aa5b1" for r in results]
    figure, axis = plt.subplots(figsize=(11, 0.38 * len(results) + 1.2))
    axis.barh(labels[::-1], values[::-1], color=colours[::-1])
    # The bare ASGI ceiling is ten times anything else: a log scale keeps the rest readable.
    axis.set_xscale("log")
    axis.set_xlabel("requests per second, log scale (higher is better)")
    axis.set_title("shop (green) and its baselines")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
