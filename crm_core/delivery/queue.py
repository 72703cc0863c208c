"""The delivery rows' SQL: enqueue a campaign's recipients, claim due work, record what SMTP said.

Enqueueing is one ``INSERT … SELECT`` from the contacts (100k recipients never pass through Python). Each
recipient gets a variant by a deterministic hash of (campaign, contact) against the variants' weights, so a
re-send or a second worker never moves anyone to another arm.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from infra.db.tenancy import TenantContext
from infra.events.outbox import NewEvent

EMAIL_PATTERN = r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
EMAIL_RE = re.compile(EMAIL_PATTERN)  # the same rule in Python, re-checked at send time


class State(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DEFERRED = "deferred"
    BOUNCED = "bounced"
    FAILED = "failed"
    SUPPRESSED = "suppressed"


PENDING_STATES = (State.QUEUED, State.SENDING, State.DEFERRED)

ENQUEUE_SQL = f"""
WITH chosen AS (
    SELECT c.id, c.email FROM crm.contacts c
    WHERE c.tid = $1 AND c.mid = $2 AND c.deleted_at IS NULL AND c.consent_marketing
      AND ($4::uuid[] IS NULL OR c.id = ANY($4::uuid[]))
      AND ($5::uuid IS NULL OR c.account_id = $5)
    ORDER BY c.id
    LIMIT $6
), added AS (
    INSERT INTO crm.email_deliveries (tid, whid, mid, campaign_id, contact_id, variant, email, state, reason)
    SELECT $1, $3, $2, $7::uuid, chosen.id,
        COALESCE((
            SELECT v.key FROM unnest($8::text[], $9::float8[]) AS v(key, upper)
            WHERE ((hashtextextended($7::uuid::text || chosen.id::text, 0) & 9007199254740991)::float8
                   / 9007199254740992.0) < v.upper
            ORDER BY v.upper LIMIT 1), ''),
        lower(chosen.email),
        CASE WHEN chosen.email IS NULL OR chosen.email !~ '{EMAIL_PATTERN}' THEN 'failed' ELSE 'queued' END,
        CASE WHEN chosen.email IS NULL THEN 'no e-mail address'
             WHEN chosen.email !~ '{EMAIL_PATTERN}' THEN 'invalid e-mail address' END
    FROM chosen
    ON CONFLICT (tid, mid, campaign_id, contact_id) DO NOTHING
    RETURNING state
)
SELECT count(*) AS recipients, count(*) FILTER (WHERE state = 'queued') AS queued FROM added
"""

DUE_TENANTS_SQL = """
SELECT DISTINCT tid, whid, mid FROM crm.email_deliveries
WHERE state IN ('queued', 'deferred', 'sending') AND next_attempt_at <= $1
  AND (lease_until IS NULL OR lease_until < $1)
LIMIT 1000
"""

RECIPIENT_SQL = """
SELECT cl.id, cl.campaign_id, cl.contact_id, cl.variant, cl.state, cl.attempts,
       c.email, c.first_name, c.last_name, c.title, c.phone, c.attributes,
       c.consent_marketing AND c.deleted_at IS NULL AS consenting,
       a.name AS account_name, a.city AS account_city, a.industry AS account_industry,
       a.domain AS account_domain, a.country AS account_country, a.cui AS account_cui,
       l.score AS lead_score, l.status AS lead_status, l.source AS lead_source, l.company_name AS lead_company_name,
       s.reason AS suppressed
