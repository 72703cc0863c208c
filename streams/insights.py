"""Dashboard queries over what the processors stored, always inside the caller's tenant (RLS).

Similarity search is k-NN by cosine distance on the HNSW indexes. The search
widens its candidate list (``hnsw.ef_search`` 200) and, on pgvector ≥ 0.8, keeps
scanning when row-level security or a brand filter removes candidates
(``hnsw.iterative_scan``), so a filtered query still returns ``k`` rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg
import numpy as np

from infra.db.ai_reads import latest_churn_score
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.errors import InvalidInput, NotFound
from streams import store

EF_SEARCH = 200  # recall@10 0.96 at p95 7.5 ms over 100k vectors (benchmarks/results/streams.json)

SIMILAR_MENTIONS_SQL = """
SELECT id, platform, brand, account_id, author, text, posted_at, sentiment, sentiment_score,
       1 - (embedding <=> $3) AS similarity
FROM ai.social_insights
WHERE tid = $1 AND mid = $2 AND ($4::text IS NULL OR brand = $4) AND embedding IS NOT NULL  -- none: text expired
ORDER BY embedding <=> $3
LIMIT $5
"""

SIMILAR_PATTERNS_SQL = """
SELECT session_id, account_id, journey, steps, converted, conversion_propensity, last_seen_at,
       1 - (embedding <=> $3) AS similarity
FROM ai.behavior_patterns
WHERE tid = $1 AND mid = $2
ORDER BY embedding <=> $3
LIMIT $4
"""

SIMILAR_PASSAGES_SQL = """
SELECT p.call_analysis_id, p.passage, p.text AS passage_text, 1 - (p.embedding <=> $3) AS similarity,
       c.call_id, c.kind, c.account_id, c.recorded_at, c.sentiment
FROM ai.call_passages p
JOIN ai.call_analyses c ON c.tid = p.tid AND c.mid = p.mid AND c.id = p.call_analysis_id
WHERE p.tid = $1 AND p.mid = $2 AND ($4::uuid IS NULL OR c.account_id = $4)
ORDER BY p.embedding <=> $3
LIMIT $5
"""
PASSAGES_PER_CALL = 5  # passages fetched per call asked for: one call's passages may crowd the nearest ones

TIMELINE_SQL = """
SELECT date_trunc($3, posted_at) AS bucket,
       count(*) AS mentions,
       count(*) FILTER (WHERE sentiment = 'positive' AND supported) AS positive,
       count(*) FILTER (WHERE sentiment = 'neutral' AND supported) AS neutral,
       count(*) FILTER (WHERE sentiment = 'negative' AND supported) AS negative,
       count(*) FILTER (WHERE NOT supported) AS unsupported_language,
       avg(sentiment_score) FILTER (WHERE supported)::real AS mean_score
FROM ai.social_insights
WHERE tid = $1 AND mid = $2 AND posted_at >= $4 AND posted_at < $5
  AND ($6::text IS NULL OR brand = $6) AND ($7::uuid IS NULL OR account_id = $7)
GROUP BY 1 ORDER BY 1
"""

LATEST_CALLS_SQL = """
SELECT id, call_id, kind, account_id, recorded_at, duration_s, sentiment, sentiment_score, words_per_minute,
       talk_ratio, keywords, engagement, attention, dominant_emotion, left(transcript, 500) AS transcript,
       not_analysed_reason
FROM ai.call_analyses
WHERE tid = $1 AND mid = $2 AND ($3::uuid IS NULL OR account_id = $3)
ORDER BY recorded_at DESC
LIMIT $4
"""

CALL_SQL = """
SELECT id, call_id, kind, account_id, recorded_at, duration_s, sentiment, sentiment_score, words_per_minute,
       talk_ratio, keywords, engagement, attention, dominant_emotion, transcript, analysis, not_analysed_reason
FROM ai.call_analyses
WHERE tid = $1 AND mid = $2 AND id = $3
"""

ACCOUNT_SQL = """
SELECT
  (SELECT count(*) FROM ai.social_insights s WHERE s.tid = $1 AND s.mid = $2 AND s.account_id = $3
     AND s.posted_at >= $4) AS mentions,
  (SELECT avg(sentiment_score)::real FROM ai.social_insights s WHERE s.tid = $1 AND s.mid = $2
     AND s.account_id = $3 AND s.posted_at >= $4 AND s.supported) AS mean_sentiment,
  (SELECT count(*) FROM ai.call_analyses c WHERE c.tid = $1 AND c.mid = $2 AND c.account_id = $3
     AND c.recorded_at >= $4) AS calls,
  (SELECT avg(engagement)::real FROM ai.call_analyses c WHERE c.tid = $1 AND c.mid = $2 AND c.account_id = $3
     AND c.recorded_at >= $4) AS mean_call_engagement,
  (SELECT count(*) FROM ai.behavior_patterns b WHERE b.tid = $1 AND b.mid = $2 AND b.account_id = $3
     AND b.last_seen_at >= $4) AS sessions,
  (SELECT count(*) FROM ai.behavior_patterns b WHERE b.tid = $1 AND b.mid = $2 AND b.account_id = $3
     AND b.last_seen_at >= $4 AND b.converted) AS converted_sessions
