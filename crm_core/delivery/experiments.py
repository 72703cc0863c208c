"""A/B experiments over an e-mail campaign's variants: their stored state, arm counts and reallocation.

When a campaign with two or more variants is sent, :func:`start` records the experiment with the planned
split as allocation epoch 0. The analysis itself (posteriors, always-valid decision, Thompson allocation) is
:mod:`models.marketing.ab`, run by the streams' experiment optimiser (:mod:`streams.experiments`), which reads
:func:`arm_counts`, stores what it found (:func:`record`) and, when the allocation moves, gives the recipients
still queued a variant under the new weights (:func:`reassign_queued`) as a new epoch. Each delivery row
keeps the epoch it was assigned in, so what was sent can be checked against what the allocations should
have given (the sample-ratio check) however often they moved.

Metrics: ``open`` (unique human opens), ``click`` (unique clicks), ``conversion`` (contacts whose account
ordered within the conversion window after their first click) and ``revenue`` (those orders' total per
converting contact, in the campaign's currency); the denominator is the recipients sent to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg

from infra.db import rows_changed
from infra.db.tenancy import TenantContext

ABMetric = Literal["open", "click", "conversion", "revenue"]

START_SQL = """
INSERT INTO crm.ab_experiments (tid, whid, mid, campaign_id, metric, epochs)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (tid, mid, campaign_id) DO NOTHING
"""

RUNNING_SQL = """
SELECT tid, whid, mid, campaign_id FROM crm.ab_experiments
WHERE state = 'running' AND (checked_at IS NULL OR checked_at < $1)
ORDER BY checked_at NULLS FIRST
LIMIT $2
"""

LOAD_SQL = """
SELECT e.campaign_id, e.metric, e.state, e.epochs, e.decision, e.winner, e.analysis, e.checked_at,
       e.created_at, c.status AS campaign_status, c.currency, c.name AS campaign_name
FROM crm.ab_experiments e
JOIN crm.campaigns c ON c.tid = e.tid AND c.mid = e.mid AND c.id = e.campaign_id
WHERE e.tid = $1 AND e.mid = $2 AND e.campaign_id = $3
"""

SENT_SQL = """
SELECT variant, ab_epoch, count(*) AS sent FROM crm.email_deliveries
WHERE tid = $1 AND mid = $2 AND campaign_id = $3 AND state = 'sent'
GROUP BY variant, ab_epoch
"""

ENGAGED_SQL = """
SELECT variant, count(DISTINCT delivery_id) AS n FROM crm.email_events
WHERE tid = $1 AND mid = $2 AND campaign_id = $3 AND kind = $4 AND ($4 <> 'opened' OR NOT machine)
GROUP BY variant
"""

BUYERS_SQL = """
WITH first_click AS (
    SELECT DISTINCT ON (e.contact_id) e.contact_id, e.variant, e.occurred_at AS clicked_at
    FROM crm.email_events e
    WHERE e.tid = $1 AND e.mid = $2 AND e.campaign_id = $3 AND e.kind = 'clicked'
    ORDER BY e.contact_id, e.occurred_at
)
SELECT fc.variant, fc.contact_id,
       COALESCE(sum((a.payload ->> 'total')::numeric)
                FILTER (WHERE COALESCE(a.payload ->> 'currency', 'RON') = $5), 0) AS revenue
FROM first_click fc
JOIN crm.contacts c ON c.tid = $1 AND c.mid = $2 AND c.id = fc.contact_id AND c.account_id IS NOT NULL
JOIN crm.activities a ON a.tid = $1 AND a.mid = $2 AND a.account_id = c.account_id
    AND a.kind = 'sales.order.created'
    AND a.occurred_at >= fc.clicked_at AND a.occurred_at < fc.clicked_at + make_interval(days => $4)
GROUP BY fc.variant, fc.contact_id
"""

RECORD_SQL = """
UPDATE crm.ab_experiments
SET analysis = $4, decision = $5, winner = $6, state = $7, checked_at = $8, updated_at = now(),
    epochs = CASE WHEN $9::jsonb IS NULL THEN epochs ELSE epochs || jsonb_build_array($9::jsonb) END
WHERE tid = $1 AND mid = $2 AND campaign_id = $3
"""

REASSIGN_SQL = """
UPDATE crm.email_deliveries d SET
    variant = (
        SELECT v.key FROM unnest($4::text[], $5::float8[]) AS v(key, upper)
        WHERE ((hashtextextended($3::uuid::text || d.contact_id::text, $6) & 9007199254740991)::float8
               / 9007199254740992.0) < v.upper
        ORDER BY v.upper LIMIT 1),
    ab_epoch = $6, updated_at = now()
WHERE d.tid = $1 AND d.mid = $2 AND d.campaign_id = $3 AND d.state = 'queued' AND d.attempts = 0
  AND (d.lease_until IS NULL OR d.lease_until < now())
