"""What a sequence asks about a contact: did they open, click, reply, convert; their lead's score; may we mail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from crm_core.schemas.sequences import Condition, SendEmail, Step
from infra.db.tenancy import TenantContext

EMAIL_EVENT_SQL = """
SELECT EXISTS (
    SELECT 1 FROM crm.email_events
    WHERE tid = $1 AND mid = $2 AND contact_id = $3 AND kind = $4 AND NOT machine
      AND campaign_id = ANY($5::uuid[]) AND occurred_at >= $6
)
"""

CONVERTED_SQL = """
SELECT EXISTS (
    SELECT 1 FROM crm.activities a
    JOIN crm.contacts c ON c.tid = a.tid AND c.mid = a.mid AND c.account_id = a.account_id
    WHERE a.tid = $1 AND a.mid = $2 AND c.id = $3 AND a.kind = 'sales.order.created' AND a.occurred_at >= $4
) OR EXISTS (
    SELECT 1 FROM crm.leads WHERE tid = $1 AND mid = $2 AND converted_contact_id = $3 AND converted_at >= $4
)
"""

LEAD_SQL = """
SELECT l.id, l.score FROM crm.leads l JOIN crm.contacts c ON c.tid = l.tid AND c.mid = l.mid AND c.id = $3
WHERE l.tid = $1 AND l.mid = $2 AND l.deleted_at IS NULL
  AND (l.converted_contact_id = c.id OR (c.email IS NOT NULL AND lower(l.email) = lower(c.email)))
ORDER BY (l.converted_contact_id = c.id) DESC, l.updated_at DESC
LIMIT 1
"""

MAILABLE_SQL = """
SELECT c.consent_marketing AND c.deleted_at IS NULL AND NOT EXISTS (
    SELECT 1 FROM crm.email_suppressions s WHERE s.tid = c.tid AND s.mid = c.mid AND s.email = lower(c.email)
)
FROM crm.contacts c WHERE c.tid = $1 AND c.mid = $2 AND c.id = $3
"""


def campaigns_of(steps: Sequence[Step]) -> list[UUID]:
    """The campaigns a journey sends: its e-mail events are the ones its conditions look at."""
    return [s.campaign_id for s in steps if isinstance(s, SendEmail)]


async def email_event(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    contact_id: UUID,
    kind: str,
    campaigns: Sequence[UUID],
    since: datetime,
) -> bool:
    return bool(await conn.fetchval(EMAIL_EVENT_SQL, tenant.tid, tenant.mid, contact_id, kind, list(campaigns), since))


async def converted(conn: asyncpg.Connection, tenant: TenantContext, contact_id: UUID, since: datetime) -> bool:
    return bool(await conn.fetchval(CONVERTED_SQL, tenant.tid, tenant.mid, contact_id, since))


async def lead_of(conn: asyncpg.Connection, tenant: TenantContext, contact_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(LEAD_SQL, tenant.tid, tenant.mid, contact_id)
    return row


async def mailable(conn: asyncpg.Connection, tenant: TenantContext, contact_id: UUID) -> bool:
    return bool(await conn.fetchval(MAILABLE_SQL, tenant.tid, tenant.mid, contact_id))


async def holds(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    condition: Condition,
    contact_id: UUID,
    campaigns: Sequence[UUID],
    since: datetime,
) -> bool:
    if condition.score_gte is not None:
        lead = await lead_of(conn, tenant, contact_id)
        return lead is not None and (lead["score"] or 0) >= condition.score_gte
    assert condition.event is not None
    return await event_happened(conn, tenant, condition.event, contact_id, campaigns, since)


async def event_happened(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    event: str,
    contact_id: UUID,
    campaigns: Sequence[UUID],
    since: datetime,
) -> bool:
    if event == "converted":
        return await converted(conn, tenant, contact_id, since)
    return await email_event(conn, tenant, contact_id, event, campaigns, since)
