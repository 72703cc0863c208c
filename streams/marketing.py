"""Attribution and budget plans on a tenant's own data: touchpoints, orders and imported channel spend.

**Journeys** are per account. Touchpoints: an e-mail a contact of the account opened (a human open) or
clicked — one touch per delivery, channel ``email`` — and each web or pixel session linked to the account —
one touch per session, its channel (``ai.behavior_events.channel``: utm source or referrer class,
``facebook`` for the pixel, ``direct`` when none). Conversions: the account's ``sales.order.created``
activities; an order's journey is the account's touches in the ``lookback_days`` before it (after its
previous order); touches after the last order form a journey that has not converted (yet). Orders with no
touch before them are direct conversions (they give Shapley's empty coalition its worth).

**Spend** is ``crm.channel_spend`` prorated to the period by days of overlap, in one currency; revenue counts
orders in that currency. **Budget plans** fit :mod:`models.marketing.budget` on weekly spend per channel
against weekly revenue.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import asyncpg

from infra.db.tenancy import TenantContext
from models.marketing.attribution import AttributionRequest, Journey, PathCounts, attribute_paths
from models.marketing.budget import BudgetRequest, ChannelSpend, plan_budget

TOUCHES_SQL = """
SELECT account_id, channel, touched_at FROM (
    SELECT DISTINCT ON (e.delivery_id) c.account_id, 'email' AS channel, e.occurred_at AS touched_at
    FROM crm.email_events e
    JOIN crm.contacts c ON c.tid = e.tid AND c.mid = e.mid AND c.id = e.contact_id AND c.account_id IS NOT NULL
    WHERE e.tid = $1 AND e.mid = $2 AND e.occurred_at >= $3 AND e.occurred_at < $4
      AND (e.kind = 'clicked' OR (e.kind = 'opened' AND NOT e.machine))
    ORDER BY e.delivery_id, e.occurred_at
) email
UNION ALL
SELECT account_id, channel, touched_at FROM (
    SELECT DISTINCT ON (b.session_id, b.source) b.account_id, COALESCE(b.channel, 'direct') AS channel,
           b.occurred_at AS touched_at
    FROM ai.behavior_events b
    WHERE b.tid = $1 AND b.mid = $2 AND b.account_id IS NOT NULL AND b.occurred_at >= $3 AND b.occurred_at < $4
    ORDER BY b.session_id, b.source, b.occurred_at
) web
"""

ORDERS_SQL = """
SELECT account_id, occurred_at, payload ->> 'total' AS total, COALESCE(payload ->> 'currency', 'RON') AS currency
FROM crm.activities
WHERE tid = $1 AND mid = $2 AND kind = 'sales.order.created' AND account_id IS NOT NULL
  AND occurred_at >= $3 AND occurred_at < $4
"""

SPEND_SQL = """
SELECT channel, period_start, period_end, amount FROM crm.channel_spend
WHERE tid = $1 AND mid = $2 AND currency = $5 AND period_end >= $3 AND period_start < $4
"""


def _amount(total: str | None) -> float:
    try:
        return float(Decimal(total)) if total is not None else 0.0
    except (InvalidOperation, ValueError):
        return 0.0


def prorated(rows: list[asyncpg.Record], since: date, until: date) -> dict[str, float]:
    """Spend per channel within [since, until): each row's amount times the share of its days inside."""
    spend: dict[str, float] = defaultdict(float)
    for row in rows:
        days = (row["period_end"] - row["period_start"]).days + 1
        inside = (min(row["period_end"] + timedelta(days=1), until) - max(row["period_start"], since)).days
        if inside > 0:
            spend[row["channel"]] += float(row["amount"]) * inside / days
    return {k: round(v, 2) for k, v in spend.items()}


