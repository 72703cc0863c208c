"""``ai.batch_runs`` under forced RLS, resuming and restarting runs, and the worker's tenant listing."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from infra.db.tenancy import TenantContext, tenant_transaction
from serve.batch import runs
from serve.batch.jobs import all_tenants
from tests.support.databases import ProvisionedDatabase


def _plan(keys: list[str]):  # type: ignore[no-untyped-def]
    async def plan(conn: asyncpg.Connection) -> list[str]:
        return keys

    return plan


async def test_a_run_resumes_until_finished_and_another_tenant_never_sees_it(app_pool: asyncpg.Pool) -> None:
    tenant = TenantContext(f"runs-{uuid.uuid4().hex[:8]}", "m1")
    keys = [f"k{i:02d}" for i in range(10)]
    first = await runs.open_run(
        app_pool, tenant, job="embed", target="mentions", params={"v": 1}, plan=_plan(keys), page_size=4
    )
    assert not first.resumed and [p.rows for p in first.pages] == [4, 4, 2]
    async with tenant_transaction(app_pool, tenant) as conn:
        assert await runs.page_done(
            conn, tenant, first.id, 1, written=4, unchanged=0, bad=[{"id": "k5", "reason": "x"}]
        )
        assert not await runs.page_done(conn, tenant, first.id, 1, written=4, unchanged=0, bad=[])  # once only
    again = await runs.open_run(
        app_pool, tenant, job="embed", target="mentions", params={"v": 2}, plan=_plan(["other"]), page_size=4
    )
    assert again.resumed and again.id == first.id and again.params == {"v": 1}
    assert (
        [p.index for p in again.todo] == [0, 2]
        and again.rows_written == 4
        and again.bad == [{"id": "k5", "reason": "x"}]
    )
    other = TenantContext(f"{tenant.tid}-x", "m1")
    fresh = await runs.open_run(
        app_pool, other, job="embed", target="mentions", params={}, plan=_plan(keys), page_size=4
    )
    assert not fresh.resumed and fresh.id != first.id
    async with tenant_transaction(app_pool, other, readonly=True) as conn:
        assert await conn.fetchval("SELECT count(*) FROM ai.batch_runs WHERE id = $1", first.id) == 0
    finished = await runs.finish(app_pool, again)
    assert finished.rows_written == 4
    after = await runs.open_run(
        app_pool, tenant, job="embed", target="mentions", params={}, plan=_plan(keys[:3]), page_size=4
    )
    assert not after.resumed and len(after.pages) == 1


async def test_restart_closes_the_open_run(app_pool: asyncpg.Pool) -> None:
    tenant = TenantContext(f"runs-{uuid.uuid4().hex[:8]}", "m1")
    first = await runs.open_run(
        app_pool, tenant, job="score-churn", target="accounts", params={}, plan=_plan(["a", "b"]), page_size=1
    )
    second = await runs.open_run(
        app_pool, tenant, job="score-churn", target="accounts", params={}, plan=_plan(["a"]), page_size=1, restart=True
    )
    assert second.id != first.id and not second.resumed
    async with tenant_transaction(app_pool, tenant, readonly=True) as conn:
        state = await conn.fetchval("SELECT params->>'abandoned' FROM ai.batch_runs WHERE id = $1", first.id)
    assert state == "true"


async def test_the_table_forces_rls_and_a_connection_without_tenant_sees_no_run(
    admin_pool: asyncpg.Pool, app_pool: asyncpg.Pool
) -> None:
    row = await admin_pool.fetchrow(
        "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'ai.batch_runs'::regclass"
    )
    assert row["relrowsecurity"] and row["relforcerowsecurity"]
    async with app_pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM ai.batch_runs") == 0


async def test_the_worker_lists_tenants_but_reads_nothing_else(
    migrated_database: ProvisionedDatabase, admin_pool: asyncpg.Pool, worker_pool: asyncpg.Pool
) -> None:
    tid = f"scan-{uuid.uuid4().hex[:8]}"
    await admin_pool.execute(
        "INSERT INTO ai.social_insights (tid, whid, mid, id, event_type, platform, brand, text, posted_at, sentiment, "
        "sentiment_score, probabilities) VALUES ($1, 'cluj', 'm1', $2, 'social.twitter.mention', 'twitter', 'acme', "
        "'secret text', now(), 'neutral', 0, '{}'::jsonb)",
        tid,
        uuid.uuid4(),
    )
    assert migrated_database.urls.worker is not None
    tenants = await all_tenants("embed", migrated_database.urls.worker)
    assert TenantContext(tid, "m1", "cluj") in tenants
    async with worker_pool.acquire() as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT text FROM ai.social_insights WHERE tid = $1", tid)
