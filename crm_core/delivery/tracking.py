"""What recipients and providers tell us after delivery: opens, clicks, unsubscribes, bounces, complaints.

Every function runs in the delivery's tenant transaction (the token or the webhook URL names the tenant) and
is idempotent where the world repeats itself: a second unsubscribe or a replayed webhook changes nothing.
Opens from mailbox prefetchers (Apple Mail Privacy Protection, Gmail's image proxy, Yahoo's) are stored with
``machine = true`` and never counted as human opens: they are recognised by user agent, or by arriving within
:data:`PREFETCH_WINDOW` of the delivery (MPP fetches every image as the message lands).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

import asyncpg

from crm_core.delivery import queue
from crm_core.services import events
from infra.db.tenancy import TenantContext

PREFETCH_WINDOW = timedelta(seconds=5)
PREFETCHERS = re.compile(
    r"GoogleImageProxy|YahooMailProxy|ggpht\.com|Outlook-iOS|Mail/\d+ CFNetwork|^Mozilla/5\.0$", re.IGNORECASE
)

DELIVERY_SQL = """
SELECT d.id, d.campaign_id, d.contact_id, d.variant, d.email, d.state, d.sent_at
FROM crm.email_deliveries d WHERE d.tid = $1 AND d.mid = $2 AND d.id = $3
"""

EVENT_SQL = """
INSERT INTO crm.email_events (tid, whid, mid, delivery_id, campaign_id, contact_id, variant, kind, machine, url,
                              detail, external_ref, occurred_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (tid, mid, external_ref) DO NOTHING
RETURNING id
"""

SEEN_SQL = """
SELECT EXISTS (
    SELECT 1 FROM crm.email_events
    WHERE tid = $1 AND mid = $2 AND delivery_id = $3 AND kind = $4 AND machine = $5
      AND ($6::text IS NULL OR url = $6)
)
"""

CONSENT_OFF_SQL = """
UPDATE crm.contacts SET consent_marketing = false, updated_at = now(), version = version + 1
WHERE tid = $1 AND mid = $2 AND id = $3 AND consent_marketing
RETURNING id
"""

CONSENT_HISTORY_SQL = """
INSERT INTO crm.consent_history (tid, whid, mid, contact_id, purpose, granted, source, evidence, occurred_at)
VALUES ($1, $2, $3, $4, 'marketing_email', false, $5, $6, $7)
"""

BOUNCE_STATE_SQL = """
UPDATE crm.email_deliveries SET state = 'bounced', reason = $4, updated_at = now()
WHERE tid = $1 AND mid = $2 AND id = $3 AND state IN ('sent', 'sending', 'deferred', 'queued')
"""


@dataclass(frozen=True, slots=True)
class Delivery:
    id: UUID
    campaign_id: UUID
    contact_id: UUID
    variant: str
    email: str | None
    state: str
    sent_at: datetime | None


async def delivery(conn: asyncpg.Connection, tenant: TenantContext, delivery_id: UUID) -> Delivery | None:
    row = await conn.fetchrow(DELIVERY_SQL, tenant.tid, tenant.mid, delivery_id)
    return Delivery(**dict(row)) if row is not None else None


def is_machine_open(user_agent: str | None, sent_at: datetime | None, now: datetime) -> bool:
    if user_agent is not None and PREFETCHERS.search(user_agent.strip()):
        return True
    return sent_at is not None and now - sent_at < PREFETCH_WINDOW


async def _event(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    d: Delivery,
    kind: str,
    now: datetime,
    *,
    machine: bool = False,
    url: str | None = None,
    detail: dict[str, Any] | None = None,
    external_ref: str | None = None,
) -> bool:
    """Store one tracking event; ``False`` when ``external_ref`` was seen before (a replay)."""
    inserted = await conn.fetchval(
        EVENT_SQL,
        tenant.tid,
        tenant.whid,
        tenant.mid,
        d.id,
        d.campaign_id,
        d.contact_id,
        d.variant,
        kind,
        machine,
        url,
        detail or {},
        external_ref,
        now,
    )
    return inserted is not None


async def _publish(conn: asyncpg.Connection, tenant: TenantContext, d: Delivery, kind: str, **payload: Any) -> None:
    event = queue.email_event(
        kind, campaign_id=d.campaign_id, delivery_id=d.id, contact_id=d.contact_id, variant=d.variant, **payload
    )
    await events.emit_many(conn, tenant=tenant, events=[event])


async def _seen(
    conn: asyncpg.Connection, tenant: TenantContext, d: Delivery, kind: str, machine: bool, url: str | None = None
) -> bool:
    return bool(await conn.fetchval(SEEN_SQL, tenant.tid, tenant.mid, d.id, kind, machine, url))


async def record_open(
    conn: asyncpg.Connection, tenant: TenantContext, d: Delivery, *, user_agent: str | None, now: datetime
) -> bool:
    """Store an open; publish ``marketing.email.opened`` for the first of its kind (human or machine)."""
    machine = is_machine_open(user_agent, d.sent_at, now)
    first = not await _seen(conn, tenant, d, "opened", machine)
    await _event(conn, tenant, d, "opened", now, machine=machine, detail={"user_agent": (user_agent or "")[:300]})
    if first:
        await _publish(conn, tenant, d, "opened", machine=machine, occurred_at=now.isoformat())
    return machine


async def record_click(
    conn: asyncpg.Connection, tenant: TenantContext, d: Delivery, *, url: str, user_agent: str | None, now: datetime
) -> None:
    """Store a click (a click is also a human open when none was seen); publish the first click per link."""
    if not await _seen(conn, tenant, d, "opened", False):
        await _event(conn, tenant, d, "opened", now, detail={"implied_by": "click"})
        await _publish(conn, tenant, d, "opened", machine=False, occurred_at=now.isoformat())
    first = not await _seen(conn, tenant, d, "clicked", False, url)
    await _event(conn, tenant, d, "clicked", now, url=url, detail={"user_agent": (user_agent or "")[:300]})
    if first:
        await _publish(conn, tenant, d, "clicked", url=url, occurred_at=now.isoformat())


async def unsubscribe(
    conn: asyncpg.Connection, tenant: TenantContext, d: Delivery, *, source: str, now: datetime
) -> bool:
    """Suppress the address, turn marketing consent off (with a history row); ``False`` if already done."""
    if not d.email:
        return False
    added = await queue.suppress(conn, tenant=tenant, emails=[d.email], reason="unsubscribe", source=source)
    consent_changed = await conn.fetchval(CONSENT_OFF_SQL, tenant.tid, tenant.mid, d.contact_id)
    if consent_changed is not None:
        await conn.execute(
            CONSENT_HISTORY_SQL,
            tenant.tid,
            tenant.whid,
            tenant.mid,
            d.contact_id,
            source,
            {"campaign_id": str(d.campaign_id), "delivery_id": str(d.id)},
            now,
        )
    if not added and consent_changed is None:
        return False
    await _event(conn, tenant, d, "unsubscribed", now, detail={"source": source})
    await _publish(conn, tenant, d, "unsubscribed", source=source, occurred_at=now.isoformat())
    return True


class ProviderEventType(StrEnum):
    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    REPLY = "reply"  # an inbound reply the provider matched to our message: ends sequences that exit on replies


async def provider_event(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    d: Delivery,
    *,
    event_id: str,
    kind: ProviderEventType,
    hard: bool,
    reason: str | None,
    now: datetime,
) -> bool:
    """A bounce, complaint or reply a provider reported; ``False`` for a replay (the same provider event id)."""
    ref = f"provider:{event_id}"
    stored_kind = {"bounce": "bounced", "complaint": "complained", "reply": "replied"}[kind.value]
    detail = {"hard": hard, "reason": reason, "source": "webhook"}
    if not await _event(conn, tenant, d, stored_kind, now, detail=detail, external_ref=ref):
        return False
    if kind is ProviderEventType.BOUNCE:
        if hard:
            await conn.execute(BOUNCE_STATE_SQL, tenant.tid, tenant.mid, d.id, reason or "bounced (provider)")
            if d.email:
                await queue.suppress(conn, tenant=tenant, emails=[d.email], reason="hard_bounce", source="webhook")
        await _publish(conn, tenant, d, "bounced", hard=hard, reason=reason, source="webhook")
        return True
    if kind is ProviderEventType.REPLY:
        return True
    if d.email:
        await queue.suppress(conn, tenant=tenant, emails=[d.email], reason="complaint", source="webhook")
    await unsubscribe(conn, tenant, d, source="complaint", now=now)
    await _publish(conn, tenant, d, "complained", reason=reason)
    return True