"""


def normalised(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {k: round(w / total, 6) for k, w in weights.items()}


def epoch_entry(epoch: int, weights: Mapping[str, float], at: datetime, reason: str) -> dict[str, Any]:
    return {"epoch": epoch, "weights": normalised(weights), "at": at.isoformat(), "reason": reason}


async def start(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    campaign_id: UUID,
    metric: ABMetric,
    weights: Mapping[str, float],
) -> None:
    """Record a sent campaign's experiment with its planned split as epoch 0 (a re-send changes nothing)."""
    now = await conn.fetchval("SELECT now()")
    epochs = [epoch_entry(0, weights, now, "planned split")]
    await conn.execute(START_SQL, tenant.tid, tenant.whid, tenant.mid, campaign_id, metric, epochs)


async def running(
    conn: asyncpg.Connection, *, checked_before: datetime, limit: int
) -> list[tuple[TenantContext, UUID]]:
    """Running experiments not checked since ``checked_before``, oldest first (the worker role's scan)."""
    rows = await conn.fetch(RUNNING_SQL, checked_before, limit)
    return [(TenantContext(tid=r["tid"], mid=r["mid"], whid=r["whid"]), r["campaign_id"]) for r in rows]


async def load(conn: asyncpg.Connection, *, tenant: TenantContext, campaign_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(LOAD_SQL, tenant.tid, tenant.mid, campaign_id)


@dataclass
class ArmCounts:
    variant: str
    sent: int = 0
    conversions: int = 0
    revenue: list[float] = field(default_factory=list)
    expected: float = 0.0  # recipients the allocations so far should have sent this arm


async def arm_counts(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    campaign_id: UUID,
    metric: ABMetric,
    epochs: list[dict[str, Any]],
    currency: str,
    window_days: int,
) -> list[ArmCounts]:
    """Per variant of the plan: recipients sent, conversions by ``metric`` and the expected share of sends."""
    weights = {int(e["epoch"]): e["weights"] for e in epochs}
    arms = {key: ArmCounts(key) for key in weights[0]}
    key = (tenant.tid, tenant.mid, campaign_id)
    for row in await conn.fetch(SENT_SQL, *key):
        arm = arms.setdefault(row["variant"], ArmCounts(row["variant"]))
        arm.sent += row["sent"]
        for name, share in weights.get(row["ab_epoch"], weights[0]).items():
            arms.setdefault(name, ArmCounts(name)).expected += row["sent"] * share
    if metric in ("open", "click"):
        kind = "opened" if metric == "open" else "clicked"
        for row in await conn.fetch(ENGAGED_SQL, *key, kind):
            if row["variant"] in arms:
                arms[row["variant"]].conversions = row["n"]
    else:
        for row in await conn.fetch(BUYERS_SQL, *key, window_days, currency):
            if row["variant"] in arms:
                arms[row["variant"]].conversions += 1
                if row["revenue"] > 0:
                    arms[row["variant"]].revenue.append(float(row["revenue"]))
    return list(arms.values())


async def record(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    campaign_id: UUID,
    analysis: dict[str, Any],
    decision: str,
    winner: str | None,
    state: str,
    checked_at: datetime,
    new_epoch: dict[str, Any] | None,
) -> None:
    await conn.execute(
        RECORD_SQL,
        tenant.tid,
        tenant.mid,
        campaign_id,
        analysis,
        decision,
        winner,
        state,
        checked_at,
        new_epoch,
    )


async def reassign_queued(
    conn: asyncpg.Connection, *, tenant: TenantContext, campaign_id: UUID, weights: Mapping[str, float], epoch: int
) -> int:
    """Give every recipient still waiting for a first attempt a variant drawn under ``weights`` (epoch ``epoch``);
    arms with no weight are left out, so none is drawn. Rows a worker holds are skipped (they are being sent)."""
    kept = {k: w for k, w in weights.items() if w > 0}
    keys, uppers, running_total = [], [], 0.0
    total = sum(kept.values())
    for k, w in kept.items():
        running_total += w / total
        keys.append(k)
        uppers.append(running_total)
    uppers[-1] = 2.0  # rounding never leaves a recipient without an arm
    status = await conn.execute(REASSIGN_SQL, tenant.tid, tenant.mid, campaign_id, keys, uppers, epoch)
    return rows_changed(status)


async def touch(conn: asyncpg.Connection, *, tenant: TenantContext, campaign_id: UUID, checked_at: datetime) -> None:
    """Mark an experiment checked without changing it (a check that failed waits for the next interval)."""
    await conn.execute(
        "UPDATE crm.ab_experiments SET checked_at = $4 WHERE tid = $1 AND mid = $2 AND campaign_id = $3",
        tenant.tid,
        tenant.mid,
        campaign_id,
        checked_at,
    )
