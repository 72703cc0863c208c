"""The dashboard's live stream: a wake-up for every committed outbox row, and the tenant's rows in order.

The live stream (``dashboard/live.py``) sends each tenant its committed ``crm.*`` events from
``crm.outbox``, resuming after the last ``seq`` a browser saw. ``outbox_tenant_seq_idx`` makes "this
tenant's rows after N" an index range. The trigger ``NOTIFY``s ``vettify_outbox`` with the row's tenant
id when a row is inserted; PostgreSQL delivers it only when the inserting transaction commits, and folds
identical payloads of one transaction into one, so a stream wakes once per committed batch and then reads
the rows itself, under the tenant's RLS. The payload is the tenant id alone (no event data).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None

CHANNEL = "vettify_outbox"


def upgrade() -> None:
    op.execute("CREATE INDEX outbox_tenant_seq_idx ON crm.outbox (tid, mid, seq)")
    op.execute(
        f"""
        CREATE FUNCTION crm.notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', NEW.tid);
            RETURN NULL;
        END
        $$"""
    )
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON crm.outbox FOR EACH ROW EXECUTE FUNCTION crm.notify_outbox()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER outbox_notify ON crm.outbox")
    op.execute("DROP FUNCTION crm.notify_outbox()")
    op.execute("DROP INDEX crm.outbox_tenant_seq_idx")