def journeys_of(
    touches: list[asyncpg.Record], orders: list[asyncpg.Record], *, since: datetime, lookback: timedelta, currency: str
) -> PathCounts:
    """Per account, one journey per order (its touches in the lookback before it) and one for what is left."""
    by_account: dict[Any, list[tuple[datetime, str]]] = defaultdict(list)
    for t in touches:
        by_account[t["account_id"]].append((t["touched_at"], t["channel"]))
    orders_by: dict[Any, list[tuple[datetime, float]]] = defaultdict(list)
    for o in orders:
        orders_by[o["account_id"]].append((o["occurred_at"], _amount(o["total"]) if o["currency"] == currency else 0.0))
    channels = sorted({t["channel"] for t in touches})
    index = {c: i for i, c in enumerate(channels)}
    counts = PathCounts(channels)
    for account in set(by_account) | set(orders_by):
        seen = sorted(by_account.get(account, []))
        start = datetime.min.replace(tzinfo=UTC)
        for at, value in sorted(orders_by.get(account, [])):
            path = tuple(index[c] for t, c in seen if max(start, at - lookback) <= t < at)
            counts.add(path, 1.0, 0.0, value)
            start = at
        rest = tuple(index[c] for t, c in seen if t >= max(start, since))
        if rest:
            counts.add(rest, 0.0, 1.0)
    return counts


async def attribution(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    *,
    since: datetime,
    until: datetime,
    lookback_days: int,
    currency: str,
    markov_order: int,
) -> dict[str, Any]:
    lookback = timedelta(days=lookback_days)
    key = (tenant.tid, tenant.mid)
    touches = await conn.fetch(TOUCHES_SQL, *key, since - lookback, until)
    orders = await conn.fetch(ORDERS_SQL, *key, since, until)
    spend_rows = await conn.fetch(SPEND_SQL, *key, since.date(), until.date(), currency)
    spend = prorated(spend_rows, since.date(), until.date())
    counts = journeys_of(touches, orders, since=since, lookback=lookback, currency=currency)
    for channel in spend:
        if channel not in counts.channels:  # spend on a channel with no touch: it is shown, with nothing attributed
            counts.channels.append(channel)
    options = AttributionRequest(journeys=[Journey()], markov_order=markov_order, spend=spend or None)
    journeys = int(sum(counts.conversions.values()) + sum(counts.nulls.values()))
    result = await asyncio.to_thread(attribute_paths, counts, options, journeys=journeys)
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "lookback_days": lookback_days,
        "currency": currency,
        "touchpoints": len(touches),
        "orders": len(orders),
        "direct_conversions": sum(c for (path, _), c in counts.conversions.items() if not path),
        "spend": spend,
        **result.model_dump(mode="json"),
    }


def weekly(start: date, weeks: int) -> list[date]:
    return [start + timedelta(weeks=i) for i in range(weeks)]


async def budget_plan(
    conn: asyncpg.Connection, tenant: TenantContext, *, budget: float, weeks: int, currency: str, until: date
) -> dict[str, Any]:
    """Weekly spend per channel and weekly revenue over the last ``weeks`` weeks, fitted and split."""
    start = until - timedelta(weeks=weeks)
    starts = weekly(start, weeks)
    key = (tenant.tid, tenant.mid)
    spend_rows = await conn.fetch(SPEND_SQL, *key, start, until, currency)
    orders = await conn.fetch(
        ORDERS_SQL,
        *key,
        datetime.combine(start, datetime.min.time(), UTC),
        datetime.combine(until, datetime.min.time(), UTC),
    )
    channels = sorted({r["channel"] for r in spend_rows})
    spend = {c: [0.0] * weeks for c in channels}
    for i, week in enumerate(starts):
        for channel, amount in prorated(spend_rows, week, week + timedelta(weeks=1)).items():
            spend[channel][i] += amount
    outcome = [0.0] * weeks
    for o in orders:
        if o["currency"] == currency:
            i = (o["occurred_at"].date() - start).days // 7
            if 0 <= i < weeks:
                outcome[i] += _amount(o["total"])
    if not channels:
        return {
            "state": "not_enough_data",
            "reason": "no channel spend imported for the period",
            "target": "revenue",
            "budget": budget,
            "weeks": weeks,
            "currency": currency,
        }
    request = BudgetRequest(
        channels=[ChannelSpend(name=c, spend=spend[c]) for c in channels],
        outcome=outcome,
        budget=budget,
        target=f"revenue ({currency})",
        bootstrap=20,
    )
    plan = await asyncio.to_thread(plan_budget, request)
    return {**plan.model_dump(mode="json"), "weeks": weeks, "currency": currency, "since": start.isoformat()}
