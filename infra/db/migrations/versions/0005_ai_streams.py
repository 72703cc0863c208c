"""The ``ai`` schema the stream processors write: insights, embeddings, ledger, dead letters.

Every table carries ``tid``/``whid``/``mid`` with forced row-level security and
the standard tenant policy, like the ``crm`` tables. Idempotency has one home:
``ai.processed_events`` (key ``(tid, mid, id)`` = the event id). A processor
claims the event id in the same transaction as its writes and its outbox rows,
so a redelivered event finds the claim and changes nothing.

Embeddings are ``vector(384)`` (all-MiniLM-L6-v2, L2-normalised) with HNSW
indexes for cosine distance. Dead letters keep the raw body and the reason, one
row per distinct body (a redelivered bad event is stored once); the application
role may insert them for any tenant (an event that failed its tenant checks
still has to land somewhere) and read only its own tenant's.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

APP_ROLE = "vettify_app"
TENANT_POLICY = "tid = current_setting('app.tid', true) AND (whid = current_setting('app.whid', true) OR whid IS NULL)"

TENANT = """
    tid text NOT NULL CHECK (tid <> ''),
    whid text CHECK (whid <> ''),
    mid text NOT NULL CHECK (mid <> ''),
    created_at timestamptz NOT NULL DEFAULT now()"""

TABLES = [
    f"""
    CREATE TABLE ai.processed_events ({TENANT},
        id uuid NOT NULL,
        event_type text NOT NULL,
        source text NOT NULL,
        occurred_at timestamptz NOT NULL,
        PRIMARY KEY (tid, mid, id)
    )""",
    f"""
    CREATE TABLE ai.social_insights ({TENANT},
        id uuid NOT NULL,
        event_type text NOT NULL,
        platform text NOT NULL,
        brand text NOT NULL,
        account_id uuid,
        author text,
        url text,
        text text NOT NULL,
        posted_at timestamptz NOT NULL,
        sentiment text NOT NULL CHECK (sentiment IN ('negative', 'neutral', 'positive')),
        sentiment_score real NOT NULL,
        probabilities jsonb NOT NULL,
        truncated boolean NOT NULL DEFAULT false,
        embedding vector(384) NOT NULL,
        PRIMARY KEY (tid, mid, id)
    )""",
    f"""
    CREATE TABLE ai.brand_sentiment_state ({TENANT},
        brand text NOT NULL,
        in_spike boolean NOT NULL DEFAULT false,
        changed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tid, mid, brand)
    )""",
    f"""
    CREATE TABLE ai.call_analyses ({TENANT},
        id uuid NOT NULL,
        call_id text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('voice', 'video')),
        account_id uuid,
        recorded_at timestamptz NOT NULL,
        duration_s real,
        transcript text,
        sentiment text CHECK (sentiment IN ('negative', 'neutral', 'positive')),
        sentiment_score real,
        words_per_minute real,
        talk_ratio real,
        keywords jsonb NOT NULL DEFAULT '[]'::jsonb,
        engagement real,
        attention real,
        dominant_emotion text,
        analysis jsonb NOT NULL,
        embedding vector(384),
        PRIMARY KEY (tid, mid, id)
    )""",
    f"""
    CREATE TABLE ai.behavior_events ({TENANT},
        id uuid NOT NULL,
        source text NOT NULL,
        session_id text NOT NULL,
        visitor_id text,
        account_id uuid,
        action text NOT NULL,
        page text,
        value numeric(18, 2),
        occurred_at timestamptz NOT NULL,
        PRIMARY KEY (tid, mid, id)
    )""",
    f"""
    CREATE TABLE ai.behavior_patterns ({TENANT},
        session_id text NOT NULL,
        visitor_id text,
        account_id uuid,
        journey text NOT NULL,
        steps integer NOT NULL CHECK (steps > 0),
        started_at timestamptz NOT NULL,
        last_seen_at timestamptz NOT NULL,
        converted boolean NOT NULL DEFAULT false,
        nearest_session_id text,
        conversion_propensity real,
        embedding vector(384) NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tid, mid, session_id)
    )""",
    f"""
    CREATE TABLE ai.churn_scores ({TENANT},
        account_id uuid NOT NULL,
        probability real NOT NULL,
        bucket text NOT NULL CHECK (bucket IN ('low', 'medium', 'high')),
        model_version text NOT NULL,
        scored_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tid, mid, account_id)
    )""",
    """
    CREATE TABLE ai.dead_letters (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tid text,
        whid text,
        mid text,
        received_at timestamptz NOT NULL DEFAULT now(),
        source text NOT NULL,
        reason text NOT NULL,
        event_id uuid,
        event_type text,
        raw bytea NOT NULL,
        digest bytea NOT NULL UNIQUE
    )""",
]

# m/ef_construction above pgvector's defaults (16/64): on 100k MiniLM vectors they raise recall@10 at
# ef_search 200 from 0.84 to 0.96 (benchmarks/streams.py) for a slower build and insert.
HNSW = "USING hnsw (embedding vector_cosine_ops) WITH (m = 24, ef_construction = 200)"

INDEXES = [
    f"CREATE INDEX social_insights_embedding_idx ON ai.social_insights {HNSW}",
    "CREATE INDEX social_insights_brand_time_idx ON ai.social_insights (tid, mid, brand, posted_at)",
    "CREATE INDEX social_insights_account_time_idx ON ai.social_insights (tid, mid, account_id, posted_at)",
    f"CREATE INDEX call_analyses_embedding_idx ON ai.call_analyses {HNSW}",
    "CREATE INDEX call_analyses_account_time_idx ON ai.call_analyses (tid, mid, account_id, recorded_at)",
    "CREATE INDEX behavior_events_session_idx ON ai.behavior_events (tid, mid, session_id, occurred_at)",
    f"CREATE INDEX behavior_patterns_embedding_idx ON ai.behavior_patterns {HNSW}",
    "CREATE INDEX dead_letters_tenant_idx ON ai.dead_letters (tid, received_at)",
]

RLS_TABLES = {
    "ai.processed_events": "SELECT, INSERT",
    "ai.social_insights": "SELECT, INSERT",
    "ai.brand_sentiment_state": "SELECT, INSERT, UPDATE",
    "ai.call_analyses": "SELECT, INSERT",
    "ai.behavior_events": "SELECT, INSERT",
    "ai.behavior_patterns": "SELECT, INSERT, UPDATE",
    "ai.churn_scores": "SELECT, INSERT, UPDATE",
}


def upgrade() -> None:
    for statement in TABLES + INDEXES:
        op.execute(statement)
    for table, privileges in RLS_TABLES.items():
        short = table.split(".")[1]
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {short}_tenant_isolation ON {table} USING ({TENANT_POLICY}) WITH CHECK ({TENANT_POLICY})"
        )
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
    op.execute("ALTER TABLE ai.dead_letters ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE ai.dead_letters FORCE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY dead_letters_insert_any ON ai.dead_letters FOR INSERT WITH CHECK (true)")
    op.execute(f"CREATE POLICY dead_letters_read_own ON ai.dead_letters FOR SELECT USING ({TENANT_POLICY})")
    op.execute(f"GRANT SELECT, INSERT ON ai.dead_letters TO {APP_ROLE}")


def downgrade() -> None:
    for table in ["ai.dead_letters", *reversed(RLS_TABLES)]:
        op.execute(f"DROP TABLE {table}")
