"""Trace context on outbox rows: an event's trace continues from the change that wrote it to its consumers.

``crm.outbox.traceparent`` holds the W3C ``traceparent`` of the span that enqueued the event (``NULL`` when
tracing is off or the writer was not traced). The relay publishes the row under a span continuing it and
sends it as the message's ``traceparent`` header (:mod:`infra.tracing`). It names trace and span ids only,
no personal data; the column is covered by the table's existing grants and row-level security.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE crm.outbox ADD COLUMN traceparent text CHECK (length(traceparent) <= 128)")


def downgrade() -> None:
    op.execute("ALTER TABLE crm.outbox DROP COLUMN traceparent")
