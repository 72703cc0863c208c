"""Stream lag per tenant: processed events by the time they were stored.

``GET /v1/insights/stream-lag`` (the dashboard's System view) reads the tenant's recently processed events
from ``ai.processed_events`` — each with the event's own time (``occurred_at``) and the time its processing
transaction stored it (``created_at``) — so "this tenant's rows of the last N minutes" is an index range.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("CREATE INDEX processed_events_recent_idx ON ai.processed_events (tid, mid, created_at)")


def downgrade() -> None:
    op.execute("DROP INDEX ai.processed_events_recent_idx")
