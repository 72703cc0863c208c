"""Migrations apply on an empty database, re-run as a no-op, and downgrade cleanly."""

from __future__ import annotations

import asyncpg

from infra.db import migrate
from tests.support.databases import ProvisionedDatabase

SCHEMA_OBJECTS_SQL = """
SELECT
  (SELECT array_agg(nspname ORDER BY nspname) FROM pg_namespace WHERE nspname IN ('crm', 'ai')) AS schemas,
  (SELECT count(*) FROM pg_tables WHERE schemaname = 'crm') AS crm_tables,
  (SELECT count(*) FROM pg_policies WHERE schemaname = 'crm') AS policies,
  (SELECT count(*) FROM pg_extension WHERE extname = 'vector') AS vector
"""


async def _objects(dsn: str) -> asyncpg.Record:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(SCHEMA_OBJECTS_SQL)
        assert row is not None
        return row
    finally:
        await conn.close()


async def test_upgrade_on_an_empty_database_creates_schema(empty_database: ProvisionedDatabase) -> None:
    dsn = empty_database.urls.admin
    assert await migrate.current_revision(dsn) is None
    await migrate.upgrade_async(dsn)
    assert await migrate.current_revision(dsn) == migrate.head_revision()
    objects = await _objects(dsn)
    assert objects["schemas"] == ["ai", "crm"]
    # 9 CRM tables, 5 of campaign delivery (0009), 2 of sequences (0010), A/B (0011), channel spend (0012),
    # the price book with its sales and changes (0014), privacy settings (0017), erasure requests (0018), lead
    # scoring models (0022)
    assert objects["crm_tables"] == 24
    # one per table + outbox relay, compliance, delivery, sequence, A/B, repricing, erasure and retention scans
    # + the privacy scope of the 13 crm tables a data subject's rows can be in (0018) + the lead-scoring
    # retrainer's scan (0022)
    assert objects["policies"] == 46
    assert objects["vector"] == 1


async def test_upgrade_is_idempotent(empty_database: ProvisionedDatabase) -> None:
    dsn = empty_database.urls.admin
    await migrate.upgrade_async(dsn)
    before = await _objects(dsn)
    await migrate.upgrade_async(dsn)
    assert await migrate.current_revision(dsn) == migrate.head_revision()
    assert await _objects(dsn) == before


async def test_downgrade_removes_everything_and_upgrade_again_works(empty_database: ProvisionedDatabase) -> None:
    dsn = empty_database.urls.admin
    await migrate.upgrade_async(dsn)
    await migrate.downgrade_async(dsn, "base")
    assert await migrate.current_revision(dsn) is None
    objects = await _objects(dsn)
    assert objects["schemas"] is None
    assert objects["crm_tables"] == 0
    await migrate.upgrade_async(dsn)
    assert (await _objects(dsn))["crm_tables"] == 24


async def test_vector_type_is_usable_after_migration(empty_database: ProvisionedDatabase) -> None:
    await migrate.upgrade_async(empty_database.urls.admin)
    conn = await asyncpg.connect(empty_database.urls.admin)
    try:
        distance = await conn.fetchval("SELECT '[1,0,0]'::vector <=> '[0,1,0]'::vector")
    finally:
        await conn.close()
    assert distance == 1.0


async def test_each_revision_downgrades_to_its_predecessor(empty_database: ProvisionedDatabase) -> None:
    dsn = empty_database.urls.admin
    await migrate.upgrade_async(dsn)
    for expected in reversed(migrate.revisions()[:-1]):
        await migrate.downgrade_async(dsn, "-1")
        assert await migrate.current_revision(dsn) == expected
    await migrate.downgrade_async(dsn, "base")
    assert await migrate.current_revision(dsn) is None