"""

Bucket = Literal["hour", "day", "week"]


async def _tune_search(conn: asyncpg.Connection, ef_search: int = EF_SEARCH) -> None:
    if not 1 <= ef_search <= 1000:
        raise InvalidInput("ef_search must be between 1 and 1000")
    await conn.execute(f"SET LOCAL hnsw.ef_search = {int(ef_search)}")
    if await conn.fetchval("SELECT extversion >= '0.8' FROM pg_extension WHERE extname = 'vector'"):
        await conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")


def _vector(values: list[float] | np.ndarray) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    if vector.shape != (384,):
        raise InvalidInput(f"the query vector must have 384 dimensions, not {vector.shape}")
    if not np.isfinite(vector).all():
        raise InvalidInput("the query vector has NaN or infinite values")
    return vector


async def similar_mentions(
    pool: asyncpg.Pool,
    tenant: TenantContext,
    vector: list[float],
    *,
    k: int = 10,
    brand: str | None = None,
    ef_search: int = EF_SEARCH,
) -> list[dict[str, Any]]:
    async with tenant_transaction(pool, tenant, readonly=True) as conn:
        await _tune_search(conn, ef_search)
        rows = await conn.fetch(SIMILAR_MENTIONS_SQL, tenant.tid, tenant.mid, _vector(vector), brand, k)
    return [dict(r) for r in rows]


async def similar_calls(
    pool: asyncpg.Pool, tenant: TenantContext, vector: list[float], *, k: int = 10, account_id: UUID | None = None
) -> list[dict[str, Any]]:
    """The calls with a passage nearest to ``vector``, one row per call with its best passage, nearest first."""
    async with tenant_transaction(pool, tenant, readonly=True) as conn:
        await _tune_search(conn)
        rows = await conn.fetch(
            SIMILAR_PASSAGES_SQL, tenant.tid, tenant.mid, _vector(vector), account_id, k * PASSAGES_PER_CALL
        )
    best: dict[UUID, dict[str, Any]] = {}
    for row in rows:  # nearest first: the first passage seen of a call is its best
        best.setdefault(row["call_analysis_id"], dict(row))
    return list(best.values())[:k]


async def similar_patterns(
    pool: asyncpg.Pool, tenant: TenantContext, vector: list[float], *, k: int = 10
) -> list[dict[str, Any]]:
    async with tenant_transaction(pool, tenant, readonly=True) as conn:
        await _tune_search(conn)
        rows = await conn.fetch(SIMILAR_PATTERNS_SQL, tenant.tid, tenant.mid, _vector(vector), k)
    return [dict(r) for r in rows]


async def sentiment_timeline(
    pool: asyncpg.Pool,
    tenant: TenantContext,
    *,
    since: datetime,
    until: datetime,
    bucket: Bucket = "day",
    brand: str | None = None,
    account_id: UUID | None = None,
) -> list[dict[str, Any]]:
    if until <= since:
        raise InvalidInput("until must be after since")
    async with tenant_transaction(pool, tenant, readonly=True) as conn:
        rows = await conn.fetch(TIMELINE_SQL, tenant.tid, tenant.mid, bucket, since, until, brand, account_id)
    return [dict(r) for r in rows]


async def latest_calls(
    pool: asyncpg.Pool, tenant: TenantContext, *, account_id: UUID | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    async with tenant_transaction(pool, tenant, readonly=True) as conn:
        rows = await conn.fetch(LATEST_CALLS_SQL, tenant.tid, tenant.mid, account_id, limit)
    return [dict(r) for r in rows]


ACCOUNT_ASPECTS_SQL = """
WITH said AS (
  SELECT a->>'aspect' AS aspect, a->>'label' AS label, (a->>'score')::real AS score, a->>'sentence' AS sentence,
         s.posted_at AS at, 'mention' AS source
  FROM ai.social_insights s CROSS JOIN LATERAL jsonb_array_elements(s.aspects) AS a
  WHERE s.tid = $1 AND s.mid = $2 AND s.account_id = $3 AND s.posted_at >= $4
  UNION ALL
  SELECT a->>'aspect', a->>'label', (a->>'score')::real, a->>'sentence', c.recorded_at, 'call'
  FROM ai.call_analyses c CROSS JOIN LATERAL jsonb_array_elements(c.aspects) AS a
  WHERE c.tid = $1 AND c.mid = $2 AND c.account_id = $3 AND c.recorded_at >= $4
)
SELECT aspect, count(*) AS mentions,
       count(*) FILTER (WHERE label = 'negative') AS negative,
       count(*) FILTER (WHERE label = 'positive') AS positive,
       count(*) FILTER (WHERE source = 'call') AS in_calls,
       round(avg(score)::numeric, 3)::real AS mean_score,
       max(at) AS last_seen,
       (array_agg(sentence ORDER BY score, at DESC))[1] AS most_negative
