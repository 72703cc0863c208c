"""Mentions and calls keep what the text models now say beyond a label: language, chunks read, aspects.

``ai.social_insights`` gains ``language`` (ISO 639-1 or ``und``), ``supported`` (false: a language the
sentiment model was not trained on, stored neutral with score 0 and left out of sentiment averages), ``chunks``
(encoder windows the mention was read in) and ``aspects`` (its sentences about price, quality, support,
delivery, onboarding, billing or competitor, each with its own sentiment). ``ai.call_analyses`` gains
``aspects`` over the transcript's sentences. Both tables already carry ``tid/whid/mid`` under forced RLS;
an index on the account and time serves the per-account aspect roll-up.

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


def downgrade() -> None:
    op.execute("ALTER TABLE ai.call_analyses DROP COLUMN aspects")
    op.execute(
        "ALTER TABLE ai.social_insights DROP COLUMN aspects, DROP COLUMN chunks, DROP COLUMN supported, "
        "DROP COLUMN language"
    )
