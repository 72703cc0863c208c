"""``POST /v1/crm/campaigns/{id}/preview?contact_id=``: one recipient's message, rendered exactly as it would send."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from crm_core.delivery import queue
from crm_core.delivery.worker import DeliveryConfig, render_recipient, sender_of
from infra.db.tenancy import TenantContext
from infra.errors import InvalidInput, NotFound

SHOWN_HEADERS = ("From", "To", "Reply-To", "Subject", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post")


@dataclass(frozen=True, slots=True)
class Preview:
    variant: str
    subject: str
    text: str
    html: str | None
    headers: dict[str, str]


async def preview(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    campaign_id: UUID,
    contact_id: UUID,
    variant: str | None,
    config: DeliveryConfig,
) -> Preview:
    campaign = (await queue.campaigns(conn, tenant=tenant, ids=[campaign_id])).get(campaign_id)
    if campaign is None or campaign["deleted_at"] is not None:
        raise NotFound(f"no campaign with id {campaign_id}")
    keys = [v["key"] for v in campaign["variants"] or []]
    chosen = variant if variant is not None else (keys[0] if keys else "")
    if chosen not in (keys or [""]):
        raise InvalidInput(f"unknown variant {chosen!r}; the campaign has {keys or 'no variants'}")
    row = await queue.preview_row(conn, tenant=tenant, campaign_id=campaign_id, contact_id=contact_id, variant=chosen)
    if row is None:
        raise NotFound(f"no contact with id {contact_id}")
    sender = sender_of(await queue.sender(conn, tenant=tenant), config.default_sender)
    composed = render_recipient(
        config, tenant, row, campaign, to=row["email"] or "(no address)", sender=sender, variant=chosen
    )
    return Preview(
        variant=chosen,
        subject=composed.subject,
        text=composed.text,
        html=composed.html,
        headers={name: value for name, value in composed.headers if name in SHOWN_HEADERS},
    )
