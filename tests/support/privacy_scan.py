"""Where a person's strings still are: every row of a tenant in every table, every Redis key and value.

The erasure tests' proof: after a subject is erased, neither scan finds any of their identifiers.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import redis.asyncio as aioredis

TENANT_TABLES_SQL = """
SELECT c.table_schema || '.' || c.table_name AS name FROM information_schema.columns c
JOIN pg_tables t ON t.schemaname = c.table_schema AND t.tablename = c.table_name
WHERE c.table_schema IN ('crm', 'ai') AND c.column_name = 'tid'
"""


async def table_hits(admin_pool: asyncpg.Pool, tid: str, needles: list[str]) -> dict[str, list[str]]:
    """Per table of the crm and ai schemas: which needles occur in the tenant's rows, every column as text
    (JSONB and arrays included), case-insensitively. Tables without a hit are left out."""
    found: dict[str, list[str]] = {}
    async with admin_pool.acquire() as conn:
        for t in await conn.fetch(TENANT_TABLES_SQL):
            rows = await conn.fetch(f"SELECT x::text FROM {t['name']} x WHERE tid = $1", tid)
            text = "\n".join(r[0].lower() for r in rows)
            if hits := [n for n in needles if n.lower() in text]:
                found[t["name"]] = hits
    return found


async def redis_hits(redis: aioredis.Redis, needles: list[str], *, besides: str | None = None) -> list[str]:
    """Which needles occur in any key's name or value (string, hash, set, sorted set, list), skipping keys
    whose name contains ``besides`` (another tenant's)."""
    found: set[str] = set()
    async for key in redis.scan_iter(count=1000):
        name = key.decode()
        if besides is not None and besides in name:
            continue
        kind = (await redis.type(key)).decode()
        value: Any
        if kind == "string":
            value = await redis.get(key)
        elif kind == "hash":
            value = await redis.hgetall(key)
        elif kind == "set":
            value = await redis.smembers(key)
        elif kind == "zset":
            value = await redis.zrange(key, 0, -1)
        elif kind == "list":
            value = await redis.lrange(key, 0, -1)
        else:
            value = kind
        text = (name + repr(value)).lower()
        found |= {n for n in needles if n.lower() in text}
    return sorted(found)
