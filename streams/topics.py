"""A brand's topics in the database: each mention placed as it is stored, and the topics listed with trends.

Placement follows :mod:`models.topics.online` on the rows of ``ai.topics``: the nearest topic of the brand
(pgvector cosine distance) is joined when at least :data:`~models.topics.online.JOIN_SIMILARITY` similar,
otherwise the mention starts a topic; a joined topic whose moved centroid comes within
:data:`~models.topics.online.MERGE_SIMILARITY` of another is merged with it (the smaller one's mentions move
to the larger). It runs inside the social processor's write transaction, after the brand's state row is
locked, so concurrent consumers place a brand's mentions one at a time and agree on its topics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from infra.db.pool import stored_vector
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.errors import InvalidInput
from models.topics.keywords import add_terms, label_text, labels, merge_terms
from models.topics.online import JOIN_SIMILARITY, MERGE_SIMILARITY, merge_candidates, moved_centroid, unit
from models.topics.trends import TrendRule, trend

NEAREST_SQL = """
SELECT id, centroid, size, terms, 1 - (centroid <=> $4) AS similarity FROM ai.topics
WHERE tid = $1 AND mid = $2 AND brand = $3 ORDER BY centroid <=> $4 LIMIT 1
"""
CLOSE_SQL = """
SELECT id, centroid, size, terms FROM ai.topics
WHERE tid = $1 AND mid = $2 AND brand = $3 AND id <> $4 AND 1 - (centroid <=> $5) >= $6
"""
START_SQL = """
INSERT INTO ai.topics (tid, whid, mid, brand, centroid, size, terms, created_at, last_mention_at)
VALUES ($1, NULL, $2, $3, $4, 1, $5, $6, $6) RETURNING id
"""
MOVE_SQL = """
UPDATE ai.topics SET centroid = $4, size = $5, terms = $6, last_mention_at = greatest(last_mention_at, $7),
    created_at = least(created_at, $7)