FROM {source} cl
JOIN crm.contacts c ON c.tid = cl.tid AND c.mid = cl.mid AND c.id = cl.contact_id
LEFT JOIN crm.accounts a ON a.tid = c.tid AND a.mid = c.mid AND a.id = c.account_id
LEFT JOIN LATERAL (
    SELECT score, status, source, company_name FROM crm.leads l
    WHERE l.tid = c.tid AND l.mid = c.mid AND l.deleted_at IS NULL
      AND (l.converted_contact_id = c.id OR (c.email IS NOT NULL AND lower(l.email) = lower(c.email)))
    ORDER BY l.updated_at DESC LIMIT 1
) l ON true
LEFT JOIN crm.email_suppressions s ON s.tid = cl.tid AND s.mid = cl.mid AND s.email = lower(c.email)
ORDER BY cl.next_attempt_at, cl.id
"""

CLAIM_SQL = """
WITH due AS (
    SELECT id FROM crm.email_deliveries
    WHERE tid = $1 AND mid = $2 AND state IN ('queued', 'deferred', 'sending') AND next_attempt_at <= $3
      AND (lease_until IS NULL OR lease_until < $3)
    ORDER BY next_attempt_at, id
    LIMIT $4
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE crm.email_deliveries d SET lease_until = $3 + make_interval(secs => $5), updated_at = now()
    FROM due WHERE d.tid = $1 AND d.mid = $2 AND d.id = due.id
    RETURNING d.*
)
""" + RECIPIENT_SQL.format(source="claimed")

PREVIEW_SQL = """
WITH one AS (
    SELECT $3::uuid AS id, $4::uuid AS campaign_id, c.id AS contact_id, $5::text AS variant, 'queued'::text AS state,
           0 AS attempts, c.tid, c.mid, now() AS next_attempt_at
    FROM crm.contacts c WHERE c.tid = $1 AND c.mid = $2 AND c.id = $6 AND c.deleted_at IS NULL
)
""" + RECIPIENT_SQL.format(source="one")

CAMPAIGNS_SQL = """
SELECT id, name, subject, body, html, variants, personal_block, status, deleted_at, version
FROM crm.campaigns WHERE tid = $1 AND mid = $2 AND id = ANY($3::uuid[])
"""

SENDER_SQL = """
SELECT from_address, from_name, reply_to FROM crm.mail_senders WHERE tid = $1 AND mid = $2
ORDER BY whid NULLS LAST LIMIT 1
"""

MARK_SENDING_SQL = """
UPDATE crm.email_deliveries d SET state = 'sending', attempts = d.attempts + 1, email = r.email, updated_at = now()
FROM unnest($3::uuid[], $4::text[]) AS r(id, email)
WHERE d.tid = $1 AND d.mid = $2 AND d.id = r.id
"""

MARK_RESULTS_SQL = """
UPDATE crm.email_deliveries d
SET state = r.state, smtp_code = r.code, reason = r.reason, next_attempt_at = r.next_at, lease_until = NULL,
    sent_at = CASE WHEN r.state = 'sent' THEN $3 ELSE d.sent_at END, updated_at = now()
FROM unnest($4::uuid[], $5::text[], $6::int[], $7::text[], $8::timestamptz[]) AS r(id, state, code, reason, next_at)
WHERE d.tid = $1 AND d.mid = $2 AND d.id = r.id
"""

EVENTS_SQL = """
INSERT INTO crm.email_events (tid, whid, mid, delivery_id, campaign_id, contact_id, variant, kind, detail, occurred_at)
SELECT $1, $2, $3, r.delivery_id, r.campaign_id, r.contact_id, r.variant, r.kind, r.detail, $4
FROM unnest($5::uuid[], $6::uuid[], $7::uuid[], $8::text[], $9::text[], $10::jsonb[])
    AS r(delivery_id, campaign_id, contact_id, variant, kind, detail)
"""

SUPPRESS_SQL = """
INSERT INTO crm.email_suppressions (tid, mid, email, reason, source)
SELECT $1, $2, r.email, $3, $4 FROM unnest($5::text[]) AS r(email)
ON CONFLICT (tid, mid, email) DO NOTHING
RETURNING 1
"""

FINISH_CAMPAIGNS_SQL = """
UPDATE crm.campaigns cp SET status = 'sent', updated_at = now(), version = cp.version + 1
WHERE cp.tid = $1 AND cp.mid = $2 AND cp.id = ANY($3::uuid[]) AND cp.status = 'sending'
  AND NOT EXISTS (
      SELECT 1 FROM crm.email_deliveries d
      WHERE d.tid = cp.tid AND d.mid = cp.mid AND d.campaign_id = cp.id
        AND d.state IN ('queued', 'sending', 'deferred'))
