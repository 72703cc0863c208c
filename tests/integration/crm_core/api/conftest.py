"""The CRM app over HTTP (in-process ASGI) on the session's migrated database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterable

import httpx
import pytest

from crm_core.api.app import create_app
from infra.security import mint_token
from infra.settings import Settings
from tests.support.databases import ProvisionedDatabase

Auth = Callable[..., dict[str, str]]


@pytest.fixture(scope="session")
async def api(migrated_database: ProvisionedDatabase, test_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(test_settings, database_url=migrated_database.urls.app)  # relay driven by tests
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as client:
            yield client


@pytest.fixture(scope="session")
def auth(test_settings: Settings) -> Auth:
    def make(
        tid: str = "t-api",
        mid: str = "m-1",
        whid: str | None = None,
        scopes: Iterable[str] = ("crm:read", "crm:write"),
        sub: str = "user-1",
    ) -> dict[str, str]:
        token = mint_token(test_settings, sub=sub, tid=tid, mid=mid, whid=whid, scopes=scopes)
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def tenant_headers(auth: Auth) -> dict[str, str]:
    """A fresh tenant per test, with every scope."""
    return auth(tid=f"t-{uuid.uuid4().hex[:8]}", scopes=("crm:read", "crm:write", "crm:admin", "marketing:send"))


async def all_names(
    api: httpx.AsyncClient, url: str, params: dict[str, str | int], headers: dict[str, str]
) -> list[str]:
    """Every ``name`` of a listing, following ``next_cursor`` page by page as a client does."""
    names: list[str] = []
    params = dict(params)
    while True:
        page = (await api.get(url, params=params, headers=headers)).json()
        names += [item["name"] for item in page["items"]]
        if page["next_cursor"] is None:
            return names
        params["cursor"] = page["next_cursor"]
