"""Row-level security, table by table: tenant A/B x warehouse W1/W2/tenant-wide.

Rows are seeded as the owner (who bypasses RLS); every check runs through the
application's non-owner role, the way the API reaches the database.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from crm_core.privacy.subject import privacy_transaction
from infra.db.tenancy import TenantContext, tenant_transaction

TENANTS = ("tenant-a", "tenant-b")
WAREHOUSES: tuple[str | None, ...] = ("wh-1", "wh-2", None)
MID = "m-rls-matrix"  # no other test writes with this member id
TABLES = (
    "accounts",
    "contacts",
    "leads",
    "opportunities",
    "campaigns",
    "campaign_recipients",
    "activities",
    "audit_log",
    "outbox",
    "mail_senders",
    "email_deliveries",
    "email_events",
    "consent_history",
    "sequences",
    "sequence_enrollments",
    "ab_experiments",
    "channel_spend",
    "price_book",
    "price_sales",
    "price_changes",
    "lead_scoring_models",
)
CONTEXTS = list(itertools.product(TENANTS, WAREHOUSES))
PRIVACY_SCOPED = {  # migration 0018: the tables a data subject's rows can be in
    "accounts",
    "contacts",
    "leads",
    "opportunities",
    "activities",
    "audit_log",
    "outbox",
    "campaign_recipients",
    "email_deliveries",
    "email_events",
    "consent_history",
    "sequence_enrollments",
}


def visible_to(tid: str, whid: str | None) -> set[tuple[str, str | None]]:
    """The standard policy: own tenant, own warehouse or tenant-wide rows."""
    return {(t, w) for t, w in CONTEXTS if t == tid and (w is None or w == whid)}


async def _seed_one(conn: asyncpg.Connection, tid: str, whid: str | None) -> None:
    key = (tid, whid, MID)
    account = await conn.fetchval(
        "INSERT INTO crm.accounts (tid, whid, mid, name) VALUES ($1, $2, $3, 'Acme') RETURNING id", *key
    )
    contact = await conn.fetchval(
        "INSERT INTO crm.contacts (tid, whid, mid, account_id, first_name) VALUES ($1, $2, $3, $4, 'Ana') RETURNING id",
        *key,
        account,
    )
    await conn.execute("INSERT INTO crm.leads (tid, whid, mid, email) VALUES ($1, $2, $3, 'x@y.ro')", *key)
    await conn.execute(
        "INSERT INTO crm.opportunities (tid, whid, mid, account_id, contact_id, name) "
        "VALUES ($1, $2, $3, $4, $5, 'Deal')",
        *key,
        account,
        contact,
    )
    campaign = await conn.fetchval(
        "INSERT INTO crm.campaigns (tid, whid, mid, name) VALUES ($1, $2, $3, 'Spring') RETURNING id", *key
    )
    await conn.execute(
        "INSERT INTO crm.campaign_recipients (tid, whid, mid, campaign_id, contact_id) VALUES ($1, $2, $3, $4, $5)",
        *key,
        campaign,
        contact,
    )
    await conn.execute(
        "INSERT INTO crm.activities (tid, whid, mid, account_id, kind) VALUES ($1, $2, $3, $4, 'note')", *key, account
    )
    await conn.execute(
        "INSERT INTO crm.audit_log (tid, whid, mid, actor, action, entity_type, entity_id) "
        "VALUES ($1, $2, $3, 'seed', 'create', 'account', $4)",
        *key,
        account,
    )
    await conn.execute(
        "INSERT INTO crm.outbox (tid, whid, mid, aggregate_type, aggregate_id, event_type, payload) "
        "VALUES ($1, $2, $3, 'account', $4, 'crm.account.created', '{}'::jsonb)",
        *key,
        account,
    )
    await conn.execute(
        "INSERT INTO crm.mail_senders (tid, whid, mid, from_address) VALUES ($1, $2, $3, 'news@acme.ro')", *key
    )
    delivery = await conn.fetchval(
        "INSERT INTO crm.email_deliveries (tid, whid, mid, campaign_id, contact_id, email) "
        "VALUES ($1, $2, $3, $4, $5, 'ana@acme.ro') RETURNING id",
        *key,
        campaign,
        contact,
    )
    sequence = await conn.fetchval(
        "INSERT INTO crm.sequences (tid, whid, mid, name, trigger, steps) "
        "VALUES ($1, $2, $3, 'Nurture', '{\"type\": \"manual\"}'::jsonb, '[]'::jsonb) RETURNING id",
        *key,
    )
    await conn.execute(
        "INSERT INTO crm.sequence_enrollments (tid, whid, mid, sequence_id, contact_id, source) "
        "VALUES ($1, $2, $3, $4, $5, 'seed')",
        *key,
        sequence,
        contact,
    )
    await conn.execute(
        "INSERT INTO crm.ab_experiments (tid, whid, mid, campaign_id, epochs) "
        'VALUES ($1, $2, $3, $4, \'[{"weights": {"A": 0.5, "B": 0.5}}]\'::jsonb)',
        *key,
        campaign,
    )
    await conn.execute(
        "INSERT INTO crm.channel_spend (tid, whid, mid, channel, period_start, period_end, amount, currency) "
        "VALUES ($1, $2, $3, 'google_ads', '2026-11-01', '2026-11-07', 700, 'RON')",
        *key,
    )
    product = await conn.fetchval(
        "INSERT INTO crm.price_book (tid, whid, mid, sku, name, currency, price, cost) "
        "VALUES ($1, $2, $3, 'SKU-1', 'Cafea', 'RON', 80, 50) RETURNING id",
        *key,
    )
    await conn.execute(
        "INSERT INTO crm.price_sales (tid, whid, mid, product_id, period_start, period_end, price, units) "
        "VALUES ($1, $2, $3, $4, '2026-11-01', '2026-11-08', 80, 140)",
        *key,
        product,
    )
    await conn.execute(
        "INSERT INTO crm.price_changes (tid, whid, mid, product_id, old_price, new_price, source, status, reason, "
        "proposed_by) VALUES ($1, $2, $3, $4, 80, 84, 'optimiser', 'proposed', 'test', 'repricer')",
        *key,
        product,
    )
    if whid is None:  # suppressions are tenant-wide by rule (a CHECK): every branch must see them
        await conn.execute(
            "INSERT INTO crm.email_suppressions (tid, mid, email, reason) VALUES ($1, $2, 'x@acme.ro', 'manual')",
            tid,
            MID,
        )
        await conn.execute("INSERT INTO crm.privacy_settings (tid, mid) VALUES ($1, $2)", tid, MID)

    await conn.execute(
        "INSERT INTO crm.email_events (tid, whid, mid, delivery_id, campaign_id, contact_id, kind) "
        "VALUES ($1, $2, $3, $4, $5, $6, 'opened')",
        *key,
        delivery,
        campaign,
        contact,
    )
    await conn.execute(
        "INSERT INTO crm.consent_history (tid, whid, mid, contact_id, purpose, granted, source) "
        "VALUES ($1, $2, $3, $4, 'marketing_email', true, 'seed')",
        *key,
        contact,
    )
    await conn.execute(
        "INSERT INTO crm.lead_scoring_models (tid, whid, mid, uses, reason, outcomes, converted, trained_by) "
        "VALUES ($1, $2, $3, 'rule', 'seed', 0, 0, 'seed')",
        *key,
    )


@pytest.fixture(scope="module")
async def seeded(admin_pool: asyncpg.Pool) -> AsyncIterator[None]:
    async with admin_pool.acquire() as conn, conn.transaction():
        for tid, whid in CONTEXTS:
            await _seed_one(conn, tid, whid)
    yield
    async with admin_pool.acquire() as conn, conn.transaction():
        await conn.execute("UPDATE crm.leads SET converted_opportunity_id = NULL WHERE mid = $1", MID)
        await conn.execute("DELETE FROM crm.email_suppressions WHERE mid = $1", MID)
        await conn.execute("DELETE FROM crm.privacy_settings WHERE mid = $1", MID)
        for table in reversed(TABLES):
            await conn.execute(f"DELETE FROM crm.{table} WHERE mid = $1", MID)


async def _visible(pool: asyncpg.Pool, table: str, tid: str, whid: str | None) -> set[tuple[str, str | None]]:
    async with tenant_transaction(pool, TenantContext(tid=tid, mid=MID, whid=whid)) as conn:
        rows = await conn.fetch(f"SELECT tid, whid FROM crm.{table} WHERE mid = $1", MID)
    return {(r["tid"], r["whid"]) for r in rows}


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize(("tid", "whid"), CONTEXTS)
async def test_reads_see_exactly_the_permitted_rows(
    app_pool: asyncpg.Pool, table: str, tid: str, whid: str | None
) -> None:
    assert await _visible(app_pool, table, tid, whid) == visible_to(tid, whid)


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(("tid", "whid"), CONTEXTS)
async def test_suppressions_are_tenant_wide_and_private(app_pool: asyncpg.Pool, tid: str, whid: str | None) -> None:
    assert await _visible(app_pool, "email_suppressions", tid, whid) == {(tid, None)}
    async with tenant_transaction(app_pool, TenantContext(tid=tid, mid=MID, whid=whid)) as conn:
        with pytest.raises((asyncpg.CheckViolationError, asyncpg.InsufficientPrivilegeError)):
            await conn.execute(
                "INSERT INTO crm.email_suppressions (tid, whid, mid, email, reason) "
                "VALUES ($1, $2, $3, 'y@a.ro', 'manual')",
                tid,
                whid or "wh-1",
                MID,
            )


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(("tid", "whid"), CONTEXTS)
async def test_privacy_settings_are_tenant_wide_and_private(app_pool: asyncpg.Pool, tid: str, whid: str | None) -> None:
    assert await _visible(app_pool, "privacy_settings", tid, whid) == {(tid, None)}
    async with tenant_transaction(app_pool, TenantContext(tid=tid, mid=MID, whid=whid)) as conn:
        with pytest.raises((asyncpg.CheckViolationError, asyncpg.InsufficientPrivilegeError)):
            await conn.execute(
                "INSERT INTO crm.privacy_settings (tid, whid, mid) VALUES ($1, $2, $3)", tid, whid or "wh-1", MID
            )


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize("table", TABLES)
async def test_connection_without_tenant_sees_nothing(app_pool: asyncpg.Pool, table: str) -> None:
    async with app_pool.acquire() as conn:
        assert await conn.fetchval(f"SELECT count(*) FROM crm.{table}") == 0
        # After a tenant transaction ends, its SET LOCAL values are gone too.
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tid', 'tenant-a', true)")
            assert await conn.fetchval(f"SELECT count(*) FROM crm.{table}") > 0
        assert await conn.fetchval(f"SELECT count(*) FROM crm.{table}") == 0


APPEND_ONLY = ("audit_log", "email_events", "consent_history", "lead_scoring_models")
MUTABLE_TABLES = tuple(t for t in TABLES if t not in APPEND_ONLY)  # append-only ones: tested below


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize("table", MUTABLE_TABLES)
@pytest.mark.parametrize(("tid", "whid"), CONTEXTS)
async def test_updates_and_deletes_reach_only_permitted_rows(
    app_pool: asyncpg.Pool, table: str, tid: str, whid: str | None
) -> None:
    ctx = TenantContext(tid=tid, mid=MID, whid=whid)
    permitted = len(visible_to(tid, whid))
    async with app_pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            await conn.execute(
                "SELECT set_config('app.tid', $1, true), set_config('app.whid', $2, true)", ctx.tid, ctx.whid or ""
            )
            updated = await conn.execute(f"UPDATE crm.{table} SET updated_at = now() WHERE mid = $1", MID)
            assert updated == f"UPDATE {permitted}"
            other_tenant = next(t for t in TENANTS if t != tid)
            assert (
                await conn.execute(f"UPDATE crm.{table} SET updated_at = now() WHERE tid = $1", other_tenant)
                == "UPDATE 0"
            )
            assert await conn.execute(f"DELETE FROM crm.{table} WHERE tid = $1", other_tenant) == "DELETE 0"
        finally:
            await tx.rollback()


@pytest.mark.parametrize(("tid", "whid"), CONTEXTS)
async def test_insert_into_another_tenant_is_rejected(app_pool: asyncpg.Pool, tid: str, whid: str | None) -> None:
    other = next(t for t in TENANTS if t != tid)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        async with tenant_transaction(app_pool, TenantContext(tid=tid, mid=MID, whid=whid)) as conn:
            await conn.execute(
                "INSERT INTO crm.accounts (tid, whid, mid, name) VALUES ($1, $2, $3, 'x')", other, whid, MID
            )


async def test_insert_into_another_warehouse_is_rejected(app_pool: asyncpg.Pool) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        async with tenant_transaction(app_pool, TenantContext(tid="tenant-a", mid=MID, whid="wh-1")) as conn:
            await conn.execute("INSERT INTO crm.leads (tid, whid, mid) VALUES ('tenant-a', 'wh-2', $1)", MID)


async def test_moving_a_row_to_another_tenant_is_rejected(app_pool: asyncpg.Pool) -> None:
    ctx = TenantContext(tid="tenant-a", mid=MID, whid=None)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        async with tenant_transaction(app_pool, ctx) as conn:
            row_id = await conn.fetchval("INSERT INTO crm.leads (tid, mid) VALUES ('tenant-a', $1) RETURNING id", MID)
            await conn.execute("UPDATE crm.leads SET tid = 'tenant-b' WHERE id = $1", row_id)


async def test_tenant_wide_rows_insertable_from_a_warehouse(app_pool: asyncpg.Pool) -> None:
    ctx = TenantContext(tid="tenant-a", mid=f"m-{uuid.uuid4().hex[:6]}", whid="wh-1")
    async with tenant_transaction(app_pool, ctx) as conn:
        await conn.execute("INSERT INTO crm.leads (tid, whid, mid) VALUES ('tenant-a', NULL, $1)", ctx.mid)
        assert await conn.fetchval("SELECT count(*) FROM crm.leads WHERE mid = $1", ctx.mid) == 1


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM crm.audit_log",
        "UPDATE crm.audit_log SET actor = 'x'",
        "DELETE FROM crm.email_events",
        "UPDATE crm.email_events SET machine = true",
        "DELETE FROM crm.consent_history",
        "UPDATE crm.consent_history SET granted = true",
        "DELETE FROM crm.lead_scoring_models",
        "UPDATE crm.lead_scoring_models SET uses = 'rule'",
    ],
)
async def test_logs_are_append_only_for_the_app(app_pool: asyncpg.Pool, statement: str) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
        async with tenant_transaction(app_pool, TenantContext(tid="tenant-a", mid=MID)) as conn:
            await conn.execute(statement)


async def test_every_crm_table_forces_the_standard_policy(admin_pool: asyncpg.Pool) -> None:
    async with admin_pool.acquire() as conn:
        tables = await conn.fetch(
            """
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner) AS owner
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'crm' AND c.relkind = 'r'
            """
        )
        policies = await conn.fetch(
            "SELECT tablename, policyname, roles, qual FROM pg_policies WHERE schemaname = 'crm'"
        )
    assert {t["relname"] for t in tables} == {*TABLES, "email_suppressions", "privacy_settings", "erasure_requests"}
    for t in tables:
        assert t["relrowsecurity"], t["relname"]
        assert t["relforcerowsecurity"], t["relname"]
        assert t["owner"] != "vettify_test_app"
        tenant_policy = [p for p in policies if p["policyname"] == f"{t['relname']}_tenant_isolation"]
        assert len(tenant_policy) == 1, t["relname"]
        assert tenant_policy[0]["roles"] == ["public"]
        assert "current_setting('app.tid'::text, true)" in tenant_policy[0]["qual"]
        assert "current_setting('app.whid'::text, true)" in tenant_policy[0]["qual"]
    scoped = [p for p in policies if p["policyname"].endswith("_privacy_scope")]
    for p in scoped:  # the privacy jobs' tenant-wide view: still this tenant only
        assert p["roles"] == ["public"]
        assert "current_setting('app.tid'::text, true)" in p["qual"]
        assert "current_setting('app.privacy_scope'::text, true)" in p["qual"]
    assert {p["tablename"] for p in scoped} == PRIVACY_SCOPED | {"email_suppressions"}
    others = [
        (p["tablename"], p["roles"])
        for p in policies
        if not p["policyname"].endswith(("_tenant_isolation", "_privacy_scope"))
    ]
    assert sorted(others) == [
        ("ab_experiments", ["vettify_worker"]),
        ("accounts", ["vettify_worker"]),
        ("email_deliveries", ["vettify_worker"]),
        ("erasure_requests", ["vettify_worker"]),
        ("lead_scoring_models", ["vettify_worker"]),
        ("outbox", ["vettify_relay"]),
        ("price_book", ["vettify_worker"]),
        ("privacy_settings", ["vettify_worker"]),
        ("sequence_enrollments", ["vettify_worker"]),
    ]


@pytest.mark.parametrize("table", TABLES)
async def test_the_privacy_scope_sees_every_branch_of_its_own_tenant_only(
    app_pool: asyncpg.Pool, seeded: None, table: str
) -> None:
    """What erasure and export see (``app.privacy_scope = 'tenant'``): all of tenant A's branches, none of B."""
    async with privacy_transaction(app_pool, TenantContext(tid="tenant-a", mid=MID), readonly=True) as conn:
        rows = await conn.fetch(f"SELECT DISTINCT tid, whid FROM crm.{table} WHERE mid = $1", MID)
    expected = {c for c in CONTEXTS if c[0] == "tenant-a"} if table in PRIVACY_SCOPED else visible_to("tenant-a", None)
    assert {(r["tid"], r["whid"]) for r in rows} == expected


async def test_the_privacy_scope_needs_a_tenant(app_pool: asyncpg.Pool, seeded: None) -> None:
    async with app_pool.acquire() as conn, conn.transaction(readonly=True):
        await conn.execute("SELECT set_config('app.privacy_scope', 'tenant', true)")
        assert await conn.fetchval("SELECT count(*) FROM crm.contacts WHERE mid = $1", MID) == 0


async def test_app_role_cannot_bypass_rls(app_pool: asyncpg.Pool) -> None:
    async with app_pool.acquire() as conn:
        row = await conn.fetchrow("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert row is not None and not row["rolsuper"] and not row["rolbypassrls"]
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("ALTER TABLE crm.accounts DISABLE ROW LEVEL SECURITY")
