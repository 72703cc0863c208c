"""Mentions and calls keep what the text models now say beyond a label: language, chunks read, aspects.

``ai.social_insights`` gains ``language`` (ISO 639-1 or ``und``), ``supported`` (false: a language the
sentiment model was not trained on, stored neutral with score 0 and left out of sentiment averages), ``chunks``
(encoder windows the mention was read in) and ``aspects`` (its sentences about price, quality, support,
delivery, onboarding, billing or competitor, each with its own sentiment). ``ai.call_analyses`` gains
``aspects`` over the transcript's sentences. Both tables already carry ``tid/whid/mid`` under forced RLS.

``ai.call_passages`` (new, ``tid/whid/mid`` under forced RLS like every ``ai`` table) keeps each chunk of a
call transcript with its own ``vector(384)`` and an HNSW index, for passage search
(``POST /v1/insights/calls/similar``); it goes with its call analysis (``ON DELETE CASCADE``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


APP_ROLE = "vettify_app"
TENANT_POLICY = "tid = current_setting('app.tid', true) AND (whid = current_setting('app.whid', true) OR whid IS NULL)"
HNSW = "USING hnsw (embedding vector_cosine_ops) WITH (m = 24, ef_construction = 200)"


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE ai.social_insights
            ADD COLUMN language text NOT NULL DEFAULT 'und',
            ADD COLUMN supported boolean NOT NULL DEFAULT true,
            ADD COLUMN chunks integer NOT NULL DEFAULT 1 CHECK (chunks >= 0),
            ADD COLUMN aspects jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(aspects) = 'array')
        """
    )
    op.execute(
        """
        ALTER TABLE ai.call_analyses
            ADD COLUMN aspects jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(aspects) = 'array')
        """
    )
    op.execute(
        """
        CREATE TABLE ai.call_passages (
            tid text NOT NULL CHECK (tid <> ''),
            whid text CHECK (whid <> ''),
            mid text NOT NULL CHECK (mid <> ''),
            created_at timestamptz NOT NULL DEFAULT now(),
            call_analysis_id uuid NOT NULL,
            passage integer NOT NULL CHECK (passage >= 0),
            text text NOT NULL,
            embedding vector(384) NOT NULL,
            PRIMARY KEY (tid, mid, call_analysis_id, passage),
            FOREIGN KEY (tid, mid, call_analysis_id) REFERENCES ai.call_analyses (tid, mid, id) ON DELETE CASCADE
        )
        """
    )
    op.execute(f"CREATE INDEX call_passages_embedding_idx ON ai.call_passages {HNSW}")
    op.execute("ALTER TABLE ai.call_passages ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE ai.call_passages FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY call_passages_tenant_isolation ON ai.call_passages USING ({TENANT_POLICY}) "
        f"WITH CHECK ({TENANT_POLICY})"
    )
    op.execute(f"GRANT SELECT, INSERT ON ai.call_passages TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP TABLE ai.call_passages")
    op.execute("ALTER TABLE ai.call_analyses DROP COLUMN aspects")
    op.execute(
        "ALTER TABLE ai.social_insights DROP COLUMN aspects, DROP COLUMN chunks, DROP COLUMN supported, "
        "DROP COLUMN language"
    )