WHERE tid = $1 AND mid = $2 AND id = $3
"""
COUNT_SQL = "SELECT count(*) FROM ai.topics WHERE tid = $1 AND mid = $2 AND brand = $3"
RETIRE_SQL = """
SELECT id FROM ai.topics WHERE tid = $1 AND mid = $2 AND brand = $3 ORDER BY size, last_mention_at, id LIMIT 1
"""
UNASSIGN_SQL = "UPDATE ai.social_insights SET topic_id = NULL WHERE tid = $1 AND mid = $2 AND topic_id = $3"
MAX_TOPICS_PER_BRAND = 1000  # past it, a new topic retires the brand's smallest, stalest one
REASSIGN_SQL = "UPDATE ai.social_insights SET topic_id = $4 WHERE tid = $1 AND mid = $2 AND topic_id = $3"
DROP_SQL = "DELETE FROM ai.topics WHERE tid = $1 AND mid = $2 AND id = $3"


@dataclass(frozen=True)
class TopicPlacement:
    topic_id: UUID
    started: bool
    similarity: float
    merged: tuple[UUID, ...] = ()
    retired: tuple[UUID, ...] = ()  # a topic dropped to keep the brand under its cap


async def place(
    conn: asyncpg.Connection,
    tid: str,
    mid: str,
    brand: str,
    vector: list[float],
    text: str,
    at: datetime,
    *,
    max_topics: int = MAX_TOPICS_PER_BRAND,
) -> TopicPlacement:
    """The topic a mention joins or starts (the caller holds the brand's lock).

    A brand keeps at most ``max_topics``: a mention starting one more retires the smallest topic (the
    stalest among equals), whose mentions are left without a topic. Singletons of stray mentions go first,
    and every mention's nearest-topic query stays a scan of a bounded set."""
    v = unit(vector)
    terms = add_terms({}, text)
    nearest = await conn.fetchrow(NEAREST_SQL, tid, mid, brand, v)
    if nearest is None or float(nearest["similarity"]) < JOIN_SIMILARITY:
        retired: tuple[UUID, ...] = ()
        if int(await conn.fetchval(COUNT_SQL, tid, mid, brand)) >= max_topics:
            oldest: UUID = await conn.fetchval(RETIRE_SQL, tid, mid, brand)
            await conn.execute(UNASSIGN_SQL, tid, mid, oldest)
            await conn.execute(DROP_SQL, tid, mid, oldest)
            retired = (oldest,)
        topic_id: UUID = await conn.fetchval(START_SQL, tid, mid, brand, v, terms, at)
        return TopicPlacement(topic_id, True, 1.0, retired=retired)
    topic_id, size = nearest["id"], int(nearest["size"])
    centroid = moved_centroid(stored_vector(nearest["centroid"]), size, v)
    size += 1
    merged_terms = merge_terms(nearest["terms"], terms)
    gone: list[UUID] = []
    for row in await conn.fetch(CLOSE_SQL, tid, mid, brand, topic_id, centroid, MERGE_SIMILARITY):
        other = stored_vector(row["centroid"])
        if not merge_candidates(centroid, [(0, other)]):
            continue  # pgvector's and numpy's float rounding disagree at the threshold: numpy decides
        other_size = int(row["size"])
        keep_id, gone_id = (topic_id, row["id"]) if size >= other_size else (row["id"], topic_id)
        centroid = moved_centroid(centroid, size, other, other_size)
        size += other_size
        merged_terms = merge_terms(merged_terms, row["terms"])
        await conn.execute(REASSIGN_SQL, tid, mid, gone_id, keep_id)
        await conn.execute(DROP_SQL, tid, mid, gone_id)
        gone.append(gone_id)
        topic_id = keep_id
    await conn.execute(MOVE_SQL, tid, mid, topic_id, centroid, size, merged_terms, at)
    return TopicPlacement(topic_id, False, round(float(nearest["similarity"]), 4), tuple(gone))


TOPICS_SQL = """
WITH counts AS (
    SELECT topic_id,
           count(*) FILTER (WHERE posted_at > $4) AS recent,
           count(*) FILTER (WHERE posted_at <= $4) AS baseline,
           count(*) FILTER (WHERE posted_at > $4 AND sentiment = 'positive' AND supported) AS positive,
           count(*) FILTER (WHERE posted_at > $4 AND sentiment = 'negative' AND supported) AS negative,
           (array_agg(text ORDER BY posted_at DESC) FILTER (WHERE text <> ''))[1] AS latest_text
    FROM ai.social_insights
    WHERE tid = $1 AND mid = $2 AND brand = $3 AND topic_id IS NOT NULL AND posted_at > $5 AND posted_at <= $6
    GROUP BY topic_id
)
SELECT t.id, t.size, t.terms, t.created_at, t.last_mention_at,
       coalesce(c.recent, 0) AS recent, coalesce(c.baseline, 0) AS baseline,
       coalesce(c.positive, 0) AS positive, coalesce(c.negative, 0) AS negative, c.latest_text
FROM ai.topics t LEFT JOIN counts c ON c.topic_id = t.id
WHERE t.tid = $1 AND t.mid = $2 AND t.brand = $3
"""


async def brand_topics(
    pool: asyncpg.Pool,
    tenant: TenantContext,
    brand: str,
    *,
    until: datetime,
    hours: float = 24.0,
    baseline_days: float = 7.0,
    min_size: int = 3,
    limit: int = 20,
) -> dict[str, Any]:
    """The brand's topics of at least ``min_size`` mentions, emerging ones first, then by recent mentions.

    Each has its label (top words by c-TF-IDF against the brand's other topics), its size, its mentions in
    the last ``hours`` before ``until`` against what its own rate in the ``baseline_days`` before predicts
    (:func:`models.topics.trends.trend`), the recent sentiment mix, and its latest mention's text."""
    if not 1 <= hours <= 24 * 31 or not 1 <= baseline_days <= 90:
        raise InvalidInput("hours must be between 1 and 744, baseline_days between 1 and 90")
    recent_from = until - timedelta(hours=hours)
    baseline_from = recent_from - timedelta(days=baseline_days)
    async with tenant_transaction(pool, tenant, readonly=True) as conn:
        rows = [dict(r) for r in await conn.fetch(TOPICS_SQL, tenant.tid, tenant.mid, brand, recent_from,
                                                   baseline_from, until)]  # fmt: skip
    named = labels({str(r["id"]): r["terms"] for r in rows})  # against every topic of the brand
    rule = TrendRule()
    out = []
    for row in rows:
        if row["size"] < min_size:
            continue
        # A topic younger than the baseline period has only its own lifetime as a baseline.
        known_hours = max((recent_from - max(row["created_at"], baseline_from)).total_seconds() / 3600, 0.0)
        t = trend(int(row["recent"]), hours, int(row["baseline"]), known_hours, rule)
        label = named[str(row["id"])]
        out.append(
            {
                "id": row["id"],
                "label": label,
                "title": label_text(label),
                "size": row["size"],
                "recent": t.recent,
                "expected": t.expected,
                "ratio": t.ratio,
                "p_value": t.p_value if math.isfinite(t.p_value) else None,
                "emerging": t.emerging,
                "positive": row["positive"],
                "negative": row["negative"],
                "created_at": row["created_at"],
                "last_mention_at": row["last_mention_at"],
                "latest_text": row["latest_text"],
            }
        )
    out.sort(key=lambda r: (not r["emerging"], -r["recent"], -r["size"], str(r["id"])))
    return {
        "brand": brand,
        "until": until,
        "hours": hours,
        "baseline_days": baseline_days,
        "topics_total": len(rows),
        "topics": out[:limit],
    }
