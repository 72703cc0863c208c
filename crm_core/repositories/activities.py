"""Timeline activities: CRM actions and external events, newest first."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from crm_core.repositories.base import TableSpec
from crm_core.schemas.activities import ActivityCreate, ActivityPublic
from infra.db.tenancy import TenantContext

ACTIVITIES: TableSpec[ActivityPublic] = TableSpec(
    "crm.activities",
    entity="activity",
    model=ActivityPublic,
    writable=(
        "account_id",
        "contact_id",
        "opportunity_id",
        "kind",
        "subject",
        "body",
        "occurred_at",
        "source",
        "external_ref",
        "payload",
    ),
    filterable=("account_id", "contact_id", "opportunity_id", "kind", "source"),
    versioned=False,
)

ADD_SQL = """
INSERT INTO crm.activities
    (tid, whid, mid, account_id, contact_id, opportunity_id, kind, subject, body, occurred_at, source,
     external_ref, payload)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, now()), $11, $12, $13)
ON CONFLICT (tid, mid, external_ref) WHERE external_ref IS NOT NULL DO NOTHING
RETURNING *
"""

TIMELINE_SQL = """
SELECT * FROM crm.activities
WHERE tid = $1 AND mid = $2 AND account_id = $3
  AND ($4::timestamptz IS NULL OR (occurred_at, id) < ($4, $5::uuid))
ORDER BY occurred_at DESC, id DESC
LIMIT $6
"""


async def add(conn: asyncpg.Connection, *, tenant: TenantContext, activity: ActivityCreate) -> ActivityPublic | None:
    """Insert an activity. With an ``external_ref`` already stored, nothing is written and ``None`` returned."""
    a = activity
    record = await conn.fetchrow(
        ADD_SQL,
        tenant.tid,
        tenant.whid,
        tenant.mid,
        a.account_id,
        a.contact_id,
        a.opportunity_id,
        a.kind,
        a.subject,
        a.body,
        a.occurred_at,
        a.source,
        a.external_ref,
        a.payload,
    )
    return ACTIVITIES.row(record)


async def timeline(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    account_id: UUID,
    limit: int = 50,
    before: tuple[datetime, UUID] | None = None,
) -> list[ActivityPublic]:
    """An account's activities, newest first; ``before`` is the last seen (occurred_at, id)."""
    at, last_id = before if before is not None else (None, None)
    records = await conn.fetch(TIMELINE_SQL, tenant.tid, tenant.mid, account_id, at, last_id, limit)
    return [ACTIVITIES.one(r) for r in records]
