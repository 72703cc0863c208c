"""Marketing spend per channel and period (ROAS, CPA, budget plans), and each web session step's channel.

``crm.channel_spend`` holds what a tenant spent per channel and period, imported over REST (JSON or CSV);
attribution divides attributed revenue by it (ROAS) and it by attributed conversions (CPA), and the budget
planner fits response curves on it. Aggregates only (no personal data); ``tid/whid/mid`` under forced RLS.
``ai.behavior_events.channel`` is the channel that brought a web session (utm_source or the referrer's
class; NULL: direct) or ``facebook`` for pixel events: the web touchpoints of multi-touch attribution.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None

APP_ROLE = "vettify_app"
TENANT_POLICY = "tid = current_setting('app.tid', true) AND (whid = current_setting('app.whid', true) OR whid IS NULL)"

TABLE = """crm.channel_spend (
    tid text NOT NULL CHECK (tid <> ''),
    whid text CHECK (whid <> ''),
    mid text NOT NULL CHECK (mid <> ''),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    channel text NOT NULL CHECK (channel ~ '^[a-z0-9_.-]{1,40}$'),
    period_start date NOT NULL,
    period_end date NOT NULL CHECK (period_end >= period_start),
    amount numeric(18, 2) NOT NULL CHECK (amount >= 0),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    source text NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'csv')),
    PRIMARY KEY (tid, mid, id)
)"""


def upgrade() -> None:
    op.execute(f"CREATE TABLE {TABLE}")
    op.execute("ALTER TABLE crm.channel_spend ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE crm.channel_spend FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY channel_spend_tenant_isolation ON crm.channel_spend USING ({TENANT_POLICY}) "
        f"WITH CHECK ({TENANT_POLICY})"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON crm.channel_spend TO {APP_ROLE}")
    op.execute("CREATE INDEX channel_spend_period_idx ON crm.channel_spend (tid, mid, period_start)")
    # One row per channel, period and currency in each branch (whid) or tenant-wide
    op.execute(
        "CREATE UNIQUE INDEX channel_spend_row_key ON crm.channel_spend "
        "(tid, mid, (coalesce(whid, '')), channel, period_start, period_end, currency)"
    )
    op.execute("ALTER TABLE ai.behavior_events ADD COLUMN channel text")
    op.execute(
        "CREATE INDEX behavior_events_account_idx ON ai.behavior_events (tid, mid, account_id, occurred_at) "
        "WHERE account_id IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ai.behavior_events_account_idx")
    op.execute("ALTER TABLE ai.behavior_events DROP COLUMN channel")
    op.execute("DROP TABLE crm.channel_spend")
