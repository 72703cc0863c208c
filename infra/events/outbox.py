"""Transactional outbox: events written in the same transaction as the change.

A committed business row always has its event row; a rolled-back one never
does. Each row keeps the writer's trace context (``traceparent``, tracing on), so
the event's trace continues through the relay to its consumers. The relay that
publishes pending rows to the bus reads them in ``seq`` order, which preserves
per-aggregate order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from infra import tracing
from infra.db import rows_changed
from infra.db.tenancy import TenantContext


class OutboxEvent(BaseModel):
    """A row of ``crm.outbox``: one event waiting for (or past) publication."""

    id: UUID
    tid: str
    whid: str | None
    mid: str
    created_at: datetime
    updated_at: datetime
    seq: int
    aggregate_type: str
    aggregate_id: UUID
    event_type: str
    schema_version: int
    payload: dict[str, Any]
    corr_id: str | None
    occurred_at: datetime
    published_at: datetime | None
    attempts: int
    last_error: str | None
    traceparent: str | None = None  # the writer's trace (infra.tracing), continued by the relay


ENQUEUE_SQL = """
INSERT INTO crm.outbox
    (tid, whid, mid, aggregate_type, aggregate_id, event_type, schema_version, payload, corr_id, traceparent)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING *
"""

PENDING_SQL = """
SELECT * FROM crm.outbox
WHERE tid = $1 AND mid = $2 AND published_at IS NULL
ORDER BY seq
LIMIT $3
"""

MARK_PUBLISHED_SQL = """
UPDATE crm.outbox SET published_at = now(), attempts = attempts + 1, last_error = NULL
WHERE id = ANY($1::uuid[]) AND published_at IS NULL
"""

MARK_FAILED_SQL = """
UPDATE crm.outbox SET attempts = attempts + 1, last_error = $2
WHERE id = $1
"""


async def enqueue(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    event_type: str,
    aggregate_type: str,
    aggregate_id: UUID,
    payload: dict[str, Any],
    corr_id: str | None = None,
    schema_version: int = 1,
) -> OutboxEvent:
    row = await conn.fetchrow(
        ENQUEUE_SQL,
        tenant.tid,
        tenant.whid,
        tenant.mid,
        aggregate_type,
        aggregate_id,
        event_type,
        schema_version,
        payload,
        corr_id,
        tracing.current_traceparent(),
    )
    return OutboxEvent.model_validate(dict(row))


@dataclass(frozen=True, slots=True)
class NewEvent:
    event_type: str
    aggregate_type: str
    aggregate_id: UUID
    payload: dict[str, Any]


async def enqueue_many(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    events: Sequence[NewEvent],
    corr_id: str | None = None,
    schema_version: int = 1,
) -> None:
    """Queue several events in one pipelined round trip (a delivery wave's ``marketing.email.*``)."""
    if events:
        traceparent = tracing.current_traceparent()
        await conn.executemany(
            ENQUEUE_SQL.replace("RETURNING *", ""),
            [
                (
                    tenant.tid,
                    tenant.whid,
                    tenant.mid,
                    e.aggregate_type,
                    e.aggregate_id,
                    e.event_type,
                    schema_version,
                    e.payload,
                    corr_id,
                    traceparent,
                )
                for e in events
            ],
        )


async def pending(conn: asyncpg.Connection, *, tenant: TenantContext, limit: int = 100) -> list[OutboxEvent]:
    records = await conn.fetch(PENDING_SQL, tenant.tid, tenant.mid, limit)
    return [OutboxEvent.model_validate(dict(r)) for r in records]


async def mark_published(conn: asyncpg.Connection, *, ids: Sequence[UUID]) -> int:
    status = await conn.execute(MARK_PUBLISHED_SQL, list(ids))
    return rows_changed(status)


async def mark_failed(conn: asyncpg.Connection, *, id: UUID, error: str) -> None:
    await conn.execute(MARK_FAILED_SQL, id, error[:2000])
