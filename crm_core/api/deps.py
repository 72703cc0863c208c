"""FastAPI dependencies, published as ``Annotated`` aliases.

All of them are ``async def``: FastAPI runs plain ``def`` dependencies in a worker
thread, which for these trivial lookups cost more than the database query.

``ConnDep`` is a pooled connection inside a transaction bound to the caller's
tenant. Its scope is ``"function"``: the transaction commits (or rolls back)
when the route returns, *before* the response is sent, so a 2xx always means
the write is durable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from crm_core.anaf.client import AnafClient
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.http.auth import CurrentUser, RequireScopes, SettingsDep

__all__ = [
    "Admins",
    "AnafDep",
    "ConnDep",
    "CurrentUser",
    "PoolDep",
    "Pricers",
    "Readers",
    "RequireScopes",
    "Senders",
    "SettingsDep",
    "TenantDep",
    "Writers",
]


async def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


async def get_anaf(request: Request) -> AnafClient:
    client: AnafClient = request.app.state.anaf
    return client


PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]
AnafDep = Annotated[AnafClient, Depends(get_anaf)]


async def get_tenant(user: CurrentUser) -> TenantContext:
    return user.tenant


TenantDep = Annotated[TenantContext, Depends(get_tenant)]


async def tenant_connection(pool: PoolDep, tenant: TenantDep) -> AsyncIterator[asyncpg.Connection]:
    async with tenant_transaction(pool, tenant) as conn:
        yield conn


ConnDep = Annotated[asyncpg.Connection, Depends(tenant_connection, scope="function")]

Readers = Depends(RequireScopes("crm:read"))
Writers = Depends(RequireScopes("crm:write"))
Admins = Depends(RequireScopes("crm:admin"))
Senders = Depends(RequireScopes("marketing:send"))
Pricers = Depends(RequireScopes("pricing:approve"))
