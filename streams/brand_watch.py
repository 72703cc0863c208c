"""The brands a tenant watches (its own and its competitors, with aliases), the brands each mention names,
and share of voice.

A mention names a watched brand when its text, or the brand it was filed under, matches the brand's name or
an alias as a whole word after folding (:mod:`models.topics.brands`). The match runs in PostgreSQL, for
each mention as it is stored and for the stored mentions re-matched when the watch list changes, so the two
cannot disagree. Share of voice counts, per watched brand, the mentions naming it in a period, their share
of all the watched brands' mentions (a mention naming two brands counts for both), and their sentiment.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, field_validator

from infra.db.tenancy import TenantContext, tenant_transaction
from infra.errors import InvalidInput
from infra.text import fold
from models.topics.brands import MAX_ALIAS_CHARS, MAX_ALIASES, WatchedBrand, sql_pattern

MAX_WATCHED = 50
MAX_REMATCH_DAYS = 365
NAMED_SQL = """
SELECT coalesce(array_agg(name ORDER BY name), '{}') FROM ai.watched_brands
WHERE tid = $1 AND mid = $2 AND (crm.fold($3) ~ pattern OR crm.fold($4) ~ pattern)
"""
LIST_SQL = (
    "SELECT name, aliases, own, updated_at FROM ai.watched_brands WHERE tid = $1 AND mid = $2 ORDER BY NOT own, name"
)
CLEAR_SQL = "DELETE FROM ai.watched_brands WHERE tid = $1 AND mid = $2"
ADD_SQL = """
INSERT INTO ai.watched_brands (tid, whid, mid, name, aliases, own, pattern) VALUES ($1, NULL, $2, $3, $4, $5, $6)
"""
REMATCH_SQL = """
UPDATE ai.social_insights s SET brands_named = coalesce((
    SELECT array_agg(w.name ORDER BY w.name) FROM ai.watched_brands w
    WHERE w.tid = s.tid AND w.mid = s.mid AND (crm.fold(s.text) ~ w.pattern OR crm.fold(s.brand) ~ w.pattern)
), '{}')
WHERE s.tid = $1 AND s.mid = $2 AND s.posted_at >= $3
"""


class BrandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_ALIAS_CHARS)
    aliases: list[str] = Field(default_factory=list, max_length=MAX_ALIASES)
    own: bool = Field(default=False, description="true: the tenant's own brand; false: a competitor")

    @field_validator("name", "aliases")
    @classmethod
    def _not_blank(cls, value: str | list[str]) -> str | list[str]:
        for item in [value] if isinstance(value, str) else value:
            if not fold(item):
                raise ValueError("a brand name or alias must have a letter or digit")
            if len(item) > MAX_ALIAS_CHARS:
                raise ValueError(f"an alias is at most {MAX_ALIAS_CHARS} characters")
        return value


class WatchList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    brands: list[BrandIn] = Field(max_length=MAX_WATCHED)
    rematch_days: int = Field(
        default=30, ge=0, le=MAX_REMATCH_DAYS, description="re-match the mentions stored in this many past days"
    )


async def named(conn: asyncpg.Connection, tid: str, mid: str, text: str, filed_under: str) -> list[str]:
    """The watched brands a mention names (sorted), by its text or the brand it was filed under."""
    found: list[str] = await conn.fetchval(NAMED_SQL, tid, mid, text, filed_under)
    return found


async def watch_list(pool: asyncpg.Pool, tenant: TenantContext) -> list[dict[str, Any]]:
    async with tenant_transaction(pool, tenant, readonly=True) as conn:
        return [dict(r) for r in await conn.fetch(LIST_SQL, tenant.tid, tenant.mid)]


async def replace_watch_list(
    pool: asyncpg.Pool, tenant: TenantContext, body: WatchList, *, now: datetime
) -> dict[str, Any]:
    """Replace the tenant's watch list and re-match the mentions of the last ``rematch_days`` (one
    transaction: readers see the old list and old matches or the new ones)."""
    folded = [fold(b.name) for b in body.brands]
    if len(set(folded)) != len(folded):
        raise InvalidInput("two watched brands have the same name (after case and diacritics are ignored)")
    async with tenant_transaction(pool, tenant) as conn:
        await conn.execute(CLEAR_SQL, tenant.tid, tenant.mid)
        for brand in body.brands:
            watched = WatchedBrand(brand.name, tuple(brand.aliases), brand.own)
            await conn.execute(ADD_SQL, tenant.tid, tenant.mid, brand.name, list(brand.aliases), brand.own,
                               sql_pattern(watched))  # fmt: skip
        status = await conn.execute(REMATCH_SQL, tenant.tid, tenant.mid, now - timedelta(days=body.rematch_days))
        brands = [dict(r) for r in await conn.fetch(LIST_SQL, tenant.tid, tenant.mid)]
    return {"brands": brands, "rematched_mentions": int(status.split()[-1])}


SHARE_SQL = """
SELECT w.name, w.own, b.bucket,
       count(s.*) AS mentions,
       count(s.*) FILTER (WHERE s.sentiment = 'positive' AND s.supported) AS positive,
       count(s.*) FILTER (WHERE s.sentiment = 'neutral' AND s.supported) AS neutral,
       count(s.*) FILTER (WHERE s.sentiment = 'negative' AND s.supported) AS negative,
       avg(s.sentiment_score) FILTER (WHERE s.supported)::real AS mean_score