RETURNING cp.id
"""


@dataclass(frozen=True, slots=True)
class Enqueued:
    recipients: int
    queued: int


async def enqueue(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    campaign_id: UUID,
    contact_ids: Sequence[UUID] | None,
    account_id: UUID | None,
    limit: int,
    variants: Sequence[tuple[str, float]],
) -> Enqueued:
    """One delivery row per consenting contact (a missing or invalid address is ``failed`` with the reason)."""
    total = sum(w for _, w in variants)
    keys, uppers, running = [], [], 0.0
    for key, weight in variants:
        running += weight / total
        keys.append(key)
        uppers.append(running)
    if uppers:
        uppers[-1] = 2.0  # rounding never leaves a recipient without an arm
    row = await conn.fetchrow(
        ENQUEUE_SQL,
        tenant.tid,
        tenant.mid,
        tenant.whid,
        list(contact_ids) if contact_ids is not None else None,
        account_id,
        limit,
        campaign_id,
        keys,
        uppers,
    )
    return Enqueued(recipients=int(row["recipients"]), queued=int(row["queued"]))


async def due_tenants(conn: asyncpg.Connection, *, now: datetime) -> list[TenantContext]:
    """Tenants with due deliveries (runs as ``vettify_worker``, which may read only the scheduling columns)."""
    rows = await conn.fetch(DUE_TENANTS_SQL, now)
    return [TenantContext(tid=r["tid"], mid=r["mid"], whid=r["whid"]) for r in rows]


async def claim(
    conn: asyncpg.Connection, *, tenant: TenantContext, now: datetime, limit: int, lease_s: float
) -> list[asyncpg.Record]:
    return list(await conn.fetch(CLAIM_SQL, tenant.tid, tenant.mid, now, limit, lease_s))


async def campaigns(conn: asyncpg.Connection, *, tenant: TenantContext, ids: Sequence[UUID]) -> dict[UUID, Any]:
    return {r["id"]: r for r in await conn.fetch(CAMPAIGNS_SQL, tenant.tid, tenant.mid, list(ids))}


async def sender(conn: asyncpg.Connection, *, tenant: TenantContext) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(SENDER_SQL, tenant.tid, tenant.mid)
    return row


async def mark_sending(
    conn: asyncpg.Connection, *, tenant: TenantContext, ids: Sequence[UUID], emails: Sequence[str]
) -> None:
    await conn.execute(MARK_SENDING_SQL, tenant.tid, tenant.mid, list(ids), list(emails))


@dataclass(frozen=True, slots=True)
class Result:
    id: UUID
    state: State
    code: int | None
    reason: str | None
    next_at: datetime


async def mark_results(
    conn: asyncpg.Connection, *, tenant: TenantContext, now: datetime, results: Sequence[Result]
) -> None:
    if not results:
        return
    await conn.execute(
        MARK_RESULTS_SQL,
        tenant.tid,
        tenant.mid,
        now,
        [r.id for r in results],
        [r.state.value for r in results],
        [r.code for r in results],
        [r.reason for r in results],
        [r.next_at for r in results],
    )


@dataclass(frozen=True, slots=True)
class EventRow:
    delivery_id: UUID
    campaign_id: UUID
    contact_id: UUID
    variant: str
    kind: str
    detail: dict[str, Any]


def email_event(
    kind: str, *, campaign_id: UUID, delivery_id: UUID, contact_id: UUID, variant: str, **detail: Any
) -> NewEvent:
    """A ``marketing.email.<kind>`` outbox event about one delivery (the one payload shape they all share)."""
    return NewEvent(
        event_type=f"marketing.email.{kind}",
        aggregate_type="campaign",
        aggregate_id=campaign_id,
        payload={
            "campaign_id": str(campaign_id),
            "delivery_id": str(delivery_id),
            "contact_id": str(contact_id),
            "variant": variant,
            **detail,
        },
    )


async def add_events(
    conn: asyncpg.Connection, *, tenant: TenantContext, now: datetime, events: Sequence[EventRow]
) -> None:
    if not events:
        return
    await conn.execute(
        EVENTS_SQL,
        tenant.tid,
        tenant.whid,
        tenant.mid,
        now,
        [e.delivery_id for e in events],
        [e.campaign_id for e in events],
        [e.contact_id for e in events],
        [e.variant for e in events],
        [e.kind for e in events],
        [e.detail for e in events],
    )


async def suppress(
    conn: asyncpg.Connection, *, tenant: TenantContext, emails: Sequence[str], reason: str, source: str
) -> int:
    """Never mail these addresses again (tenant-wide); returns how many were not suppressed before."""
    if not emails:
        return 0
    added = await conn.fetch(SUPPRESS_SQL, tenant.tid, tenant.mid, reason, source, [e.lower() for e in emails])
    return len(added)


async def finish_campaigns(conn: asyncpg.Connection, *, tenant: TenantContext, ids: Sequence[UUID]) -> list[UUID]:
    """Campaigns with nothing left to deliver move from ``sending`` to ``sent``."""
    return [r["id"] for r in await conn.fetch(FINISH_CAMPAIGNS_SQL, tenant.tid, tenant.mid, list(ids))]


async def preview_row(
    conn: asyncpg.Connection, *, tenant: TenantContext, campaign_id: UUID, contact_id: UUID, variant: str
) -> asyncpg.Record | None:
    """The merge data of one contact, shaped like a claimed delivery (for ``…/preview``); ``None``: no contact."""
    row: asyncpg.Record | None = await conn.fetchrow(
        PREVIEW_SQL, tenant.tid, tenant.mid, uuid4(), campaign_id, variant, contact_id
    )
    return row


LIST_SQL = """
SELECT id, contact_id, variant, email, state, attempts, next_attempt_at, smtp_code, reason, sent_at, updated_at
FROM crm.email_deliveries
WHERE tid = $1 AND mid = $2 AND campaign_id = $3 AND ($4::text IS NULL OR state = $4)
  AND ($5::uuid IS NULL OR id > $5)
ORDER BY id
LIMIT $6
"""


async def list_deliveries(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    campaign_id: UUID,
    state: State | None,
    after: UUID | None,
    limit: int,
) -> list[dict[str, Any]]:
    rows = await conn.fetch(LIST_SQL, tenant.tid, tenant.mid, campaign_id, state.value if state else None, after, limit)
    return [dict(r) for r in rows]
