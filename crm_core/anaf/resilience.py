"""Circuit breaker and a rate limiter shared by every process through Redis."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import redis.asyncio as aioredis


class CircuitOpen(RuntimeError):
    """Calls are short-circuited until the cool-down ends."""


@dataclass
class CircuitBreaker:
    """Closed → (``failure_threshold`` consecutive failures) → open for ``reset_after_s``
    → half-open: one trial call closes it on success or re-opens it on failure."""

    failure_threshold: int = 5
    reset_after_s: float = 30.0
    failures: int = 0
    opened_at: float | None = None
    _trial_running: bool = field(default=False, repr=False)

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half_open" if time.monotonic() - self.opened_at >= self.reset_after_s else "open"

    def before_call(self) -> None:
        state = self.state
        if state == "open" or (state == "half_open" and self._trial_running):
            assert self.opened_at is not None
            wait = self.reset_after_s - (time.monotonic() - self.opened_at)
            raise CircuitOpen(f"ANAF calls paused after {self.failures} failures; next try in {max(wait, 0):.0f}s")
        if state == "half_open":
            self._trial_running = True

    def record_success(self) -> None:
        self.failures, self.opened_at, self._trial_running = 0, None, False

    def record_failure(self) -> None:
        self.failures += 1
        self._trial_running = False
        if self.failures >= self.failure_threshold or self.opened_at is not None:
            self.opened_at = time.monotonic()


class RedisRateLimiter:
    """At most one call per ``interval_s`` across all processes sharing ``redis``.

    A call takes the slot with ``SET key NX PX interval``; others wait for its TTL.
    """

    def __init__(self, redis: aioredis.Redis, key: str, interval_s: float = 1.0) -> None:
        self.redis = redis
        self.key = key
        self.interval_ms = max(1, int(interval_s * 1000))

    async def acquire(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if await self.redis.set(self.key, b"1", nx=True, px=self.interval_ms):
                return
            ttl_ms = await self.redis.pttl(self.key)
            if time.monotonic() + max(ttl_ms, 1) / 1000 > deadline:
                raise TimeoutError(f"rate limit slot for {self.key} not free within {timeout_s:.0f}s")
            await asyncio.sleep(max(ttl_ms, 5) / 1000)
