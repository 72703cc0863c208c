"""The per-tenant send rate holds across workers: two limiters on one real Redis share one budget."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import redis.asyncio as aioredis

from crm_core.delivery.ratelimit import TenantRateLimit
from infra.local_servers import RunningServer


async def test_two_workers_share_one_tenant_budget(redis_server: RunningServer) -> None:
    clients = [aioredis.Redis.from_url(redis_server.url) for _ in range(2)]
    try:
        # Each limiter's clock remembers its last reading: the second a grant is counted in is the one the
        # limiter keyed it under, not the moment the test got control back (which may already be the next).
        readings: list[list[float]] = [[], []]

        def clock_for(i: int) -> Callable[[], float]:
            def clock() -> float:
                readings[i].append(time.time())
                return readings[i][-1]

            return clock

        limiters = [TenantRateLimit(client, per_second=20, clock=clock_for(i)) for i, client in enumerate(clients)]
        tid, other = f"t-{uuid.uuid4().hex[:6]}", f"t-{uuid.uuid4().hex[:6]}"
        granted: list[float] = []

        async def worker(i: int) -> None:
            for _ in range(6):
                await limiters[i].acquire(tid, 5)
                granted.append(readings[i][-1])

        started = time.time()
        await asyncio.gather(*(worker(i) for i in range(2)))
        per_second: dict[int, int] = {}
        for at in granted:
            per_second[int(at)] = per_second.get(int(at), 0) + 5
        assert max(per_second.values()) <= 20  # 60 messages at 20/s: never more than 20 in one second
        assert time.time() - started >= 1.0
        # Another tenant has its own budget: it is not held up.
        quick = time.monotonic()
        await limiters[0].acquire(other, 20)
        assert time.monotonic() - quick < 0.5
    finally:
        for client in clients:
            await client.aclose()
