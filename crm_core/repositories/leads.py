"""Leads: CRUD through :data:`LEADS` plus dedupe lookups."""

from __future__ import annotations

import asyncpg

from crm_core.repositories.base import TableSpec
from crm_core.schemas.leads import LeadPublic
from infra.db.tenancy import TenantContext

LEADS: TableSpec[LeadPublic] = TableSpec(
    "crm.leads",
    entity="lead",
    model=LeadPublic,
    writable=(
        "first_name",
        "last_name",
        "email",
        "phone",
        "company_name",
        "cui",
        "source",
        "status",
        "score",
        "score_reason",
        "converted_at",
        "converted_account_id",
        "converted_contact_id",
        "converted_opportunity_id",
        "attributes",
    ),
    filterable=("status", "source", "email", "cui"),
    folded_search=True,
    searchable=("first_name", "last_name", "email", "company_name", "cui"),
)

FIND_DUPLICATE_SQL = """
SELECT * FROM crm.leads
WHERE tid = $1 AND mid = $2 AND deleted_at IS NULL
  AND (($3::text IS NOT NULL AND email_lower = $3) OR ($4::text IS NOT NULL AND cui = $4))
ORDER BY created_at
LIMIT 1
"""


async def find_duplicate(
    conn: asyncpg.Connection, *, tenant: TenantContext, email: str | None, cui: str | None
) -> LeadPublic | None:
    """The oldest live lead with the same e-mail (case-insensitive) or CUI."""
    if email is None and cui is None:
        return None
    lowered = email.lower() if email is not None else None
    return LEADS.row(await conn.fetchrow(FIND_DUPLICATE_SQL, tenant.tid, tenant.mid, lowered, cui))
