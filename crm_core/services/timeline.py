"""Account timeline entries for CRM actions (events from other modules arrive via consumers)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from crm_core.repositories import activities
from crm_core.schemas.activities import ActivityCreate, ActivityPublic
from infra.db.tenancy import TenantContext


async def record(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    account_id: UUID,
    kind: str,
    subject: str,
    opportunity_id: UUID | None = None,
    contact_id: UUID | None = None,
    payload: dict[str, Any] | None = None,
) -> ActivityPublic | None:
    return await activities.add(
        conn,
        tenant=tenant,
        activity=ActivityCreate(
            account_id=account_id,
            opportunity_id=opportunity_id,
            contact_id=contact_id,
            kind=kind,
            subject=subject,
            source="crm",
            payload=payload or {},
        ),
    )
