"""Batch jobs (``vettify batch``): which embedding model made each vector, and resumable job runs.

* ``embedding_model`` on ``ai.social_insights`` and ``ai.behavior_patterns``: the model version that computed
  the row's vector (``NULL``: stored before this revision, so unknown and due for ``vettify batch embed``).
  The stream processors write it; the embed job redoes only rows whose value differs from its model's.
* ``ai.batch_runs``: one row per job run and tenant (``tid/whid/mid`` under forced RLS like every table). It
  holds the run's key-ordered pages, fixed when the run starts, and the pages already written; a page is
  marked in the same transaction as its rows, so a run resumed after a crash redoes nothing it committed.
  Bad rows are kept as ``{"id", "reason"}`` (ids and reasons, never the row's text).
* ``--all-tenants`` lists tenants through the worker role: it may read the tenant columns (``tid, whid, mid``)
  of mentions and journeys (accounts: already, for the compliance worker), nothing else; every page is then read and written inside its own
  tenant's transaction by the application role.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | None = None
depends_on: str | None = None

APP_ROLE = "vettify_app"
WORKER_ROLE = "vettify_worker"
TENANT_POLICY = "tid = current_setting('app.tid', true) AND (whid = current_setting('app.whid', true) OR whid IS NULL)"
VERSIONED = ("ai.social_insights", "ai.behavior_patterns")
TENANT_SCANS = ("ai.social_insights", "ai.behavior_patterns")  # crm.accounts: the compliance worker's (0003)
JOBS = "'embed', 'score-churn', 'analyze-calls'"


def upgrade() -> None:
    for table in VERSIONED:
        op.execute(f"ALTER TABLE {table} ADD COLUMN embedding_model text")
        op.execute(f"GRANT UPDATE (embedding, embedding_model) ON {table} TO {APP_ROLE}")
    op.execute(
        f"""
        CREATE TABLE ai.batch_runs (
            tid text NOT NULL CHECK (tid <> ''),
            whid text CHECK (whid <> ''),
            mid text NOT NULL CHECK (mid <> ''),
            created_at timestamptz NOT NULL DEFAULT now(),
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            job text NOT NULL CHECK (job IN ({JOBS})),
            target text NOT NULL,
            params jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            pages jsonb NOT NULL,
            done_pages integer[] NOT NULL DEFAULT '{{}}',
            rows_written bigint NOT NULL DEFAULT 0,
            rows_unchanged bigint NOT NULL DEFAULT 0,
            bad jsonb NOT NULL DEFAULT '[]'::jsonb,
            state text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'finished')),
            updated_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz,
            PRIMARY KEY (tid, mid, id)
        )"""
    )
    op.execute(
        "CREATE INDEX batch_runs_open_idx ON ai.batch_runs (tid, mid, job, target, created_at) WHERE state = 'running'"
    )
    op.execute("ALTER TABLE ai.batch_runs ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE ai.batch_runs FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY batch_runs_tenant_isolation ON ai.batch_runs USING ({TENANT_POLICY}) WITH CHECK ({TENANT_POLICY})"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON ai.batch_runs TO {APP_ROLE}")
    op.execute(f"GRANT USAGE ON SCHEMA ai TO {WORKER_ROLE}")
    for table in TENANT_SCANS:
        short = table.split(".")[1]
        op.execute(f"GRANT SELECT (tid, whid, mid) ON {table} TO {WORKER_ROLE}")
        op.execute(f"CREATE POLICY {short}_tenant_scan ON {table} FOR SELECT TO {WORKER_ROLE} USING (true)")


def downgrade() -> None:
    for table in TENANT_SCANS:
        short = table.split(".")[1]
        op.execute(f"DROP POLICY {short}_tenant_scan ON {table}")
        op.execute(f"REVOKE SELECT (tid, whid, mid) ON {table} FROM {WORKER_ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA ai FROM {WORKER_ROLE}")
    op.execute("DROP TABLE ai.batch_runs")
    for table in VERSIONED:
        op.execute(f"ALTER TABLE {table} DROP COLUMN embedding_model")
