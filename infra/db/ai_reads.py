"""Reads of the ``ai`` schema that more than one domain makes, written once here beside the schema's owner.

The stream processors write the ``ai`` tables (migrations under :mod:`infra.db.migrations`); the CRM's Account
360 and the streams' insight queries both read an account's latest churn score, so that query lives here and
neither domain imports the other.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

CHURN_SCORE_SQL = """
SELECT probability, bucket, model_version, scored_at FROM ai.churn_scores
WHERE tid = $1 AND mid = $2 AND account_id = $3
"""


async def latest_churn_score(conn: asyncpg.Connection, tid: str, mid: str, account_id: UUID) -> dict[str, Any] | None:
    """The account's current churn score (probability, bucket, model version, when), or None if never scored."""
    row = await conn.fetchrow(CHURN_SCORE_SQL, tid, mid, account_id)
    return dict(row) if row is not None else None


# A prospect's stored intent faded to now with its tenant's weights (streams.prospects keeps both; the stored
# sum fades by the same factor for every kind, so the score now needs no activity rows).
PROSPECT_INTENT_SQL = """
SELECT p.id, p.name, p.company, p.headline, p.match_status, p.contact_id, p.lead_id, p.account_id,
       p.top_signals, p.last_seen,
       round(CASE WHEN m.model IS NULL OR p.scored_at IS NULL THEN p.score::numeric
             ELSE (100 / (1 + exp(-((m.model->>'bias')::float8 + p.weighted * exp(-ln(2)
                  * greatest(extract(epoch FROM now() - p.scored_at), 0) / 86400
                  / (m.model->>'half_life_days')::float8)))))::numeric END, 2)::float8 AS score,
       m.model->>'source' AS model
FROM ai.prospects p
LEFT JOIN ai.intent_models m ON m.tid = p.tid AND m.mid = p.mid
WHERE p.tid = $1 AND p.mid = $2 AND ($3::uuid IS NULL OR p.account_id = $3) AND ($4::uuid IS NULL OR p.lead_id = $4)
ORDER BY score DESC, p.last_seen DESC
LIMIT $5
"""


async def prospect_intent(
    conn: asyncpg.Connection,
    tid: str,
    mid: str,
    *,
    account_id: UUID | None = None,
    lead_id: UUID | None = None,
    limit: int = 5,
) -> list[dict[str, Any]]:
    """The prospects of an account (or the one of a lead) by intent now: score, top signals, match status."""
    rows = await conn.fetch(PROSPECT_INTENT_SQL, tid, mid, account_id, lead_id, limit)
    return [dict(r) for r in rows]


def account_intent(prospects: list[dict[str, Any]]) -> float:
    """An account's intent from its prospects' scores: the chance, as the scores say, that at least one of its
    people converts (so three warm people outrank one, and one hot person is enough)."""
    remaining = 1.0
    for p in prospects:
        remaining *= 1.0 - min(max(float(p["score"]) / 100.0, 0.0), 1.0)
    return round(100.0 * (1.0 - remaining), 2)
