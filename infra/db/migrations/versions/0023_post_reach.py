"""Content reach on publish: each mention's platform id, its engagement as last reported, its reach score.

* ``post_id``: the platform's id of the post (``social.*`` payloads carry it), so later engagement counts
  (``social.post.engagement``) find the stored mention. Retention empties it with the author.
* ``engagement`` (likes + shares + comments) and ``engagement_at`` (when the counts were read): the newest
  report wins. The author's posts with known engagement are the history the next post's score reads.
* ``reach``: the score at publish (``models.reach``): expected engagement, the author's typical engagement,
  the lift, how much history it read, whether the text was used, the model.
* ``ai.decisions.kind`` gains ``reach`` (a post's reach score) and ``lead_score`` (a lead scored by its
  tenant's own model when qualified), both recorded with the output they explain.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | None = None
depends_on: str | None = None

APP_ROLE = "vettify_app"
OLD_KINDS = "'sentiment', 'call_analysis', 'churn_score', 'price_change', 'recommendation'"
KINDS = f"{OLD_KINDS}, 'reach', 'lead_score'"


def _kinds(kinds: str) -> None:
    op.execute("ALTER TABLE ai.decisions DROP CONSTRAINT decisions_kind_check")
    op.execute(f"ALTER TABLE ai.decisions ADD CONSTRAINT decisions_kind_check CHECK (kind IN ({kinds}))")


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE ai.social_insights
            ADD COLUMN post_id text,
            ADD COLUMN engagement bigint CHECK (engagement >= 0),
            ADD COLUMN engagement_at timestamptz,
            ADD COLUMN reach jsonb
        """
    )
    op.execute("CREATE INDEX social_insights_post_idx ON ai.social_insights (tid, mid, platform, post_id)")
    op.execute(
        "CREATE INDEX social_insights_author_history_idx ON ai.social_insights (tid, mid, platform, author, posted_at) "
        "WHERE author IS NOT NULL"
    )
    op.execute(f"GRANT UPDATE (post_id, engagement, engagement_at) ON ai.social_insights TO {APP_ROLE}")
    _kinds(KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM ai.decisions WHERE kind IN ('reach', 'lead_score')")
    _kinds(OLD_KINDS)
    op.execute(f"REVOKE UPDATE (post_id, engagement, engagement_at) ON ai.social_insights FROM {APP_ROLE}")
    op.execute("DROP INDEX ai.social_insights_author_history_idx")
    op.execute("DROP INDEX ai.social_insights_post_idx")
    op.execute("ALTER TABLE ai.social_insights DROP COLUMN reach, DROP COLUMN engagement_at, "
               "DROP COLUMN engagement, DROP COLUMN post_id")  # fmt: skip
