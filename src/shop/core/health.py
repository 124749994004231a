"""Liveness, readiness and metrics endpoints (no prefix, no auth)."""

import asyncio
from collections.abc import Awaitable
from typing import Literal

import structlog
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from kombu import Connection
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shop.core import metrics, outbox
from shop.core.cache import RedisClient, close_redis, create_redis
from shop.core.deps import ResourcesDep
from shop.core.lifecycle import drain_of
from shop.core.redis_urls import is_sentinel_url
from shop.core.resources import Resources

CHECK_TIMEOUT_SECONDS = 2.0
# A scrape waits this long for the outbox backlog, then answers without it.
OUTBOX_METRICS_TIMEOUT_SECONDS = 2.0
OUTBOX_PENDING_GAUGE = "shop_outbox_pending_events"
OUTBOX_OLDEST_AGE_GAUGE = "shop_outbox_oldest_pending_age_seconds"
# Gauges that /metrics reads at scrape time, in no registry (dashboards and alerts use them).
SCRAPE_TIME_GAUGES = (OUTBOX_PENDING_GAUGE, OUTBOX_OLDEST_AGE_GAUGE)
log = structlog.get_logger()

CheckState = Literal["ok", "down"]


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ok", "degraded", "draining", "unavailable"]
    checks: dict[str, CheckState]


router = APIRouter(tags=["operations"])


@router.get("/health/live", operation_id="getLiveness")
async def live() -> Liveness:
    """200 while the process runs."""
    return Liveness()


@router.get(
    "/health/ready",
    operation_id="getReadiness",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: `draining`, or `unavailable` (PostgreSQL)"}},
)
async def ready(request: Request, resources: ResourcesDep) -> JSONResponse:
    """200 `ok` or `degraded` while PostgreSQL answers (Redis, broker or replica may be down); else 503.

    A process shutting down answers 503 `draining` from the moment it got SIGTERM, so the load
    balancer sends it nothing new while it finishes what it has.
    """
    probes: dict[str, Awaitable[None]] = {
        "database": _database_ok(resources.database.engine),
        "redis": _redis_ok(resources.redis),
        "broker": _broker_ok(resources),
    }
    if resources.database.replica_engine is not None:
        # Degraded, not down: catalogue reads fall back to the primary while the replica is away.
        probes["database_replica"] = _database_ok(resources.database.replica_engine)
    states = await asyncio.gather(*(_check(probe, name) for name, probe in probes.items()))
    checks: dict[str, CheckState] = dict(zip(probes, states, strict=True))
    database = checks["database"]
    if drain_of(request.app.state).draining:
        status, code = "draining", 503
    elif database == "down":
        status, code = "unavailable", 503
    else:
        status, code = ("ok" if "down" not in checks.values() else "degraded"), 200
    body = Readiness(status=status, checks=checks)
    return JSONResponse(body.model_dump(), status_code=code, headers={"Cache-Control": "no-store"})


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(resources: ResourcesDep) -> Response:
    gauges = await _outbox_gauges(resources)
    # Reading the other processes' sample files is blocking file work.
    return metrics.metrics_response(await run_in_threadpool(metrics.exposition, gauges))


async def _outbox_gauges(resources: Resources) -> list[metrics.ScrapeGauge]:
    """The outbox backlog, or nothing when PostgreSQL does not answer in time: a scrape never fails."""
    try:
        backlog = await asyncio.wait_for(outbox.backlog(resources.database), OUTBOX_METRICS_TIMEOUT_SECONDS)
    except Exception as exc:
        metrics.dependency_errors.labels("database").inc()
        log.warning("metrics.outbox_backlog_unavailable", error=type(exc).__name__)
        return []
    return [
        metrics.ScrapeGauge(
            OUTBOX_PENDING_GAUGE,
            "Outbox events committed but not yet handed to the broker (read from PostgreSQL at scrape time).",
            backlog.pending,
        ),
        metrics.ScrapeGauge(
            OUTBOX_OLDEST_AGE_GAUGE,
            "How long the oldest event not yet handed to the broker has waited; 0 when none waits.",
            backlog.oldest_age_seconds,
        ),
    ]


async def _check(probe: Awaitable[None], name: str) -> CheckState:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        log.warning("health.check_failed", dependency=name, error=type(exc).__name__)
        return "down"
    return "ok"


async def _database_ok(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _redis_ok(redis: RedisClient) -> None:
    await redis.ping()


async def _broker_ok(resources: Resources) -> None:
    url = resources.settings.effective_broker_url
    if url is None:
        raise RuntimeError("no broker configured")
    if url == resources.settings.redis_url:
        await resources.redis.ping()
    elif url.startswith(("redis://", "rediss://", "valkey://")) or is_sentinel_url(url):
        client = create_redis(url, resources.settings)
        try:
            await client.ping()
        finally:
            await close_redis(client)
    else:
        await asyncio.to_thread(_kombu_ping, url)


def _kombu_ping(url: str) -> None:
    with Connection(url, connect_timeout=CHECK_TIMEOUT_SECONDS) as connection:
        connection.ensure_connection(max_retries=1)
