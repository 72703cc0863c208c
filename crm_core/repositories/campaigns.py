"""Campaigns (CRUD through :data:`CAMPAIGNS`) and their recipients."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from crm_core.repositories.base import TableSpec
from crm_core.schemas.campaigns import CampaignPublic, CampaignRecipientPublic
from crm_core.schemas.enums import RecipientStatus
from infra.db import rows_changed
from infra.db.tenancy import TenantContext

CAMPAIGNS: TableSpec[CampaignPublic] = TableSpec(
    "crm.campaigns",
    entity="campaign",
    model=CampaignPublic,
    writable=(
        "name",
        "channel",
        "status",
        "subject",
        "body",
        "html",
        "variants",
        "personal_block",
        "scheduled_at",
        "sent_at",
        "budget",
        "currency",
        "attributes",
    ),
    filterable=("channel", "status"),
    searchable=("name", "subject"),
    collated=("name",),
    sortable=("created_at", "updated_at", "name"),
)

RECIPIENTS: TableSpec[CampaignRecipientPublic] = TableSpec(
    "crm.campaign_recipients",
    entity="campaign recipient",
    model=CampaignRecipientPublic,
    writable=("campaign_id", "contact_id", "status", "sent_at", "error"),
    filterable=("campaign_id", "contact_id", "status"),
    versioned=False,
)

ADD_RECIPIENTS_SQL = """
INSERT INTO crm.campaign_recipients (tid, whid, mid, campaign_id, contact_id)
SELECT $1, $2, $3, $4, contact_id FROM unnest($5::uuid[]) AS t(contact_id)
ON CONFLICT (tid, mid, campaign_id, contact_id) DO NOTHING
"""

SET_RECIPIENT_STATUS_SQL = """
UPDATE crm.campaign_recipients
SET status = $5, error = $6, updated_at = now(),
    sent_at = CASE WHEN $5 = 'sent' THEN now() ELSE sent_at END
WHERE tid = $1 AND mid = $2 AND campaign_id = $3 AND contact_id = $4
"""


async def add_recipients(
    conn: asyncpg.Connection, *, tenant: TenantContext, campaign_id: UUID, contact_ids: Sequence[UUID]
) -> int:
    """Add contacts to a campaign; already-present ones are skipped. Returns how many were added."""
    status = await conn.execute(ADD_RECIPIENTS_SQL, tenant.tid, tenant.whid, tenant.mid, campaign_id, list(contact_ids))
    return rows_changed(status)


async def set_recipient_status(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    campaign_id: UUID,
    contact_id: UUID,
    status: RecipientStatus,
    error: str | None = None,
) -> bool:
    result = await conn.execute(
        SET_RECIPIENT_STATUS_SQL, tenant.tid, tenant.mid, campaign_id, contact_id, status.value, error
    )
    return str(result) == "UPDATE 1"