FROM said GROUP BY aspect
ORDER BY count(*) FILTER (WHERE label = 'negative') DESC, count(*) DESC, aspect
"""


def aspect_headline(row: dict[str, Any]) -> str:
    """One line a dashboard shows: 'unhappy about delivery: 3 of 4 mentions negative'."""
    mood = "unhappy" if row["negative"] > row["positive"] else "happy" if row["positive"] > row["negative"] else "mixed"
    return f"{mood} about {row['aspect']}: {row['negative']} of {row['mentions']} mentions negative"


async def call_detail(pool: asyncpg.Pool, tenant: TenantContext, call_analysis_id: UUID) -> dict[str, Any]:
    """One analysed call in full: the whole transcript and the stored analysis (voice: segments with their
    sentiment and speaker, speakers, speech/silence ratios; video: the per-frame timeline)."""
    async with tenant_transaction(pool, tenant, readonly=True) as conn:
        row = await conn.fetchrow(CALL_SQL, tenant.tid, tenant.mid, call_analysis_id)
    if row is None:
        raise NotFound(f"no analysed call with id {call_analysis_id}")
    return dict(row)


BRANDS_SQL = """
SELECT s.brand,
       count(*) AS mentions,
       count(*) FILTER (WHERE s.sentiment = 'positive' AND s.supported) AS positive,
       count(*) FILTER (WHERE s.sentiment = 'neutral' AND s.supported) AS neutral,
       count(*) FILTER (WHERE s.sentiment = 'negative' AND s.supported) AS negative,
       avg(s.sentiment_score) FILTER (WHERE s.supported)::real AS mean_score,
       max(s.posted_at) AS last_mention_at,
       coalesce(bool_or(b.in_spike), false) AS in_spike
