"""Predictive lead scoring: each tenant's trained model and the comparison that decided whether it is used.

``crm.lead_scoring_models`` gets one row per training (``POST /v1/crm/lead-scoring/train`` and the daily
retrainer): which score the tenant's leads get (``uses``: ``model`` or ``rule``), why, the held-out comparison
(AUC of the model and of the rule on the tenant's newest leads), the model's coefficients (plain JSON, no
personal data) and the probability at which a lead qualifies. The newest row visible to a transaction is the
one in force; older rows stay as the history of decisions. ``whid`` is the branch the model was trained for
(null: the tenant's tenant-wide leads). Forced RLS like every tenant table. The worker role may see which
scopes have a model and when it was trained (``tid, whid, mid, created_at``), nothing else, to retrain them.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | None = None
depends_on: str | None = None

APP_ROLE = "vettify_app"
WORKER_ROLE = "vettify_worker"
TENANT_POLICY = "tid = current_setting('app.tid', true) AND (whid = current_setting('app.whid', true) OR whid IS NULL)"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE crm.lead_scoring_models (
            tid text NOT NULL CHECK (tid <> ''),
            whid text CHECK (whid <> ''),
            mid text NOT NULL CHECK (mid <> ''),
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            created_at timestamptz NOT NULL DEFAULT now(),
            uses text NOT NULL CHECK (uses IN ('model', 'rule')),
            reason text NOT NULL,
            outcomes integer NOT NULL CHECK (outcomes >= 0),
            converted integer NOT NULL CHECK (converted >= 0),
            comparison jsonb,
            model jsonb,
            threshold double precision CHECK (threshold IS NULL OR threshold BETWEEN 0 AND 1),
            trained_by text NOT NULL,
            CHECK (uses = 'rule' OR (model IS NOT NULL AND threshold IS NOT NULL)),
            PRIMARY KEY (tid, mid, id)
        )"""
    )
    op.execute("CREATE INDEX lead_scoring_models_latest_idx ON crm.lead_scoring_models (tid, mid, whid, created_at)")
    op.execute("ALTER TABLE crm.lead_scoring_models ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE crm.lead_scoring_models FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY lead_scoring_models_tenant_isolation ON crm.lead_scoring_models "
        f"USING ({TENANT_POLICY}) WITH CHECK ({TENANT_POLICY})"
    )
    op.execute(f"GRANT SELECT, INSERT ON crm.lead_scoring_models TO {APP_ROLE}")
    op.execute(f"GRANT SELECT (tid, whid, mid, created_at) ON crm.lead_scoring_models TO {WORKER_ROLE}")
    op.execute(
        "CREATE POLICY lead_scoring_models_scope_scan ON crm.lead_scoring_models "
        f"FOR SELECT TO {WORKER_ROLE} USING (true)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE crm.lead_scoring_models")
