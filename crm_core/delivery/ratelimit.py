"""A per-tenant send rate shared by every delivery worker through Redis (one counter per tenant per second).

``acquire(tid, n)`` returns once ``n`` more messages fit in the current second's budget; otherwise it waits for
the next second and asks again. Each worker, wherever it runs, counts against the same key, so two workers
for one tenant together stay under the tenant's rate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import redis.asyncio as aioredis

KEY = "vettify:mail:rate:{tid}:{second}"


class TenantRateLimit:
    def __init__(self, redis: aioredis.Redis, per_second: int, *, clock: Callable[[], float] = time.time) -> None:
        if per_second < 1:
            raise ValueError("per_second must be at least 1")
        self.redis = redis
        self.per_second = per_second
        self.clock = clock
        self.waited_s = 0.0

    async def acquire(self, tid: str, n: int) -> None:
        n = min(n, self.per_second)  # a batch wider than the rate is sent one budget at a time by the caller
        while True:
            now = self.clock()
            second = int(now)
            key = KEY.format(tid=tid, second=second)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incrby(key, n)
                pipe.expire(key, 2)
                used, _ = await pipe.execute()
            if int(used) <= self.per_second:
                return
            pause = second + 1 - now
            self.waited_s += pause
            await asyncio.sleep(pause)
