"""Outbox relay: publishes committed outbox rows to the bus, in ``seq`` order.

At-least-once: a row is marked published only after the bus confirmed it; a
crash in between republishes it (consumers dedupe by event id). One relay runs
at a time (a transaction-scoped advisory lock), and a failed publish stops the
batch there, so events of one aggregate are never reordered.

It connects as a member of ``vettify_relay``, whose only cross-tenant right is
reading and marking ``crm.outbox`` rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import asyncpg
from opentelemetry.trace import SpanKind

from infra import tracing
from infra.events import outbox
from infra.events.bus import EventBus, InProcessBus
from infra.events.envelope import Envelope
from infra.loops import PollingLoop

logger = logging.getLogger(__name__)

RELAY_LOCK_KEY = 0x7E77_1F1  # arbitrary, constant: "one relay at a time"

CLAIM_SQL = """
SELECT * FROM crm.outbox
WHERE published_at IS NULL
ORDER BY seq
LIMIT $1
"""


@dataclass
class RelayStats:
    published: int = 0
    failed: int = 0


def envelope_of(row: asyncpg.Record) -> Envelope:
    return Envelope(
        id=row["id"],
        type=row["event_type"],
        tid=row["tid"],
        whid=row["whid"],
        mid=row["mid"],
        occurred_at=row["occurred_at"],
        corr_id=row["corr_id"],
        schema_version=row["schema_version"],
        payload=row["payload"],
    )


@contextmanager
def publish_span(row: asyncpg.Record) -> Iterator[None]:
    """Publishing continues the trace of the change that wrote the row (when it was traced): the bus sends
    this span's ``traceparent`` as a message header."""
    parent = tracing.context_from({tracing.TRACEPARENT: row["traceparent"]})
    if parent is None:
        yield
        return
    attributes = {
        "messaging.system": "vettify",
        "messaging.operation.type": "publish",
        "messaging.destination.name": row["event_type"],
        "messaging.message.id": str(row["id"]),
        "vettify.tid": row["tid"],
    }
    with tracing.span(f"publish {row['event_type']}", kind=SpanKind.PRODUCER, parent=parent, attributes=attributes):
        yield


class OutboxRelay(PollingLoop):
    task_name = "outbox-relay"

    def __init__(
        self, pool: asyncpg.Pool, bus: EventBus | InProcessBus, *, batch_size: int = 200, idle_sleep_s: float = 0.2
    ) -> None:
        self.pool = pool
        self.bus = bus
        self.batch_size = batch_size
        self.idle_sleep_s = idle_sleep_s
        self.stats = RelayStats()

    async def run_once(self) -> int:
        """Publish one batch; returns how many rows were published."""
        async with self.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", RELAY_LOCK_KEY):
                return 0
            rows = await conn.fetch(CLAIM_SQL, self.batch_size)
            done = []
            for row in rows:
                try:
                    with publish_span(row):
                        await self.bus.publish(envelope_of(row))
                except Exception as exc:
                    logger.warning("outbox relay: publishing %s (%s) failed: %s", row["id"], row["event_type"], exc)
                    await outbox.mark_failed(conn, id=row["id"], error=f"{type(exc).__name__}: {exc}")
                    self.stats.failed += 1
                    break
                done.append(row["id"])
            if done:
                await outbox.mark_published(conn, ids=done)
        self.stats.published += len(done)
        return len(done)

    def more_waiting(self, done: int) -> bool:
        return done >= self.batch_size  # a full batch: more may be pending
