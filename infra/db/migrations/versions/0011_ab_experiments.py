"""A/B experiments over campaign variants: their running state and each delivery's allocation epoch.

``crm.ab_experiments`` holds one row per e-mail campaign sent with two or more variants: the metric it is
judged on, its state (``running`` until a winner is declared or the campaign finishes), the allocations so
far (``epochs``: the weights each reallocation put on the still-queued recipients) and the last analysis.
``crm.email_deliveries.ab_epoch`` says under which allocation a recipient got their variant, so the
sample-ratio check compares what was sent with what those allocations should have given. The table holds
aggregates only (no personal data); it carries ``tid/whid/mid`` under forced RLS, and ``vettify_worker`` may
read its scheduling columns to find the running experiments.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

APP_ROLE = "vettify_app"
WORKER_ROLE = "vettify_worker"
TENANT_POLICY = "tid = current_setting('app.tid', true) AND (whid = current_setting('app.whid', true) OR whid IS NULL)"

TABLE = """crm.ab_experiments (
    tid text NOT NULL CHECK (tid <> ''),
    whid text CHECK (whid <> ''),
    mid text NOT NULL CHECK (mid <> ''),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    campaign_id uuid NOT NULL,
    metric text NOT NULL DEFAULT 'click' CHECK (metric IN ('open', 'click', 'conversion', 'revenue')),
    state text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'decided', 'finished')),
    epochs jsonb NOT NULL CHECK (jsonb_typeof(epochs) = 'array' AND jsonb_array_length(epochs) > 0),
    decision text,
    winner text,
    analysis jsonb,
    checked_at timestamptz,
    PRIMARY KEY (tid, mid, id),
    UNIQUE (tid, mid, campaign_id),
    FOREIGN KEY (tid, mid, campaign_id) REFERENCES crm.campaigns (tid, mid, id)
)"""


def upgrade() -> None:
    op.execute(f"CREATE TABLE {TABLE}")
    op.execute("ALTER TABLE crm.ab_experiments ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE crm.ab_experiments FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY ab_experiments_tenant_isolation ON crm.ab_experiments USING ({TENANT_POLICY}) "
        f"WITH CHECK ({TENANT_POLICY})"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON crm.ab_experiments TO {APP_ROLE}")
    op.execute("CREATE INDEX ab_experiments_running_idx ON crm.ab_experiments (checked_at) WHERE state = 'running'")
    op.execute(f"GRANT SELECT (tid, whid, mid, campaign_id, state, checked_at) ON crm.ab_experiments TO {WORKER_ROLE}")
    op.execute(
        f"CREATE POLICY ab_experiments_running_scan ON crm.ab_experiments FOR SELECT TO {WORKER_ROLE} USING (true)"
    )
    op.execute("ALTER TABLE crm.email_deliveries ADD COLUMN ab_epoch integer NOT NULL DEFAULT 0 CHECK (ab_epoch >= 0)")


def downgrade() -> None:
    op.execute("ALTER TABLE crm.email_deliveries DROP COLUMN ab_epoch")
    op.execute("DROP POLICY ab_experiments_running_scan ON crm.ab_experiments")
    op.execute(f"REVOKE ALL ON crm.ab_experiments FROM {WORKER_ROLE}")
    op.execute("DROP TABLE crm.ab_experiments")
