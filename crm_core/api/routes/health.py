"""Liveness and readiness of the CRM core."""

from __future__ import annotations

import asyncio
import time

import asyncpg
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from crm_core import __version__
from crm_core.api.deps import PoolDep

router = APIRouter(tags=["health"])

DB_PING_TIMEOUT_S = 2.0


class Health(BaseModel):
    status: str
    version: str
    database: str
    database_latency_ms: float | None = None


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(pool: PoolDep) -> JSONResponse | Health:
    """``ok`` when the database answers within 2 s, else 503 with the reason."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(DB_PING_TIMEOUT_S), pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        body = Health(status="unavailable", version=__version__, database=f"error: {type(exc).__name__}")
        return JSONResponse(body.model_dump(), status_code=503)
    latency = round((time.perf_counter() - started) * 1000, 2)
    return Health(status="ok", version=__version__, database="ok", database_latency_ms=latency)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Requests and latency per route in the Prometheus text format (``infra.http.metrics``); scrape every replica."""
    body, content_type = request.app.state.http_metrics.render()
    return Response(body, media_type=content_type)
