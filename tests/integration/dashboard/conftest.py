"""The dashboard app alone under uvicorn (at the root; Serve mounts it at /dashboard) on the session's database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from dashboard.app import create_app
from dashboard.live import LiveOptions
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.local_servers import RunningServer
from infra.security import mint_token
from infra.settings import Settings
from tests.support.asgi_thread import served
from tests.support.databases import ProvisionedDatabase

# Short lifetimes so the tests see a stream end, a heartbeat, a resync and a late commit quickly.
TEST_LIVE = LiveOptions(page=50, max_backlog=30, max_s=4.0, heartbeat_s=1.0, poll_s=1.0, retry_ms=100, grace_s=1.0)


@dataclass(frozen=True)
class Dashboard:
    url: str
    settings: Settings

    def token(self, tid: str, mid: str = "m", scopes: tuple[str, ...] = ("insights:read",)) -> str:
        return mint_token(self.settings, sub="viewer", tid=tid, mid=mid, scopes=scopes)


@pytest.fixture(scope="module")
def dashboard(
    migrated_database: ProvisionedDatabase, redis_server: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Dashboard]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("dashboard"),
        db_pool_min_size=1,
        redis_url=redis_server.url,
        _env_file=None,  # type: ignore[call-arg]
    )
    app = create_app(settings, database_url=migrated_database.urls.app, live=TEST_LIVE)
    with served(app, name="dashboard") as url:
        yield Dashboard(url=url, settings=settings)


async def publish(
    pool: asyncpg.Pool, tid: str, event_type: str, payload: dict[str, Any], *, mid: str = "m", count: int = 1
) -> list[int]:
    """Commit outbox rows the way the stream processors do (inside the tenant's transaction); their seqs."""
    async with tenant_transaction(pool, TenantContext(tid=tid, mid=mid)) as conn:
        rows = await conn.fetch(
            """
            INSERT INTO crm.outbox (tid, mid, aggregate_type, aggregate_id, event_type, payload)
            SELECT $1, $2, 'test', $3, $4, $5 FROM generate_series(1, $6)
            RETURNING seq
            """,
            tid,
            mid,
            uuid.uuid4(),
            event_type,
            payload,
            count,
        )
    return [int(r["seq"]) for r in rows]
