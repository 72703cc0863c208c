"""asyncpg pools with pgvector and JSON codecs registered on every connection."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import asyncpg
import numpy as np
from numpy.typing import NDArray
from pgvector.asyncpg import register_vector

from infra.settings import Settings


class UnsafeDatabaseRoleError(RuntimeError):
    """The application role would bypass row-level security."""


async def init_connection(conn: asyncpg.Connection) -> None:
    """Per-connection setup: jsonb as Python objects, ``vector`` as numpy arrays."""
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    # The extension is created by the first migration; before that, no vector codec.
    with contextlib.suppress(ValueError):
        await register_vector(conn)


async def create_pool(dsn: str, settings: Settings, **overrides: Any) -> asyncpg.Pool:
    options: dict[str, Any] = {
        "min_size": settings.db_pool_min_size,
        "max_size": settings.db_pool_max_size,
        "command_timeout": settings.db_command_timeout_s,
        "init": init_connection,
    }
    options.update(overrides)
    pool = await asyncpg.create_pool(dsn, **options)
    assert pool is not None
    return pool


ROLE_SAFETY_SQL = """
SELECT r.rolname, r.rolsuper, r.rolbypassrls
FROM pg_roles r WHERE r.rolname = current_user
"""


async def assert_rls_applies(pool: asyncpg.Pool) -> None:
    """Refuse to serve tenants through a role that row-level security ignores."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(ROLE_SAFETY_SQL)
    assert row is not None
    if row["rolsuper"] or row["rolbypassrls"]:
        raise UnsafeDatabaseRoleError(
            f"database role {row['rolname']!r} is a superuser or has BYPASSRLS, so tenant "
            "isolation would not apply. Point VETTIFY_DATABASE_URL at a role that is a "
            "member of 'vettify_app' (see README, 'Running against your own PostgreSQL')."
        )


def stored_vector(value: Any) -> NDArray[np.float32]:
    """A ``vector`` column's value as numpy (pgvector's codec gives a ``Vector``; older ones an array)."""
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, dtype=np.float32)
