"""Domain events written to the transactional outbox, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from infra.db.tenancy import TenantContext
from infra.events import outbox
from infra.http.correlation import current_corr_id

LEAD_CREATED = "crm.lead.created"
OPPORTUNITY_STAGE_CHANGED = "crm.opportunity.stage_changed"
CAMPAIGN_SENT = "crm.campaign.sent"


async def emit(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    event_type: str,
    aggregate_type: str,
    aggregate_id: UUID,
    payload: dict[str, Any],
) -> UUID:
    """Queue an event; it is published only if the surrounding transaction commits."""
    event = await outbox.enqueue(
        conn,
        tenant=tenant,
        event_type=event_type,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        payload=payload,
        corr_id=current_corr_id(),
    )
    return event.id


async def emit_many(conn: asyncpg.Connection, *, tenant: TenantContext, events: Sequence[outbox.NewEvent]) -> None:
    """Queue several events in the caller's transaction, in order, in one round trip."""
    await outbox.enqueue_many(conn, tenant=tenant, events=events, corr_id=current_corr_id())
