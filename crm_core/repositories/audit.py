"""Append-only audit log (the application role may insert and read, never change)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from crm_core.schemas.activities import AuditEntry
from infra.db.tenancy import TenantContext

RECORD_SQL = """
INSERT INTO crm.audit_log (tid, whid, mid, actor, action, entity_type, entity_id, before, after, corr_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING *
"""

FOR_ENTITY_SQL = """
SELECT * FROM crm.audit_log
WHERE tid = $1 AND mid = $2 AND entity_type = $3 AND entity_id = $4
ORDER BY created_at, id
"""


async def record(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: UUID | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    corr_id: str | None = None,
) -> AuditEntry:
    row = await conn.fetchrow(
        RECORD_SQL, tenant.tid, tenant.whid, tenant.mid, actor, action, entity_type, entity_id, before, after, corr_id
    )
    return AuditEntry.model_validate(dict(row))


async def for_entity(
    conn: asyncpg.Connection, *, tenant: TenantContext, entity_type: str, entity_id: UUID
) -> list[AuditEntry]:
    records = await conn.fetch(FOR_ENTITY_SQL, tenant.tid, tenant.mid, entity_type, entity_id)
    return [AuditEntry.model_validate(dict(r)) for r in records]