FROM ai.social_insights s
LEFT JOIN ai.brand_sentiment_state b ON b.tid = s.tid AND b.mid = s.mid AND b.brand = s.brand
WHERE s.tid = $1 AND s.mid = $2 AND s.posted_at >= $3
GROUP BY s.brand
ORDER BY mentions DESC, s.brand
LIMIT $4
"""

FUNNEL_SQL = """
WITH stage(action, idx) AS (SELECT * FROM unnest($3::text[], $4::int[])),
furthest AS (
  SELECT e.session_id, max(coalesce(stage.idx, 0)) AS idx
  FROM ai.behavior_events e LEFT JOIN stage ON stage.action = e.action
  WHERE e.tid = $1 AND e.mid = $2 AND e.source = 'facebook_pixel' AND e.occurred_at >= $5
  GROUP BY e.session_id
)
SELECT idx, count(*) AS sessions FROM furthest GROUP BY idx
"""


async def brands(
    pool: asyncpg.Pool, tenant: TenantContext, *, since: datetime, limit: int = 50
) -> list[dict[str, Any]]:
    """Each brand's mentions since ``since`` by sentiment, mean score, latest mention, and whether a negative
    spike is on now (the social processor's spike state)."""
    async with tenant_transaction(pool, tenant, readonly=True) as conn:
        rows = await conn.fetch(BRANDS_SQL, tenant.tid, tenant.mid, since, limit)
    return [dict(r) for r in rows]


STREAM_LAG_SQL = """
SELECT source, event_type, count(*) AS events,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) AS p50_s,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY lag) AS p95_s,
       max(lag) AS max_s,
       max(created_at) AS last_stored_at
FROM (
  SELECT source, event_type, created_at,
         greatest(extract(epoch FROM created_at - occurred_at), 0)::float8 AS lag
  FROM ai.processed_events
  WHERE tid = $1 AND mid = $2 AND created_at >= $3
) recent
GROUP BY source, event_type
ORDER BY events DESC, source, event_type
"""


async def stream_lag(pool: asyncpg.Pool, tenant: TenantContext, *, since: datetime) -> list[dict[str, Any]]:
    """Per source and event type, the events stored since ``since`` and their lag: seconds from the event's
    own time (``occurred_at``) to the processing transaction that stored it (p50, p95, max; a producer clock
    ahead of ours counts as 0), and when the latest one was stored."""
    async with tenant_transaction(pool, tenant, readonly=True) as conn:
        rows = await conn.fetch(STREAM_LAG_SQL, tenant.tid, tenant.mid, since)
    return [
        {
            **dict(r),
            "events": int(r["events"]),
            **{k: round(float(r[k]), 3) for k in ("p50_s", "p95_s", "max_s")},
        }
        for r in rows
    ]


async def pixel_funnel(pool: asyncpg.Pool, tenant: TenantContext, *, since: datetime) -> list[dict[str, Any]]:
    """Pixel sessions since ``since`` by the furthest funnel stage they reached: per stage, how many sessions
    got at least that far and their share of all sessions (stages and events: ``streams.processors.behavior``)."""
    from streams.processors.behavior import FUNNEL, STAGES

    async with tenant_transaction(pool, tenant, readonly=True) as conn:
        rows = await conn.fetch(FUNNEL_SQL, tenant.tid, tenant.mid, list(FUNNEL), list(FUNNEL.values()), since)
    furthest = {int(r["idx"]): int(r["sessions"]) for r in rows}
    total = sum(furthest.values())
    out = []
    for index, stage in enumerate(STAGES):
        reached = sum(n for i, n in furthest.items() if i >= index)
        out.append(
            {
                "stage": stage,
                "index": index,
                "sessions": reached,
                "share": round(reached / total, 4) if total else None,
                "events": sorted(e for e, i in FUNNEL.items() if i == index),
            }
        )
    return out


async def account_aspects(
    conn: asyncpg.Connection, tenant: TenantContext, account_id: UUID, since: datetime
) -> list[dict[str, Any]]:
    """What the account's mentions and calls since ``since`` were about, most complained-about first."""
    rows = [dict(r) for r in await conn.fetch(ACCOUNT_ASPECTS_SQL, tenant.tid, tenant.mid, account_id, since)]
    return [{**row, "headline": aspect_headline(row)} for row in rows]


async def account_summary(
    pool: asyncpg.Pool, tenant: TenantContext, account_id: UUID, *, since: datetime
) -> dict[str, Any]:
    async with tenant_transaction(pool, tenant, readonly=True) as conn:
        if not await store.account_exists(conn, tenant.tid, tenant.mid, account_id):
            raise NotFound(f"no account with id {account_id}")
        counts = await conn.fetchrow(ACCOUNT_SQL, tenant.tid, tenant.mid, account_id, since)
        churn = await latest_churn_score(conn, tenant.tid, tenant.mid, account_id)
        calls = await conn.fetch(LATEST_CALLS_SQL, tenant.tid, tenant.mid, account_id, 3)
        aspects = await account_aspects(conn, tenant, account_id, since)
    assert counts is not None
    return {
        "account_id": account_id,
        "since": since,
        **dict(counts),
        "churn": churn,
        "latest_calls": [dict(c) for c in calls],
        "aspects": aspects,
    }


DEAD_LETTERS_SQL = """
SELECT seq, received_at, source, reason, event_id, event_type, raw FROM ai.dead_letters
WHERE tid = $1 AND mid = $2 AND ($3::bigint IS NULL OR seq < $3)
ORDER BY seq DESC LIMIT $4
"""
RAW_PREVIEW_CHARS = 2000
MAX_DEAD_LETTER_PAGE = 500  # letters per page: the route, the CLI and this query share it


def _dead_letter(row: asyncpg.Record) -> dict[str, Any]:
    raw: bytes = row["raw"]
    return {
        "seq": row["seq"],
        "received_at": row["received_at"],
        "source": row["source"],
        "reason": row["reason"],
        "event_id": row["event_id"],
        "event_type": row["event_type"],
        "body_bytes": len(raw),
        "body_preview": raw[:RAW_PREVIEW_CHARS].decode("utf-8", errors="replace"),
    }


async def dead_letters(
    pool: asyncpg.Pool, tenant: TenantContext, *, limit: int = 50, cursor: str | None = None
) -> dict[str, Any]:
    """The tenant's dead letters, newest first, with why each was refused; ``cursor`` continues a listing."""
    if not 1 <= limit <= MAX_DEAD_LETTER_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_DEAD_LETTER_PAGE}")
    before = None
    if cursor is not None:
        if not cursor.isdigit():
            raise InvalidInput("invalid cursor: pass back the next_cursor of the previous page unchanged")
        before = int(cursor)
    async with tenant_transaction(pool, tenant, readonly=True) as conn:
        rows = await conn.fetch(DEAD_LETTERS_SQL, tenant.tid, tenant.mid, before, limit + 1)
    items = [_dead_letter(r) for r in rows[:limit]]
    return {"items": items, "next_cursor": str(rows[limit - 1]["seq"]) if len(rows) > limit else None}
