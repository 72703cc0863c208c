"""Writes every processor shares: the idempotency ledger, published events, dead letters.

``claim`` inserts the event id into ``ai.processed_events`` inside the
processor's tenant transaction; when the id is already there (a redelivery, or
a concurrent consumer that committed first) it returns ``False`` and the
processor writes nothing. Published ``crm.*`` events go through the CRM core's
transactional outbox in the same transaction, so an event is published if and
only if its insight committed.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from infra.db.tenancy import TenantContext
from infra.errors import InvalidEvent
from infra.events import outbox
from infra.events.envelope import Envelope

logger = logging.getLogger(__name__)

CLAIM_SQL = """
INSERT INTO ai.processed_events (tid, whid, mid, id, event_type, source, occurred_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT DO NOTHING
RETURNING id
"""

SEEN_SQL = "SELECT 1 FROM ai.processed_events WHERE tid = $1 AND mid = $2 AND id = $3"

ACCOUNT_EXISTS_SQL = "SELECT 1 FROM crm.accounts WHERE tid = $1 AND mid = $2 AND id = $3 AND deleted_at IS NULL"

DEAD_LETTER_SQL = """
INSERT INTO ai.dead_letters (tid, whid, mid, source, reason, event_id, event_type, raw, digest)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""

MAX_RAW_BYTES = 4 * 1024 * 1024  # a dead letter keeps at most this much of the body


def tenant_of(event: Envelope) -> TenantContext:
    return TenantContext(tid=event.tid, mid=event.mid, whid=event.whid)


async def claim(conn: asyncpg.Connection, event: Envelope, source: str) -> bool:
    row = await conn.fetchval(
        CLAIM_SQL, event.tid, event.whid, event.mid, event.id, event.type, source, event.occurred_at
    )
    return row is not None


async def seen(conn: asyncpg.Connection, event: Envelope) -> bool:
    """Inside the event's tenant transaction (RLS hides other tenants' ledger rows, and unset, all rows)."""
    return bool(await conn.fetchval(SEEN_SQL, event.tid, event.mid, event.id))


async def account_exists(conn: asyncpg.Connection, tid: str, mid: str, account_id: UUID) -> bool:
    """Whether the tenant has this live account (RLS hides the others' accounts)."""
    return bool(await conn.fetchval(ACCOUNT_EXISTS_SQL, tid, mid, account_id))


async def require_account(conn: asyncpg.Connection, event: Envelope, account_id: UUID | None) -> None:
    """An event naming an account must name one of its own tenant (RLS hides the others' accounts)."""
    if account_id is not None and not await account_exists(conn, event.tid, event.mid, account_id):
        raise InvalidEvent(f"account {account_id} does not exist in tenant {event.tid}/{event.mid}")


async def publish(
    conn: asyncpg.Connection,
    event: Envelope,
    event_type: str,
    payload: BaseModel,
    *,
    aggregate_type: str,
    aggregate_id: UUID,
) -> None:
    """Enqueue a ``crm.*`` event in the outbox, correlated with the event that caused it."""
    await outbox.enqueue(
        conn,
        tenant=tenant_of(event),
        event_type=event_type,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        payload=payload.model_dump(mode="json"),
        corr_id=event.corr_id or str(event.id),
    )


async def dead_letter(
    pool: asyncpg.Pool,
    *,
    raw: bytes,
    source: str,
    reason: str,
    event_id: UUID | None = None,
    event_type: str | None = None,
    tenant: dict[str, Any] | None = None,
) -> None:
    """Store an event that cannot be processed, with why. The same body twice is stored once."""
    tenant = tenant or {}
    body = raw[:MAX_RAW_BYTES]
    digest = hashlib.sha256(raw).digest()
    # Not ON CONFLICT: under RLS that needs read access to the conflicting row, which may be another tenant's.
    async with pool.acquire() as conn:
        try:
            await conn.execute(
                DEAD_LETTER_SQL,
                _ident(tenant.get("tid")),
                _ident(tenant.get("whid")),
                _ident(tenant.get("mid")),
                source,
                reason[:8000],
                event_id,
                event_type,
                body,
                digest,
            )
        except asyncpg.UniqueViolationError:
            return  # this very body is already a dead letter
    logger.warning("dead-lettered %s event %s from %s: %s", event_type or "?", event_id or "?", source, reason[:300])


def _ident(value: object) -> str | None:
    return value[:128] if isinstance(value, str) and value.strip() else None
