"""Accounts: CRUD through :data:`ACCOUNTS` plus account-specific lookups."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from crm_core.repositories.base import TableSpec
from crm_core.schemas.accounts import AccountPublic
from crm_core.schemas.enums import ComplianceStatus
from infra.db.tenancy import TenantContext

ACCOUNTS: TableSpec[AccountPublic] = TableSpec(
    "crm.accounts",
    entity="account",
    model=AccountPublic,
    writable=(
        "name",
        "cui",
        "domain",
        "industry",
        "country",
        "city",
        "address",
        "phone",
        "owner_id",
        "attributes",
        "compliance_status",
        "compliance_checked_at",
        "anaf_data",
    ),
    filterable=("cui", "country", "industry", "owner_id", "compliance_status"),
    folded_search=True,
    searchable=("name", "cui", "domain", "city"),
    collated=("name",),
    sortable=("created_at", "updated_at", "name"),
)

FIND_BY_CUI_SQL = """
SELECT * FROM crm.accounts
WHERE tid = $1 AND mid = $2 AND cui = $3 AND deleted_at IS NULL
"""

APPLY_CHECK_SQL = """
UPDATE crm.accounts
SET compliance_status = $5, compliance_checked_at = now(), anaf_data = coalesce($6, anaf_data),
    address = coalesce(address, $7), updated_at = now()
WHERE tid = $1 AND mid = $2 AND id = $3 AND cui = $4 AND deleted_at IS NULL
"""

DUE_FOR_CHECK_SQL = """
SELECT tid, whid, mid, id, cui FROM crm.accounts
WHERE cui IS NOT NULL AND deleted_at IS NULL AND compliance_status = ANY($1::text[])
  AND (compliance_checked_at IS NULL OR compliance_checked_at < now() - make_interval(secs => $2))
ORDER BY compliance_checked_at NULLS FIRST
LIMIT $3
"""

SET_COMPLIANCE_SQL = """
UPDATE crm.accounts
SET compliance_status = $4, compliance_checked_at = $5, anaf_data = $6, updated_at = now()
WHERE tid = $1 AND mid = $2 AND id = $3
RETURNING *
"""


async def find_by_cui(conn: asyncpg.Connection, *, tenant: TenantContext, cui: str) -> AccountPublic | None:
    return ACCOUNTS.row(await conn.fetchrow(FIND_BY_CUI_SQL, tenant.tid, tenant.mid, cui))


async def set_compliance(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    id: UUID,
    status: ComplianceStatus,
    checked_at: datetime,
    anaf_data: dict[str, Any] | None,
) -> AccountPublic | None:
    """Record a compliance check result. Not a user edit: the version is unchanged."""
    record = await conn.fetchrow(SET_COMPLIANCE_SQL, tenant.tid, tenant.mid, id, status.value, checked_at, anaf_data)
    return ACCOUNTS.row(record)


async def apply_check(
    conn: asyncpg.Connection,
    *,
    tid: str,
    mid: str,
    id: UUID,
    cui: str,
    status: ComplianceStatus,
    anaf_data: dict[str, Any] | None,
    address: str | None,
) -> bool:
    """Store a check result unless the account's CUI changed meanwhile. Works for the
    app role (RLS-scoped) and the compliance worker role (column grants only)."""
    result = await conn.execute(APPLY_CHECK_SQL, tid, mid, id, cui, status.value, anaf_data, address)
    return str(result) == "UPDATE 1"


async def due_for_check(
    conn: asyncpg.Connection, *, statuses: list[str], min_age_s: float, limit: int
) -> list[asyncpg.Record]:
    """Accounts (any tenant visible to the caller) whose compliance should be checked."""
    return list(await conn.fetch(DUE_FOR_CHECK_SQL, statuses, min_age_s, limit))
