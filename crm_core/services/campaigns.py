"""Campaigns: templates checked when saved; sending picks the recipients and emits ``crm.campaign.sent``.

An e-mail campaign's send enqueues one delivery row per consenting contact (``crm_core.delivery``: the worker
renders and delivers them, consent and suppressions re-checked at send time) and moves the campaign to
``sending``; the worker moves it to ``sent`` when nobody is left. Other channels record their recipients for
whatever delivers them (subscribed to the event). Contacts without marketing consent are reported as skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from crm_core.delivery import experiments, queue, templates
from crm_core.delivery.experiments import ABMetric
from crm_core.repositories import campaigns as campaigns_repo
from crm_core.repositories.campaigns import CAMPAIGNS
from crm_core.schemas.campaigns import CampaignPublic, CampaignVariant
from crm_core.schemas.enums import CampaignChannel, CampaignStatus
from crm_core.services import events
from crm_core.services.crud import EntityService, audit_view
from infra.errors import Conflict, InvalidInput
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
    queued: int = 0
    skipped_invalid_address: int = 0


def template_fields(values: Mapping[str, Any]) -> dict[str, str | None]:
    """Every template in a create/update body, named as the 422 will name it."""
    found: dict[str, str | None] = {name: values.get(name) for name in ("subject", "body", "html", "personal_block")}
    for i, variant in enumerate(values.get("variants") or []):
        for name in ("subject", "html", "text"):
            found[f"variants[{i}].{name}"] = variant.get(name)
    return found


def missing_content(campaign: CampaignPublic) -> str | None:
    """What an e-mail campaign lacks before it can send, or ``None``: every arm needs a subject and a body."""
    arms = campaign.variants or [CampaignVariant(key="-")]
    if any(not (arm.subject or campaign.subject) for arm in arms):
        return "a subject"
    if any(not (arm.html or arm.text or campaign.html or campaign.body) for arm in arms):
        return "an HTML or plain-text body"
    return None


class CampaignService(EntityService[CampaignPublic]):
    required_fields = frozenset({"name", "channel", "currency", "attributes", "variants"})
    audited = frozenset({"create", "update", "delete", "restore"})

    async def prepare_create(self, conn: asyncpg.Connection, user: Principal, values: dict[str, Any]) -> None:
        templates.check(template_fields(values))

    async def prepare_update(self, conn: asyncpg.Connection, user: Principal, changes: dict[str, Any]) -> None:
        templates.check(template_fields(changes))

    async def send(
        self,
        conn: asyncpg.Connection,
        *,
        user: Principal,
        id: UUID,
        contact_ids: list[UUID] | None = None,
        account_id: UUID | None = None,
        ab_metric: ABMetric = "click",
    ) -> SendResult:
        campaign = await self.get_locked(conn, user=user, id=id)
        if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
            raise Conflict(f"the campaign is {campaign.status.value}; only draft or scheduled campaigns send")
        if campaign.channel is CampaignChannel.EMAIL:
            return await self._send_email(
                conn, user, campaign, contact_ids=contact_ids, account_id=account_id, ab_metric=ab_metric
            )
        rows = await conn.fetch(
            CONSENTING_SQL, user.tenant.tid, user.tenant.mid, contact_ids, account_id, MAX_RECIPIENTS
        )
        recipients = [r["id"] for r in rows]
        if not recipients:
            raise Conflict("no contact with marketing consent matches: nothing to send")
        await campaigns_repo.add_recipients(conn, tenant=user.tenant, campaign_id=id, contact_ids=recipients)
        sent = await self._mark(conn, user, campaign, CampaignStatus.SENT, len(recipients))
        await self._emit_sent(conn, user, sent, len(recipients), {"contact_ids": [str(c) for c in recipients]})
        skipped = len(contact_ids) - len(recipients) if contact_ids is not None else 0
        return SendResult(sent, len(recipients), skipped)

    async def _send_email(
        self,
        conn: asyncpg.Connection,
        user: Principal,
        campaign: CampaignPublic,
        *,
        contact_ids: list[UUID] | None,
        account_id: UUID | None,
        ab_metric: ABMetric,
    ) -> SendResult:
        missing = missing_content(campaign)
        if missing:
            raise InvalidInput(f"an e-mail campaign needs {missing} (on the campaign or on every variant)")
        enqueued = await queue.enqueue(
            conn,
            tenant=user.tenant,
            campaign_id=campaign.id,
            contact_ids=contact_ids,
            account_id=account_id,
            limit=MAX_RECIPIENTS,
            variants=[(v.key, v.weight) for v in campaign.variants],
        )
        if not enqueued.recipients:
            raise Conflict("no contact with marketing consent matches: nothing to send")
        if len(campaign.variants) >= 2 and enqueued.queued:
            weights = {v.key: v.weight for v in campaign.variants}
            await experiments.start(
                conn, tenant=user.tenant, campaign_id=campaign.id, metric=ab_metric, weights=weights
            )
        status = CampaignStatus.SENDING if enqueued.queued else CampaignStatus.SENT
        sent = await self._mark(conn, user, campaign, status, enqueued.recipients)
        await self._emit_sent(
            conn,
            user,
            sent,
            enqueued.recipients,
            {"queued": enqueued.queued, "variants": {v.key: v.weight for v in campaign.variants}},
        )
        skipped = len(contact_ids) - enqueued.recipients if contact_ids is not None else 0
        return SendResult(
            sent,
            enqueued.recipients,
            skipped,
            queued=enqueued.queued,
            skipped_invalid_address=enqueued.recipients - enqueued.queued,
        )

    async def _mark(
        self, conn: asyncpg.Connection, user: Principal, campaign: CampaignPublic, status: CampaignStatus, count: int
    ) -> CampaignPublic:
        sent = await CAMPAIGNS.update(
            conn,
            tenant=user.tenant,
            id=campaign.id,
            changes={"status": status.value, "sent_at": datetime.now(UTC)},
        )
        assert sent is not None
        await self._audit(conn, user, "send", campaign.id, before=audit_view(campaign), after={"recipients": count})
        return sent

    async def _emit_sent(
        self, conn: asyncpg.Connection, user: Principal, sent: CampaignPublic, count: int, extra: dict[str, Any]
    ) -> None:
        await events.emit(
            conn,
            tenant=user.tenant,
            event_type=events.CAMPAIGN_SENT,
            aggregate_type="campaign",
            aggregate_id=sent.id,
            payload={
                "campaign_id": str(sent.id),
                "name": sent.name,
                "channel": sent.channel.value,
                "subject": sent.subject,
                "recipient_count": count,
                "sent_by": user.sub,
                **extra,
            },
        )


campaigns_service = CampaignService(CAMPAIGNS)
