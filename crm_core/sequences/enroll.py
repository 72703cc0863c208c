"""Putting contacts into sequences: by hand, by segment, and on the triggers the CRM fires.

Every path is one ``INSERT … SELECT`` that skips contacts already enrolled in that sequence (one journey per
contact and sequence), inside the caller's transaction, so a trigger enrols exactly when its change commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from crm_core.schemas.sequences import Segment
from infra.db.tenancy import TenantContext

ENROLL_SQL = """
WITH added AS (
    INSERT INTO crm.sequence_enrollments (tid, whid, mid, sequence_id, contact_id, source)
    SELECT $1, $3, $2, $4, c.id, $5 FROM crm.contacts c
    WHERE c.tid = $1 AND c.mid = $2 AND c.deleted_at IS NULL AND c.id = ANY($6::uuid[])
    ON CONFLICT (tid, mid, sequence_id, contact_id) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM added
"""

SEGMENT_SQL = """
WITH added AS (
    INSERT INTO crm.sequence_enrollments (tid, whid, mid, sequence_id, contact_id, source)
    SELECT $1, $3, $2, $4, c.id, 'segment' FROM crm.contacts c
    WHERE c.tid = $1 AND c.mid = $2 AND c.deleted_at IS NULL
      AND ($5::uuid IS NULL OR c.account_id = $5)
      AND ($6::text IS NULL OR c.title ILIKE '%' || $6 || '%')
      AND (NOT $7 OR c.consent_marketing)
    ON CONFLICT (tid, mid, sequence_id, contact_id) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM added
"""

TRIGGERED_SQL = """
WITH added AS (
    INSERT INTO crm.sequence_enrollments (tid, whid, mid, sequence_id, contact_id, source)
    SELECT $1, $3, $2, s.id, c.id, $4
    FROM crm.sequences s
    JOIN crm.contacts c ON c.tid = s.tid AND c.mid = s.mid AND c.deleted_at IS NULL
    WHERE s.tid = $1 AND s.mid = $2 AND s.deleted_at IS NULL AND s.status = 'active' AND s.trigger ->> 'type' = $4
      AND ($5::uuid IS NULL OR c.id = $5)
      AND ($6::text IS NULL OR (lower(c.email) = lower($6) AND c.consent_marketing))
      AND ($7::text IS NULL OR s.trigger ->> 'action' = $7)
    ON CONFLICT (tid, mid, sequence_id, contact_id) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM added
"""


async def enroll(
    conn: asyncpg.Connection, *, tenant: TenantContext, sequence_id: UUID, contact_ids: Sequence[UUID]
) -> int:
    """Enrol these contacts (unknown or deleted ones are skipped); returns how many are new."""
    count: int = await conn.fetchval(
        ENROLL_SQL, tenant.tid, tenant.mid, tenant.whid, sequence_id, "manual", list(contact_ids)
    )
    return count


async def enroll_segment(
    conn: asyncpg.Connection, *, tenant: TenantContext, sequence_id: UUID, segment: Segment
) -> int:
    count: int = await conn.fetchval(
        SEGMENT_SQL,
        tenant.tid,
        tenant.mid,
        tenant.whid,
        sequence_id,
        segment.account_id,
        segment.title_contains,
        segment.consenting_only,
    )
    return count


async def on_contact_created(conn: asyncpg.Connection, *, tenant: TenantContext, contact_id: UUID) -> int:
    """The active ``contact_created`` sequences take the new contact."""
    count: int = await conn.fetchval(
        TRIGGERED_SQL, tenant.tid, tenant.mid, tenant.whid, "contact_created", contact_id, None, None
    )
    return count


async def on_lead_created(conn: asyncpg.Connection, *, tenant: TenantContext, email: str) -> int:
    """The active ``lead_created`` sequences take the consenting contacts with the new lead's e-mail (a lead
    itself cannot be mailed: only contacts carry marketing consent)."""
    count: int = await conn.fetchval(
        TRIGGERED_SQL, tenant.tid, tenant.mid, tenant.whid, "lead_created", None, email, None
    )
    return count


async def on_behavior(conn: asyncpg.Connection, *, tenant: TenantContext, contact_id: UUID, action: str) -> int:
    """The active ``behavior`` sequences for this action take the contact the event named."""
    count: int = await conn.fetchval(
        TRIGGERED_SQL, tenant.tid, tenant.mid, tenant.whid, "behavior", contact_id, None, action
    )
    return count
