"""AI decision records: every stored model output names its model, version and a hash of its input.

``ai.decisions`` holds one row per decision a model made about a tenant's data — a mention's sentiment, a
call's analysis, an account's churn score, a price change, a recommendation shown — written in the same
transaction as the output it explains (``ref_id``: the stored output's id). ``input_hash`` is the SHA-256
of what the model read (the text, the recording's bytes, the feature vector as canonical JSON), so an
auditor can tell whether two decisions saw the same input without the record holding it. ``explanation``
is the model's own account where it has one (churn contributions, the price guard-rails that bound a change,
why a recommendation was personal or not). ``contact_id`` / ``account_id`` let erasure and the subject
export find a person's decisions. Forced RLS like every tenant table, with the privacy scope of 0018.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | None = None
depends_on: str | None = None

APP_ROLE = "vettify_app"
TENANT_POLICY = "tid = current_setting('app.tid', true) AND (whid = current_setting('app.whid', true) OR whid IS NULL)"
PRIVACY_SCOPE = "tid = current_setting('app.tid', true) AND current_setting('app.privacy_scope', true) = 'tenant'"
KINDS = "'sentiment', 'call_analysis', 'churn_score', 'price_change', 'recommendation'"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE ai.decisions (
            tid text NOT NULL CHECK (tid <> ''),
            whid text CHECK (whid <> ''),
            mid text NOT NULL CHECK (mid <> ''),
            created_at timestamptz NOT NULL DEFAULT now(),
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            kind text NOT NULL CHECK (kind IN ({KINDS})),
            ref_id uuid NOT NULL,
            contact_id uuid,
            account_id uuid,
            model text NOT NULL CHECK (model <> ''),
            model_version text NOT NULL CHECK (model_version <> ''),
            input_hash text NOT NULL CHECK (input_hash ~ '^sha256:[0-9a-f]{{64}}$'),
            output jsonb NOT NULL,
            explanation jsonb,
            PRIMARY KEY (tid, mid, id)
        )"""
    )
    op.execute("CREATE INDEX decisions_ref_idx ON ai.decisions (tid, mid, ref_id, created_at)")
    op.execute("CREATE INDEX decisions_contact_idx ON ai.decisions (tid, mid, contact_id) WHERE contact_id IS NOT NULL")
    op.execute("CREATE INDEX decisions_account_idx ON ai.decisions (tid, mid, account_id) WHERE account_id IS NOT NULL")
    op.execute("ALTER TABLE ai.decisions ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE ai.decisions FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY decisions_tenant_isolation ON ai.decisions USING ({TENANT_POLICY}) WITH CHECK ({TENANT_POLICY})"
    )
    op.execute(
        f"CREATE POLICY decisions_privacy_scope ON ai.decisions USING ({PRIVACY_SCOPE}) WITH CHECK ({PRIVACY_SCOPE})"
    )
    op.execute(f"GRANT SELECT, INSERT, DELETE ON ai.decisions TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP TABLE ai.decisions")
