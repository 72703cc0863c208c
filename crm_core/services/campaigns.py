"""Campaigns: sending records the recipients and emits ``crm.campaign.sent``.

Delivery itself (e-mail/SMS providers) subscribes to that event; the CRM core
decides who receives the campaign. Only contacts with marketing consent are
added; the others are reported back as skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from crm_core.repositories import campaigns as campaigns_repo
from crm_core.repositories.campaigns import CAMPAIGNS
from crm_core.schemas.campaigns import CampaignPublic
from crm_core.schemas.enums import CampaignStatus
from crm_core.services import events
from crm_core.services.crud import EntityService, audit_view
from infra.errors import Conflict
from infra.security import Principal

MAX_RECIPIENTS = 100_000

CONSENTING_SQL = """
SELECT id FROM crm.contacts
WHERE tid = $1 AND mid = $2 AND deleted_at IS NULL AND consent_marketing
  AND ($3::uuid[] IS NULL OR id = ANY($3::uuid[]))
  AND ($4::uuid IS NULL OR account_id = $4)
ORDER BY id
LIMIT $5
"""


@dataclass(frozen=True, slots=True)
class SendResult:
    campaign: CampaignPublic
    recipients: int
    skipped_without_consent: int


class CampaignService(EntityService[CampaignPublic]):
    required_fields = frozenset({"name", "channel", "currency", "attributes"})
    audited = frozenset({"create", "update", "delete", "restore"})

    async def send(
        self,
        conn: asyncpg.Connection,
        *,
        user: Principal,
        id: UUID,
        contact_ids: list[UUID] | None = None,
        account_id: UUID | None = None,
    ) -> SendResult:
        campaign = await self.get_locked(conn, user=user, id=id)
        if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
            raise Conflict(f"the campaign is {campaign.status.value}; only draft or scheduled campaigns send")
        rows = await conn.fetch(
            CONSENTING_SQL, user.tenant.tid, user.tenant.mid, contact_ids, account_id, MAX_RECIPIENTS
        )
        recipients = [r["id"] for r in rows]
        if not recipients:
            raise Conflict("no contact with marketing consent matches: nothing to send")
        await campaigns_repo.add_recipients(conn, tenant=user.tenant, campaign_id=id, contact_ids=recipients)
        sent = await CAMPAIGNS.update(
            conn,
            tenant=user.tenant,
            id=id,
            changes={"status": CampaignStatus.SENT.value, "sent_at": datetime.now(UTC)},
        )
        assert sent is not None
        await self._audit(conn, user, "send", id, before=audit_view(campaign), after={"recipients": len(recipients)})
        await events.emit(
            conn,
            tenant=user.tenant,
            event_type=events.CAMPAIGN_SENT,
            aggregate_type="campaign",
            aggregate_id=id,
            payload={
                "campaign_id": str(id),
                "name": sent.name,
                "channel": sent.channel.value,
                "subject": sent.subject,
                "recipient_count": len(recipients),
                "contact_ids": [str(c) for c in recipients],
                "sent_by": user.sub,
            },
        )
        skipped = len(contact_ids) - len(recipients) if contact_ids is not None else 0
        return SendResult(sent, len(recipients), skipped)


campaigns_service = CampaignService(CAMPAIGNS)
