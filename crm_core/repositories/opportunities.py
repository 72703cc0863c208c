"""Opportunities: CRUD through :data:`OPPORTUNITIES` plus stage writes."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from crm_core.repositories.base import TableSpec
from crm_core.schemas.enums import OpportunityStage
from crm_core.schemas.opportunities import OpportunityPublic
from infra.db.tenancy import TenantContext

OPPORTUNITIES: TableSpec[OpportunityPublic] = TableSpec(
    "crm.opportunities",
    entity="opportunity",
    model=OpportunityPublic,
    writable=(
        "account_id",
        "contact_id",
        "lead_id",
        "name",
        "pipeline",
        "stage",
        "amount",
        "currency",
        "probability",
        "expected_close",
        "closed_at",
        "sales_order_id",
        "attributes",
    ),
    filterable=("account_id", "contact_id", "lead_id", "pipeline", "stage", "sales_order_id"),
    searchable=("name",),
    collated=("name",),
    sortable=("created_at", "updated_at", "name"),
)

OPEN_FOR_ACCOUNT_SQL = """
SELECT * FROM crm.opportunities
WHERE tid = $1 AND mid = $2 AND account_id = $3 AND deleted_at IS NULL
  AND stage NOT IN ('closed_won', 'closed_lost')
ORDER BY expected_close NULLS LAST, created_at DESC
LIMIT $4
"""


async def open_for_account(
    conn: asyncpg.Connection, *, tenant: TenantContext, account_id: UUID, limit: int = 100
) -> list[OpportunityPublic]:
    records = await conn.fetch(OPEN_FOR_ACCOUNT_SQL, tenant.tid, tenant.mid, account_id, limit)
    return [OPPORTUNITIES.one(r) for r in records]


def closed(stage: OpportunityStage) -> bool:
    return stage in (OpportunityStage.CLOSED_WON, OpportunityStage.CLOSED_LOST)
