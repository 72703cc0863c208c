"""The tenant a unit of work runs as, and the transaction that enforces it.

Row-level security reads ``app.tid`` and ``app.whid``; they are set with
``set_config(name, value, is_local => true)``, which is ``SET LOCAL`` with bind
parameters: the values vanish when the transaction ends, so a pooled connection
never carries one request's tenant into the next.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

_IDENT_MAX = 128


class TenantContextError(ValueError):
    """A tenant context is missing or malformed."""


@dataclass(frozen=True, slots=True)
class TenantContext:
    """Who a request acts for.

    ``tid``: tenant. ``mid``: the member organisation (legal entity) inside the
    tenant; together with ``tid`` it scopes every key. ``whid``: the warehouse or
    branch, ``None`` for tenant-wide access (which sees only tenant-wide rows).
    """

    tid: str
    mid: str
    whid: str | None = None

    def __post_init__(self) -> None:
        for name in ("tid", "mid"):
            _check_ident(name, getattr(self, name))
        if self.whid is not None:
            _check_ident("whid", self.whid)


def _check_ident(name: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise TenantContextError(f"{name} must be a non-empty string")
    if len(value) > _IDENT_MAX:
        raise TenantContextError(f"{name} is longer than {_IDENT_MAX} characters")


SET_TENANT_SQL = "SELECT set_config('app.tid', $1, true), set_config('app.whid', $2, true)"


async def apply_tenant(conn: asyncpg.Connection, tenant: TenantContext) -> None:
    """Bind ``tenant`` to the current transaction (must be inside one)."""
    if not conn.is_in_transaction():
        raise TenantContextError("apply_tenant must run inside a transaction")
    await conn.execute(SET_TENANT_SQL, tenant.tid, tenant.whid or "")


@asynccontextmanager
async def tenant_transaction(
    pool: asyncpg.Pool, tenant: TenantContext, *, readonly: bool = False
) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection in a transaction bound to ``tenant``.

    ``async with tenant_transaction(pool, ctx) as conn: ...`` commits on success
    and rolls back on error.
    """
    async with pool.acquire() as conn, conn.transaction(readonly=readonly):
        await apply_tenant(conn, tenant)
        yield conn
