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