FROM ai.watched_brands w
CROSS JOIN LATERAL (
    SELECT generate_series(date_trunc($5, $3::timestamptz), $4::timestamptz - interval '1 microsecond',
                           ('1 ' || $5)::interval) AS bucket
) b
LEFT JOIN ai.social_insights s ON s.tid = w.tid AND s.mid = w.mid AND s.brands_named @> ARRAY[w.name]
    AND s.posted_at >= greatest(b.bucket, $3) AND s.posted_at < least(b.bucket + ('1 ' || $5)::interval, $4)
WHERE w.tid = $1 AND w.mid = $2
GROUP BY w.name, w.own, b.bucket
ORDER BY b.bucket, w.name
"""

Bucket = Literal["hour", "day", "week"]
BUCKET_LENGTH = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}


async def share_of_voice(
    pool: asyncpg.Pool, tenant: TenantContext, *, since: datetime, until: datetime, bucket: Bucket = "day"
) -> dict[str, Any]:
    """Per watched brand: its mentions, share of voice and sentiment over the period, and per bucket."""
    if until <= since:
        raise InvalidInput("until must be after since")
    if (until - since) / {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}[
        bucket
    ] > 400:
        raise InvalidInput("at most 400 buckets: choose a longer bucket or a shorter period")
    async with tenant_transaction(pool, tenant, readonly=True) as conn:
        rows = [dict(r) for r in await conn.fetch(SHARE_SQL, tenant.tid, tenant.mid, since, until, bucket)]
    brands: dict[str, dict[str, Any]] = {}
    per_bucket: dict[datetime, int] = {}
    for row in rows:
        total = brands.setdefault(row["name"], {"name": row["name"], "own": row["own"], "mentions": 0,
                                                "positive": 0, "neutral": 0, "negative": 0, "_score": 0.0,
                                                "_scored": 0})  # fmt: skip
        for key in ("mentions", "positive", "neutral", "negative"):
            total[key] += row[key]
        scored = row["positive"] + row["neutral"] + row["negative"]
        if row["mean_score"] is not None:
            total["_score"] += row["mean_score"] * scored
            total["_scored"] += scored
        per_bucket[row["bucket"]] = per_bucket.get(row["bucket"], 0) + row["mentions"]
    all_mentions = sum(b["mentions"] for b in brands.values())
    out = []
    for brand in brands.values():
        scored = brand.pop("_scored")
        score = brand.pop("_score")
        out.append(brand | {
            "share": round(brand["mentions"] / all_mentions, 4) if all_mentions else None,
            "negative_share": round(brand["negative"] / scored, 4) if scored else None,
            "mean_score": round(score / scored, 4) if scored else None,
        })  # fmt: skip
    out.sort(key=lambda b: (-b["mentions"], b["name"]))
    series = [
        {"bucket": r["bucket"], "name": r["name"], "mentions": r["mentions"],
         "share": round(r["mentions"] / per_bucket[r["bucket"]], 4) if per_bucket[r["bucket"]] else None,
         "mean_score": r["mean_score"]}
        for r in rows
    ]  # fmt: skip
    return {"since": since, "until": until, "bucket": bucket, "brand_mentions": all_mentions,
            "brands": out, "series": series}  # fmt: skip
