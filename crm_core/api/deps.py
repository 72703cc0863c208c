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
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from crm_core.anaf.client import AnafClient
from crm_core.core.config import Settings
from crm_core.core.security import Forbidden, Principal, Unauthorized, verify_token
from crm_core.db.tenancy import TenantContext, tenant_transaction

_bearer = HTTPBearer(auto_error=False, description="JWT with tid/mid/whid claims and crm:* scopes")


async def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_anaf(request: Request) -> AnafClient:
    client: AnafClient = request.app.state.anaf
    return client


PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]
AnafDep = Annotated[AnafClient, Depends(get_anaf)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def get_current_user(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("send 'Authorization: Bearer <token>' (mint a dev token with `vettify token`)")
    return verify_token(settings, credentials.credentials)


CurrentUser = Annotated[Principal, Depends(get_current_user)]


class RequireScopes:
    """Route dependency: the caller must hold every scope listed."""

    def __init__(self, *scopes: str) -> None:
        self.scopes = scopes

    async def __call__(self, user: CurrentUser) -> Principal:
        missing = [s for s in self.scopes if not user.has(s)]
        if missing:
            raise Forbidden(f"this operation needs scope(s) {', '.join(missing)}", missing_scopes=missing)
        return user


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
