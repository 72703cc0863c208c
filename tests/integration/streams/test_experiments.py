"""Campaign A/B tests on real PostgreSQL: the optimiser reads delivery and click rows, moves the queued
recipients towards the likely winner, then to the winner, and publishes ``crm.ab.test.optimized``."""

from __future__ import annotations

import json
import uuid
from collections import Counter

import asyncpg
import pytest

from crm_core.schemas.campaigns import CampaignCreate, CampaignVariant
from crm_core.services.campaigns import campaigns_service
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.errors import NotFound
from infra.security import Principal
from streams.experiments import ExperimentOptimizer, campaign_experiment

pytestmark = pytest.mark.integration

CONTACTS = 2000


async def _send(app_pool: asyncpg.Pool, tenant: TenantContext) -> uuid.UUID:
    user = Principal(sub="marketer", tenant=tenant, scopes=frozenset({"crm:admin", "marketing:send"}))
    async with tenant_transaction(app_pool, tenant) as conn:
        await conn.execute(
            "INSERT INTO crm.contacts (tid, whid, mid, first_name, email, consent_marketing) "
            "SELECT $1, NULL, $2, 'Ana', 'ana' || g || '@example.ro', true FROM generate_series(1, $3) g",
            tenant.tid,
            tenant.mid,
            CONTACTS,
        )
        campaign = await campaigns_service.create(
            conn,
            user=user,
            data=CampaignCreate(
                name="Black Friday",
                subject="Salut {{ contact.first_name }}",
                body="Reduceri",
                variants=[CampaignVariant(key="A", subject="Oferta"), CampaignVariant(key="B", subject="-40%")],
            ),
        )
        result = await campaigns_service.send(conn, user=user, id=campaign.id, ab_metric="click")
    assert result.queued == CONTACTS
    return campaign.id


async def _deliver(
    app_pool: asyncpg.Pool, tenant: TenantContext, campaign: uuid.UUID, n: int, rates: dict[str, int]
) -> None:
    """The next ``n`` queued recipients are sent; every ``rates[variant]``-th of them clicks."""
    async with tenant_transaction(app_pool, tenant) as conn:
        rows = await conn.fetch(
            "UPDATE crm.email_deliveries SET state = 'sent', attempts = 1, sent_at = now() WHERE id IN ("
            "  SELECT id FROM crm.email_deliveries"
            "  WHERE tid = $1 AND mid = $2 AND campaign_id = $3 AND state = 'queued'"
            "  ORDER BY id LIMIT $4) RETURNING id, contact_id, variant",
            tenant.tid,
            tenant.mid,
            campaign,
            n,
        )
        seen: Counter[str] = Counter()
        clicks = []
        for row in rows:
            seen[row["variant"]] += 1
            if seen[row["variant"]] % rates[row["variant"]] == 0:
                clicks.append(
                    (tenant.tid, None, tenant.mid, row["id"], campaign, row["contact_id"], row["variant"], "clicked")
                )
        await conn.executemany(
            "INSERT INTO crm.email_events (tid, whid, mid, delivery_id, campaign_id, contact_id, variant, kind) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            clicks,
        )


async def _queued_variants(
    app_pool: asyncpg.Pool, tenant: TenantContext, campaign: uuid.UUID
) -> Counter[tuple[str, int]]:
    async with tenant_transaction(app_pool, tenant) as conn:
        rows = await conn.fetch(
            "SELECT variant, ab_epoch FROM crm.email_deliveries WHERE tid = $1 AND mid = $2 AND campaign_id = $3 "
            "AND state = 'queued'",
            tenant.tid,
            tenant.mid,
            campaign,
        )
    return Counter((r["variant"], r["ab_epoch"]) for r in rows)


async def _events(app_pool: asyncpg.Pool, tenant: TenantContext) -> list[dict[str, object]]:
    async with tenant_transaction(app_pool, tenant) as conn:
        rows = await conn.fetch(
            "SELECT payload FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.ab.test.optimized' ORDER BY seq",
            tenant.tid,
        )
    return [json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"] for r in rows]


async def test_the_optimiser_moves_queued_recipients_to_the_likely_then_the_certain_winner(
    app_pool: asyncpg.Pool, worker_pool: asyncpg.Pool
) -> None:
    tenant = TenantContext(tid=f"t-ab-{uuid.uuid4().hex[:8]}", mid="m-1")
    campaign = await _send(app_pool, tenant)
    planned = await _queued_variants(app_pool, tenant, campaign)
    assert set(planned) == {("A", 0), ("B", 0)} and 850 < planned[("A", 0)] < 1150

    optimizer = ExperimentOptimizer(app_pool, worker_pool, interval_s=0.001)
    await optimizer.run_once()  # nothing sent yet: not enough data, nothing moves, no event
    assert await _events(app_pool, tenant) == []

    await _deliver(app_pool, tenant, campaign, 800, {"A": 25, "B": 8})  # 4 % vs 12.5 % click
    await optimizer.run_once()
    [event] = await _events(app_pool, tenant)
    assert event["decision"] == "keep_running" and event["epoch"] == 1 and event["reassigned"] == CONTACTS - 800
    assert event["allocation"]["B"] > 0.9 and event["previous_allocation"] == {"A": 0.5, "B": 0.5}
    queued = await _queued_variants(app_pool, tenant, campaign)
    assert sum(queued.values()) == CONTACTS - 800 and {epoch for _, epoch in queued} == {1}
    assert queued[("B", 1)] / sum(queued.values()) > 0.88  # the queue now follows the new allocation

    optimizer.interval_s = 3600.0
    assert await optimizer.run_once() == 0  # checked a moment ago: not due

    optimizer.interval_s = 0.001
    await _deliver(app_pool, tenant, campaign, 1000, {"A": 25, "B": 8})
    await optimizer.run_once()
    events = await _events(app_pool, tenant)
    assert [e["decision"] for e in events] == ["keep_running", "winner"] and events[-1]["winner"] == "B"
    assert set(await _queued_variants(app_pool, tenant, campaign)) == {("B", 2)}  # the rest all get the winner

    async with tenant_transaction(app_pool, tenant) as conn:
        view = await campaign_experiment(conn, tenant=tenant, campaign_id=campaign, alpha=0.05, window_days=7)
    assert view["state"] == "decided" and [a["epoch"] for a in view["allocations"]] == [0, 1, 2]
    analysis = view["analysis"]
    assert analysis["decision"] == "winner" and analysis["sample_ratio"]["alert"] is False  # epochs explain the split
    assert await optimizer.run_once() == 0  # a decided experiment is not read again

    other = TenantContext(tid=f"t-other-{uuid.uuid4().hex[:6]}", mid="m-1")
    async with tenant_transaction(app_pool, other) as conn:
        with pytest.raises(NotFound):
            await campaign_experiment(conn, tenant=other, campaign_id=campaign, alpha=0.05, window_days=7)


async def test_a_campaign_without_variants_has_no_experiment(app_pool: asyncpg.Pool) -> None:
    tenant = TenantContext(tid=f"t-ab-{uuid.uuid4().hex[:8]}", mid="m-1")
    async with tenant_transaction(app_pool, tenant) as conn:
        with pytest.raises(NotFound, match="two or more variants"):
            await campaign_experiment(conn, tenant=tenant, campaign_id=uuid.uuid4(), alpha=0.05, window_days=7)
