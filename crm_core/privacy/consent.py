"""The consent ledger: per contact and purpose, every grant and withdrawal with its source and evidence.

``crm.consent_history`` is append-only (the application role may insert and read, never change); a
contact's current consent for a purpose is its latest entry, and a purpose never recorded is ``None`` (not
asked). ``marketing_email`` also sets ``crm.contacts.consent_marketing``, which campaign sends select on, in
the same transaction, so the ledger and the send rule never disagree. Purposes:

* ``marketing_email`` — campaign e-mail;
* ``profiling`` — AI analysis of the person's behaviour and mentions (recommendations, journeys);
* ``call_analysis`` — transcription and vision of their recorded calls.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg

from infra.db.tenancy import TenantContext

Purpose = Literal["marketing_email", "profiling", "call_analysis"]
PURPOSES: tuple[Purpose, ...] = ("marketing_email", "profiling", "call_analysis")

CONTACT_SQL = "SELECT 1 FROM crm.contacts WHERE tid = $1 AND mid = $2 AND id = $3 AND deleted_at IS NULL"
RECORD_SQL = """
INSERT INTO crm.consent_history (tid, whid, mid, contact_id, purpose, granted, source, evidence, occurred_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9, now()))
RETURNING id, purpose, granted, source, evidence, occurred_at, created_at
"""
MARKETING_SQL = """
UPDATE crm.contacts SET consent_marketing = $4, updated_at = now(), version = version + 1
WHERE tid = $1 AND mid = $2 AND id = $3 AND consent_marketing IS DISTINCT FROM $4
"""
HISTORY_SQL = """
SELECT id, purpose, granted, source, evidence, occurred_at, created_at FROM crm.consent_history
WHERE tid = $1 AND mid = $2 AND contact_id = $3
ORDER BY occurred_at, created_at, id
"""
CURRENT_SQL = """
SELECT DISTINCT ON (purpose) purpose, granted FROM crm.consent_history
WHERE tid = $1 AND mid = $2 AND contact_id = $3
ORDER BY purpose, occurred_at DESC, created_at DESC, id DESC
"""


async def contact_exists(conn: asyncpg.Connection, tenant: TenantContext, contact_id: UUID) -> bool:
    return await conn.fetchval(CONTACT_SQL, tenant.tid, tenant.mid, contact_id) is not None


async def record(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    contact_id: UUID,
    *,
    purpose: Purpose,
    granted: bool,
    source: str,
    evidence: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    """Append one grant or withdrawal (the caller checked the contact exists in this tenant)."""
    row = await conn.fetchrow(
        RECORD_SQL,
        tenant.tid,
        tenant.whid,
        tenant.mid,
        contact_id,
        purpose,
        granted,
        source,
        evidence or {},
        occurred_at,
    )
    if purpose == "marketing_email" and await latest(conn, tenant, contact_id, purpose) == granted:
        await conn.execute(MARKETING_SQL, tenant.tid, tenant.mid, contact_id, granted)
    return dict(row)


async def history(conn: asyncpg.Connection, tenant: TenantContext, contact_id: UUID) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(HISTORY_SQL, tenant.tid, tenant.mid, contact_id)]


async def current(conn: asyncpg.Connection, tenant: TenantContext, contact_id: UUID) -> dict[str, bool | None]:
    """Each purpose's latest answer; ``None`` where the contact was never asked."""
    rows = await conn.fetch(CURRENT_SQL, tenant.tid, tenant.mid, contact_id)
    state: dict[str, bool | None] = dict.fromkeys(PURPOSES)
    state.update({r["purpose"]: r["granted"] for r in rows})
    return state


async def latest(conn: asyncpg.Connection, tenant: TenantContext, contact_id: UUID, purpose: Purpose) -> bool | None:
    return (await current(conn, tenant, contact_id))[purpose]
