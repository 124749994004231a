"""Prometheus collectors (shop.core.edge counts and times every request).

With several server processes, `shop serve` points PROMETHEUS_MULTIPROC_DIR at a shared folder
before the workers start; each process then writes its samples there and `/metrics` sums them.
Values read from the database at scrape time (`ScrapeGauge`) are not written there: the process
that answers the scrape reports them once, so they are never summed over the processes.
"""

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response

# The route label of a request that matched no route.
UNMATCHED_ROUTE = "unmatched"

http_requests = Counter("shop_http_requests_total", "HTTP requests answered.", ["method", "route", "status"])
http_duration = Histogram(
    "shop_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
http_requests_shed = Counter("shop_http_requests_shed_total", "Requests refused with 503 over the concurrency limit.")
http_in_flight = Gauge("shop_http_requests_in_flight", "HTTP requests being answered.", multiprocess_mode="livesum")
db_pool_size = Gauge("shop_db_pool_size", "Configured connections per pool.", multiprocess_mode="livesum")
db_pool_checked_out = Gauge("shop_db_pool_checked_out", "Pooled connections in use.", multiprocess_mode="livesum")
db_replica_pool_size = Gauge(
    "shop_db_replica_pool_size", "Configured connections per read-replica pool.", multiprocess_mode="livesum"
)
db_replica_pool_checked_out = Gauge(
    "shop_db_replica_pool_checked_out", "Read-replica pooled connections in use.", multiprocess_mode="livesum"
)
cache_requests = Counter("shop_cache_requests_total", "Cache look-ups by outcome.", ["namespace", "result"])
dependency_errors = Counter("shop_dependency_errors_total", "Failed calls to a backing service.", ["dependency"])


def _registry() -> CollectorRegistry:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


@dataclass(frozen=True, slots=True)
class ScrapeGauge:
    """A value read at scrape time (from PostgreSQL, say) rather than kept by this process."""

    name: str
    documentation: str
    value: float


class _ScrapeGauges(Collector):
    def __init__(self, gauges: Iterable[ScrapeGauge]) -> None:
        self.gauges = list(gauges)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for gauge in self.gauges:
            yield GaugeMetricFamily(gauge.name, gauge.documentation, value=gauge.value)


def exposition(gauges: Iterable[ScrapeGauge] = ()) -> bytes:
    """The text of every process's collectors, followed by the scrape-time gauges."""
    extra = CollectorRegistry(auto_describe=False)
    extra.register(_ScrapeGauges(gauges))
    return generate_latest(_registry()) + generate_latest(extra)


def metrics_response(body: bytes) -> Response:
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def serve_metrics(port: int) -> None:
    """A metrics endpoint in a background thread, for processes that serve no HTTP (workers)."""
    start_http_server(port, addr="0.0.0.0", registry=_registry())  # noqa: S104


def mark_process_dead() -> None:
    """Drop this process's live gauges from the shared folder when it exits."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
