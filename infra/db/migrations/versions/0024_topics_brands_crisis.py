"""Topics, watched brands and crisis alerts over social mentions.

* ``ai.topics``: one brand's topics (:mod:`models.topics.online`): the centroid of its mentions' vectors,
  how many joined it, and its words' counts for the label (no handles, links or addresses: a label never
  names a person). A mention's topic is ``ai.social_insights.topic_id``; when two topics merge, the smaller
  one's mentions move to the larger and its row goes.
* ``ai.watched_brands``: the tenant's own brands and competitors with their aliases, and the PostgreSQL
  pattern that matches any of them in folded text (:func:`models.topics.brands.sql_pattern`). A mention
  stores the watched brands it names in ``ai.social_insights.brands_named`` (share of voice counts them).
* ``ai.brand_hourly``: per brand and hour, mentions, negative mentions, and the negatives' summed reach and
  summed ``ln(1 + reach)``: the baseline a crisis is measured against (:mod:`models.topics.crisis`), read as
  at most 169 rows instead of a week of mentions. Filled here from the mentions already stored.
* ``ai.brand_sentiment_state`` gains ``in_crisis``, ``crisis_changed_at`` and ``crisis`` (the figures of the
  latest assessment).

The three new tables are tenant-wide (``whid`` null: a brand is the tenant's, whichever branch's stream
mentioned it) under the same forced row-level security as every tenant table.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | None = None
depends_on: str | None = None

APP_ROLE = "vettify_app"
TENANT_POLICY = "tid = current_setting('app.tid', true) AND (whid = current_setting('app.whid', true) OR whid IS NULL)"
TENANT = """
    tid text NOT NULL CHECK (tid <> ''),
    whid text CHECK (whid <> ''),
    mid text NOT NULL CHECK (mid <> '')"""
# What a mention's reach is for a crisis: engagement when reported, else the reach model's expectation.
REACH = "coalesce(engagement::float8, (reach->>'expected_engagement')::float8)"
TABLES = {
    "ai.topics": (
        f"""
        CREATE TABLE ai.topics ({TENANT},
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            brand text NOT NULL,
            centroid vector(384) NOT NULL,
            size integer NOT NULL CHECK (size > 0),
            terms jsonb NOT NULL DEFAULT '{{}}',
            created_at timestamptz NOT NULL,  -- its earliest mention's time (an import may backdate it)
            last_mention_at timestamptz NOT NULL,
            PRIMARY KEY (tid, mid, id)
        )""",
        "SELECT, INSERT, UPDATE, DELETE",
    ),
    "ai.watched_brands": (
        f"""
        CREATE TABLE ai.watched_brands ({TENANT},
            name text NOT NULL CHECK (name <> ''),
            aliases text[] NOT NULL DEFAULT '{{}}',
            own boolean NOT NULL DEFAULT false,
            pattern text NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tid, mid, name)
        )""",
        "SELECT, INSERT, UPDATE, DELETE",
    ),
    "ai.brand_hourly": (
        f"""
        CREATE TABLE ai.brand_hourly ({TENANT},
            brand text NOT NULL,
            hour timestamptz NOT NULL,
            mentions integer NOT NULL DEFAULT 0,
            negative integer NOT NULL DEFAULT 0,
            negative_reach float8 NOT NULL DEFAULT 0,
            negative_log_reach float8 NOT NULL DEFAULT 0,
            PRIMARY KEY (tid, mid, brand, hour)
        )""",
        "SELECT, INSERT, UPDATE",
    ),
}
BACKFILL_HOURLY = f"""
INSERT INTO ai.brand_hourly (tid, whid, mid, brand, hour, mentions, negative, negative_reach, negative_log_reach)
SELECT tid, NULL, mid, brand, date_trunc('hour', posted_at), count(*),
       count(*) FILTER (WHERE negative),
       coalesce(sum(r) FILTER (WHERE negative), 0),
       coalesce(sum(ln(1 + r)) FILTER (WHERE negative), 0)
FROM (
    SELECT tid, mid, brand, posted_at, sentiment = 'negative' AND supported AS negative,
           -- a mention without a known reach counts as the brand's mean known one (0 when none is known)
           greatest(coalesce({REACH}, avg({REACH}) OVER (PARTITION BY tid, mid, brand), 0), 0) AS r
    FROM ai.social_insights
) m
GROUP BY tid, mid, brand, date_trunc('hour', posted_at)
"""


def upgrade() -> None:
    for table, (create, privileges) in TABLES.items():
        short = table.split(".")[1]
        op.execute(create)
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {short}_tenant_isolation ON {table} USING ({TENANT_POLICY}) WITH CHECK ({TENANT_POLICY})"
        )
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
    op.execute("CREATE INDEX topics_brand_idx ON ai.topics (tid, mid, brand)")
    op.execute(
        """
        ALTER TABLE ai.social_insights
            ADD COLUMN topic_id uuid,
            ADD COLUMN brands_named text[] NOT NULL DEFAULT '{}'
        """
    )
    op.execute(
        "CREATE INDEX social_insights_topic_time_idx ON ai.social_insights (tid, mid, topic_id, posted_at) "
        "WHERE topic_id IS NOT NULL"
    )
    op.execute("CREATE INDEX social_insights_brands_named_idx ON ai.social_insights USING gin (brands_named)")
    op.execute(f"GRANT UPDATE (topic_id, brands_named) ON ai.social_insights TO {APP_ROLE}")
    op.execute(
        """
        ALTER TABLE ai.brand_sentiment_state
            ADD COLUMN in_crisis boolean NOT NULL DEFAULT false,
            ADD COLUMN crisis_changed_at timestamptz,
            ADD COLUMN crisis jsonb
        """
    )
    op.execute(BACKFILL_HOURLY)


def downgrade() -> None:
    op.execute("ALTER TABLE ai.brand_sentiment_state DROP COLUMN crisis, DROP COLUMN crisis_changed_at, "
               "DROP COLUMN in_crisis")  # fmt: skip
    op.execute(f"REVOKE UPDATE (topic_id, brands_named) ON ai.social_insights FROM {APP_ROLE}")
    op.execute("DROP INDEX ai.social_insights_brands_named_idx")
    op.execute("DROP INDEX ai.social_insights_topic_time_idx")
    op.execute("ALTER TABLE ai.social_insights DROP COLUMN brands_named, DROP COLUMN topic_id")
    for table in reversed(TABLES):
        op.execute(f"DROP TABLE {table}")
