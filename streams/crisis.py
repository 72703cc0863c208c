"""Crisis alerts in the database: a brand's figures at a mention's time, its hourly baseline, its state.

The window (the mentions of the last :attr:`~models.topics.crisis.CrisisRule.window` up to this one) is read
from ``ai.social_insights``; the baseline (the week before the window) from ``ai.brand_hourly``, which each
stored mention adds itself to, so a busy brand's check reads at most 169 small rows rather than a week of
mentions. A mention's reach is its reported engagement, else the reach model's expectation; a negative
mention with neither counts as the brand's typical negative (so an unscored mention neither hides nor
fakes a crisis). Runs inside the social processor's write transaction, under the brand's lock; the window's
counts of supported and negative mentions are the spike rule's too, so the window is scanned once.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from infra.db.tenancy import TenantContext, tenant_transaction
from models.topics.crisis import Crisis, CrisisRule, WindowFigures, assess, starts

DEFAULT_RULE = CrisisRule()
REACH = "coalesce(engagement::float8, (reach->>'expected_engagement')::float8)"
WINDOW_SQL = f"""
SELECT count(*) AS mentions,
       count(*) FILTER (WHERE supported) AS supported,
       count(*) FILTER (WHERE sentiment = 'negative' AND supported) AS negative,
       count(r) FILTER (WHERE sentiment = 'negative' AND supported) AS negative_known,
       coalesce(sum(greatest(r, 0)) FILTER (WHERE sentiment = 'negative' AND supported), 0) AS negative_reach,
       coalesce(sum(ln(1 + greatest(r, 0))) FILTER (WHERE sentiment = 'negative' AND supported), 0) AS negative_log
FROM (SELECT sentiment, supported, {REACH} AS r FROM ai.social_insights
      WHERE tid = $1 AND mid = $2 AND brand = $3 AND posted_at > $4 AND posted_at <= $5) w
"""
BASELINE_SQL = """
SELECT coalesce(sum(mentions), 0) AS mentions, coalesce(sum(negative), 0) AS negative,
       coalesce(sum(negative_reach), 0) AS negative_reach, coalesce(sum(negative_log_reach), 0) AS negative_log,
       (SELECT min(hour) FROM ai.brand_hourly WHERE tid = $1 AND mid = $2 AND brand = $3) AS first_hour
FROM ai.brand_hourly
WHERE tid = $1 AND mid = $2 AND brand = $3 AND hour >= $4 AND hour < date_trunc('hour', $5::timestamptz)
"""
HOURLY_SQL = """
INSERT INTO ai.brand_hourly AS h (tid, whid, mid, brand, hour, mentions, negative, negative_reach, negative_log_reach)
VALUES ($1, NULL, $2, $3, date_trunc('hour', $4::timestamptz), 1, $5, $6, $7)
ON CONFLICT (tid, mid, brand, hour) DO UPDATE SET mentions = h.mentions + 1, negative = h.negative + $5,
    negative_reach = h.negative_reach + $6, negative_log_reach = h.negative_log_reach + $7
"""


def typical_negative_reach(baseline: asyncpg.Record) -> float:
    """A negative mention's usual reach (the geometric mean of ``1 + reach`` over the baseline, minus 1)."""
    if not baseline["negative"]:
        return 0.0
    return math.expm1(float(baseline["negative_log"]) / int(baseline["negative"]))


@dataclass(frozen=True)
class BrandCheck:
    """A brand's crisis assessment at one mention, and the window counts the spike rule shares."""

    crisis: Crisis
    started: bool  # this assessment starts an alert (:func:`models.topics.crisis.starts`)
    figures: WindowFigures
    state: dict[str, Any]  # what ``ai.brand_sentiment_state.crisis`` stores


async def assess_brand(
    conn: asyncpg.Connection,
    tid: str,
    mid: str,
    brand: str,
    at: datetime,
    *,
    negative: bool,
    reach: float | None,
    was_on: bool,
    changed_at: datetime | None,
    rule: CrisisRule = DEFAULT_RULE,
) -> BrandCheck:
    """Count this (already stored) mention into its hour and assess the brand at ``at``.

    ``was_on`` and ``changed_at`` are the brand's crisis state as the caller locked it; the caller stores
    the new state (with the spike rule's, in one update)."""
    window_start = at - rule.window
    window = await conn.fetchrow(WINDOW_SQL, tid, mid, brand, window_start, at)
    baseline = await conn.fetchrow(BASELINE_SQL, tid, mid, brand, window_start - rule.baseline, window_start)
    typical = typical_negative_reach(baseline)
    unknown = int(window["negative"]) - int(window["negative_known"])
    first_hour = baseline["first_hour"]
    figures = WindowFigures(
        mentions=int(window["mentions"]),
        negative=int(window["negative"]),
        supported=int(window["supported"]),
        negative_reach=float(window["negative_reach"]) + unknown * typical,
        negative_log_reach=float(window["negative_log"]) + unknown * math.log1p(typical),
        baseline_mentions=int(baseline["mentions"]),
        baseline_negative=int(baseline["negative"]),
        baseline_negative_reach=float(baseline["negative_reach"]),
        baseline_negative_log_reach=float(baseline["negative_log"]),
        history=max(window_start - first_hour, timedelta(0)) if first_hour is not None else timedelta(0),
    )
    crisis = assess(figures, rule)
    mine = max(reach, 0.0) if reach is not None else typical
    await conn.execute(HOURLY_SQL, tid, mid, brand, at, int(negative), mine if negative else 0.0,
                       math.log1p(mine) if negative else 0.0)  # fmt: skip
    started = starts(crisis.on, was_on, at - changed_at if changed_at else None, rule)
    return BrandCheck(crisis, started, figures, crisis_out(crisis, figures, at))


def crisis_out(crisis: Crisis, figures: WindowFigures, at: datetime) -> dict[str, Any]:
    return {
        "on": crisis.on,
        "assessed_at": at.isoformat(),
        "holds": crisis.reasons(),
        "window_mentions": figures.mentions,
        "negative_share": crisis.negative_share,
        "volume_ratio": crisis.volume_ratio,
        "volume_p": crisis.volume_p,
        "reach_ratio": crisis.reach_ratio,
        "mean_reach_share": crisis.mean_reach_share,
        "checks": {k: v for k, v in asdict(crisis).items() if k in ("volume", "negativity", "reach")},
    }


CRISES_SQL = """
SELECT brand, in_crisis, crisis_changed_at, crisis, in_spike FROM ai.brand_sentiment_state
WHERE tid = $1 AND mid = $2 AND crisis IS NOT NULL AND (in_crisis OR crisis_changed_at >= $3)
ORDER BY in_crisis DESC, crisis_changed_at DESC NULLS LAST, brand
"""


async def crises(pool: asyncpg.Pool, tenant: TenantContext, *, since: datetime) -> list[dict[str, Any]]:
    """Brands in crisis now, then brands whose crisis began or ended since ``since``, with the figures of
    their latest assessment (which of volume, negativity and reach held)."""
    async with tenant_transaction(pool, tenant, readonly=True) as conn:
        rows = await conn.fetch(CRISES_SQL, tenant.tid, tenant.mid, since)
    return [dict(r) for r in rows]
