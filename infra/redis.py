"""Redis clients: a real server when ``VETTIFY_REDIS_URL`` is set, else fakeredis.

fakeredis keeps the embedded default dependency-free; all clients made in one
process share one fake server, so caches and rate limits behave the same way.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import redis.asyncio as aioredis

from infra.settings import Settings


@lru_cache(maxsize=1)
def _shared_fake_server() -> Any:
    import fakeredis

    return fakeredis.FakeServer()


def create_redis(settings: Settings) -> aioredis.Redis:
    if settings.redis_url:
        return aioredis.Redis.from_url(settings.redis_url, decode_responses=False)
    import fakeredis

    client: aioredis.Redis = fakeredis.FakeAsyncRedis(server=_shared_fake_server())
    return client
