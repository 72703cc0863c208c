"""Attribution and budget plans on a tenant's own rows in real PostgreSQL: web/pixel sessions with their
channel, orders, imported spend."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from infra.db.tenancy import TenantContext, tenant_transaction
from models.marketing.budget_simulate import CURRENT, NAMES, simulate_history
from streams.marketing import attribution, budget_plan, prorated

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 30, tzinfo=UTC)


async def _account(conn: asyncpg.Connection, tenant: TenantContext, name: str) -> uuid.UUID:
    return await conn.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO crm.accounts (tid, mid, name) VALUES ($1, $2, $3) RETURNING id", tenant.tid, tenant.mid, name
    )


async def _session(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    account: uuid.UUID,
    channel: str | None,
    at: datetime,
    steps: int = 3,
) -> None:
    session = uuid.uuid4().hex
    for i in range(steps):  # several steps, one touch
        await conn.execute(
            "INSERT INTO ai.behavior_events "
            "(tid, mid, id, source, session_id, account_id, action, occurred_at, channel) "
            "VALUES ($1, $2, gen_random_uuid(), 'web', $3, $4, 'page_view', $5, $6)",
            tenant.tid,
            tenant.mid,
            session,
            account,
            at + timedelta(minutes=i),
            channel,
        )


async def _order(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    account: uuid.UUID,
    at: datetime,
    total: float,
    currency: str = "RON",
) -> None:
    await conn.execute(
        "INSERT INTO crm.activities (tid, mid, account_id, kind, occurred_at, source, payload) "
        "VALUES ($1, $2, $3, 'sales.order.created', $4, 'erp', $5)",
        tenant.tid,
        tenant.mid,
        account,
        at,
        {"total": str(total), "currency": currency},
    )


async def test_orders_are_credited_to_the_channels_that_touched_the_account_before(app_pool: asyncpg.Pool) -> None:
    tenant = TenantContext(tid=f"t-attr-{uuid.uuid4().hex[:8]}", mid="m-1")
    async with tenant_transaction(app_pool, tenant) as conn:
        for i in range(20):  # google_ads then newsletter, then an order of 100 RON
            account = await _account(conn, tenant, f"Client {i}")
            await _session(conn, tenant, account, "google_ads", NOW - timedelta(days=20))
            await _session(conn, tenant, account, "newsletter", NOW - timedelta(days=5))
            await _order(conn, tenant, account, NOW - timedelta(days=2), 100.0)
        for i in range(30):  # newsletter only, no order
            account = await _account(conn, tenant, f"Prospect {i}")
            await _session(conn, tenant, account, "newsletter", NOW - timedelta(days=3))
        direct = await _account(conn, tenant, "Direct SRL")
        await _order(conn, tenant, direct, NOW - timedelta(days=1), 50.0)
        stale = await _account(conn, tenant, "Old touch SRL")  # touched 60 days before: outside the lookback
        await _session(conn, tenant, stale, "google_ads", NOW - timedelta(days=60))
        await _order(conn, tenant, stale, NOW - timedelta(days=1), 70.0)
        await _order(conn, tenant, stale, NOW - timedelta(days=1), 30.0, currency="EUR")
        await conn.execute(
            "INSERT INTO crm.channel_spend (tid, mid, channel, period_start, period_end, amount, currency) VALUES "
            "($1, $2, 'google_ads', '2026-11-01', '2026-11-30', 600, 'RON'),"
            "($1, $2, 'tiktok', '2026-11-01', '2026-11-30', 300, 'RON')",
            tenant.tid,
            tenant.mid,
        )
        result = await attribution(  # the whole of November: all its spend
            conn,
            tenant,
            since=NOW - timedelta(days=30),
            until=NOW + timedelta(days=1),
            lookback_days=30,
            currency="RON",
            markov_order=1,
        )
    assert result["state"] == "ok" and result["orders"] == 23
    assert result["conversions"] == 20 and result["direct_conversions"] == 3
    assert result["revenue"] == pytest.approx(2000.0)
    assert result["spend"] == {"google_ads": 600.0, "tiktok": 300.0}
    models = {r["model"]: {c["channel"]: c for c in r["channels"]} for r in result["results"]}
    assert (
        models["first_touch"]["google_ads"]["conversions"] == 20
        and models["last_touch"]["newsletter"]["conversions"] == 20
    )
    assert models["linear"]["google_ads"]["roas"] == pytest.approx(1000 / 600)
    assert models["linear"]["tiktok"]["conversions"] == 0 and models["linear"]["tiktok"]["cpa"] is None
    for channels in models.values():
        assert sum(c["conversions"] for c in channels.values()) == pytest.approx(20)
    # the chain: start → ads (20) or newsletter (30); ads → newsletter; newsletter → order (20 of 50). Without the
    # newsletter nothing converts (removal effect 1); without ads 60 % of it remains (0.4): 20 * 1/1.4 and 0.4/1.4
    assert models["markov"]["newsletter"]["conversions"] == pytest.approx(20 / 1.4, abs=1e-4)
    assert models["markov"]["google_ads"]["conversions"] == pytest.approx(20 * 0.4 / 1.4, abs=1e-4)

    other = TenantContext(tid=f"t-other-{uuid.uuid4().hex[:6]}", mid="m-1")
    async with tenant_transaction(app_pool, other) as conn:
        empty = await attribution(
            conn, other, since=NOW - timedelta(days=30), until=NOW, lookback_days=30, currency="RON", markov_order=1
        )
    assert empty["state"] == "not_enough_data" and empty["orders"] == 0  # another tenant sees none of it


def test_spend_is_prorated_by_days_of_overlap() -> None:
    rows = [{"channel": "x", "period_start": date(2026, 11, 1), "period_end": date(2026, 11, 10), "amount": 100}]
    assert prorated(rows, date(2026, 11, 6), date(2026, 12, 1)) == {"x": 50.0}  # type: ignore[arg-type]


async def test_budget_plan_from_weekly_spend_and_revenue(app_pool: asyncpg.Pool) -> None:
    tenant = TenantContext(tid=f"t-budget-{uuid.uuid4().hex[:8]}", mid="m-1")
    history = simulate_history(weeks=60, seed=5)
    until = date(2026, 11, 30)
    start = until - timedelta(weeks=60)
    async with tenant_transaction(app_pool, tenant) as conn:
        short = await budget_plan(conn, tenant, budget=7000, weeks=60, currency="RON", until=until)
        assert short["state"] == "not_enough_data" and "no channel spend" in short["reason"]
        account = await _account(conn, tenant, "Shop")
        rows = []
        for week in range(60):
            monday = start + timedelta(weeks=week)
            for c, name in enumerate(NAMES):
                rows.append(
                    (
                        tenant.tid,
                        tenant.mid,
                        name,
                        monday,
                        monday + timedelta(days=6),
                        round(float(history.spend[week, c]), 2),
                    )
                )
            noon = datetime.combine(monday + timedelta(days=3), datetime.min.time(), UTC) + timedelta(hours=12)
            await _order(conn, tenant, account, noon, round(float(history.outcome[week]), 2))
        await conn.executemany(
            "INSERT INTO crm.channel_spend (tid, mid, channel, period_start, period_end, amount, currency) "
            "VALUES ($1, $2, $3, $4, $5, $6, 'RON')",
            rows,
        )
        plan = await budget_plan(conn, tenant, budget=float(CURRENT.sum()), weeks=60, currency="RON", until=until)
    assert plan["state"] == "ok", plan
    assert [c["channel"] for c in plan["channels"]] == sorted(NAMES)
    assert sum(c["recommended"] for c in plan["channels"]) == pytest.approx(CURRENT.sum())
    assert plan["fit_r2"] > 0.3 and plan["gain_interval"] is not None
