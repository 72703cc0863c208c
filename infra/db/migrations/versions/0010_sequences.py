"""Sequences (automations): multi-step journeys per contact, durable in PostgreSQL.

``crm.sequences`` holds a journey's trigger and steps (JSON, validated by the API); ``crm.sequence_enrollments``
one row per contact and sequence with the step it is at and when it is next due. Runners pick due rows with
``FOR UPDATE SKIP LOCKED`` and run each step in the same transaction that advances the row, so a step's effect
(a queued e-mail, a score change, an activity) happens exactly once, and a restart resumes where it stopped.
Both tables carry ``tid/whid/mid`` under forced RLS; ``vettify_worker`` may read only the scheduling columns of
enrolments, to find which tenants have due work.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

APP_ROLE = "vettify_app"
WORKER_ROLE = "vettify_worker"
TENANT_POLICY = "tid = current_setting('app.tid', true) AND (whid = current_setting('app.whid', true) OR whid IS NULL)"
TENANT_COLUMNS = """
    tid text NOT NULL CHECK (tid <> ''),
    whid text CHECK (whid <> ''),
    mid text NOT NULL CHECK (mid <> ''),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()"""

TABLES = {
    "crm.sequences": f"""({TENANT_COLUMNS},
        version integer NOT NULL DEFAULT 1 CHECK (version > 0),
        deleted_at timestamptz,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
        trigger jsonb NOT NULL CHECK (jsonb_typeof(trigger) = 'object'),
        steps jsonb NOT NULL CHECK (jsonb_typeof(steps) = 'array'),
        exit_on text[] NOT NULL DEFAULT '{{converted,unsubscribed,replied}}',
        attributes jsonb NOT NULL DEFAULT '{{}}'::jsonb,
        PRIMARY KEY (tid, mid, id)
    )""",
    "crm.sequence_enrollments": f"""({TENANT_COLUMNS},
        sequence_id uuid NOT NULL,
        contact_id uuid NOT NULL,
        state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'completed', 'exited')),
        step integer NOT NULL DEFAULT 0 CHECK (step >= 0),
        due_at timestamptz NOT NULL DEFAULT now(),
        waiting_since timestamptz,
        exit_reason text,
        source text NOT NULL,
        history jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(history) = 'array'),
        PRIMARY KEY (tid, mid, id),
        UNIQUE (tid, mid, sequence_id, contact_id),
        FOREIGN KEY (tid, mid, sequence_id) REFERENCES crm.sequences (tid, mid, id),
        FOREIGN KEY (tid, mid, contact_id) REFERENCES crm.contacts (tid, mid, id)
    )""",
}


def upgrade() -> None:
    for table, columns in TABLES.items():
        name = table.split(".")[1]
        op.execute(f"CREATE TABLE {table} {columns}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {name}_tenant_isolation ON {table} USING ({TENANT_POLICY}) WITH CHECK ({TENANT_POLICY})"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    op.execute(
        "CREATE INDEX sequence_enrollments_due_idx ON crm.sequence_enrollments (tid, mid, due_at) WHERE state = 'active'"
    )
    op.execute("CREATE INDEX sequence_enrollments_contact_idx ON crm.sequence_enrollments (tid, mid, contact_id)")
    op.execute("CREATE INDEX sequences_status_idx ON crm.sequences (tid, mid, status) WHERE deleted_at IS NULL")
    op.execute(f"GRANT SELECT (tid, whid, mid, state, due_at) ON crm.sequence_enrollments TO {WORKER_ROLE}")
    op.execute(
        f"CREATE POLICY sequence_enrollments_due_scan ON crm.sequence_enrollments FOR SELECT TO {WORKER_ROLE} "
        "USING (true)"
    )


def downgrade() -> None:
    op.execute("DROP POLICY sequence_enrollments_due_scan ON crm.sequence_enrollments")
    op.execute(f"REVOKE ALL ON crm.sequence_enrollments FROM {WORKER_ROLE}")
    for table in reversed(TABLES):
        op.execute(f"DROP TABLE {table}")
