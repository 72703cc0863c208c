"""A content catalogue per tenant, embedded for similarity, and the interactions recommendations learn from.

``ai.catalog_items``: articles, offers, products, e-mail blocks, each with its text's embedding (384-d
MiniLM, HNSW for cosine). ``ai.item_stats``: per item, three counters kept with every interaction insert
(people who interacted, times it was recommended, clicks on it: popularity and the exploration posterior
without a scan); apart from the items so a counter update never touches the HNSW index (an update of an
indexed row re-inserts it into every index: 2 ms a row in HNSW).
``ai.item_interactions``: who (a contact, or an anonymous session) viewed, clicked, bought or was shown
which item, when; ``person`` is the one key both kinds share (``c:<contact id>`` or ``s:<session>``).
``ai.item_neighbours``: each item's most similar items by who interacted with them (implicit-feedback
cosine), recomputed from the interactions in the background, so a recommendation reads its collaborative
candidates from an index instead of joining everyone's interactions.
Interactions name people: personal data, reachable by contact id and session id. Both tables carry
``tid/whid/mid`` under forced RLS.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None

APP_ROLE = "vettify_app"
TENANT_POLICY = "tid = current_setting('app.tid', true) AND (whid = current_setting('app.whid', true) OR whid IS NULL)"
TENANT = """
    tid text NOT NULL CHECK (tid <> ''),
    whid text CHECK (whid <> ''),
    mid text NOT NULL CHECK (mid <> ''),
    created_at timestamptz NOT NULL DEFAULT now()"""

TABLES = {
    "ai.catalog_items": f"""({TENANT},
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        external_id text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 200),
        kind text NOT NULL CHECK (kind IN ('article', 'offer', 'product', 'email_block', 'other')),
        title text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
        description text,
        url text,
        in_stock boolean NOT NULL DEFAULT true,
        attributes jsonb NOT NULL DEFAULT '{{}}'::jsonb,
        embedding vector(384),
        model_version text,
        PRIMARY KEY (tid, mid, id),
        UNIQUE (tid, mid, external_id)
    )""",
    "ai.item_stats": f"""({TENANT},
        item_id uuid NOT NULL,
        people integer NOT NULL DEFAULT 0 CHECK (people >= 0),
        shown integer NOT NULL DEFAULT 0 CHECK (shown >= 0),
        clicks integer NOT NULL DEFAULT 0 CHECK (clicks >= 0),
        PRIMARY KEY (tid, mid, item_id),
        FOREIGN KEY (tid, mid, item_id) REFERENCES ai.catalog_items (tid, mid, id) ON DELETE CASCADE
    )""",
    "ai.item_interactions": f"""({TENANT},
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        item_id uuid NOT NULL,
        contact_id uuid,
        session_id text CHECK (length(session_id) BETWEEN 1 AND 200),
        person text GENERATED ALWAYS AS (COALESCE('c:' || contact_id::text, 's:' || session_id)) STORED,
        kind text NOT NULL CHECK (kind IN ('view', 'click', 'purchase', 'recommended')),
        occurred_at timestamptz NOT NULL DEFAULT now(),
        CHECK (contact_id IS NOT NULL OR session_id IS NOT NULL),
        PRIMARY KEY (tid, mid, id),
        FOREIGN KEY (tid, mid, item_id) REFERENCES ai.catalog_items (tid, mid, id) ON DELETE CASCADE
    )""",
    "ai.item_neighbours": f"""({TENANT},
        item_id uuid NOT NULL,
        neighbour_id uuid NOT NULL,
        score real NOT NULL,
        PRIMARY KEY (tid, mid, item_id, neighbour_id)
    )""",
}

INDEXES = [
    "CREATE INDEX catalog_items_embedding_idx ON ai.catalog_items "
    "USING hnsw (embedding vector_cosine_ops) WITH (m = 24, ef_construction = 200)",
    "CREATE INDEX item_stats_people_idx ON ai.item_stats (tid, mid, people DESC)",
    "CREATE INDEX item_interactions_person_idx ON ai.item_interactions (tid, mid, person, occurred_at DESC)",
    "CREATE INDEX item_interactions_item_idx ON ai.item_interactions (tid, mid, item_id, person)",
    "CREATE INDEX item_interactions_contact_idx ON ai.item_interactions (tid, mid, contact_id) "
    "WHERE contact_id IS NOT NULL",
]


def upgrade() -> None:
    for table, columns in TABLES.items():
        short = table.split(".")[1]
        op.execute(f"CREATE TABLE {table} {columns}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {short}_tenant_isolation ON {table} USING ({TENANT_POLICY}) WITH CHECK ({TENANT_POLICY})"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    for statement in INDEXES:
        op.execute(statement)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.execute(f"DROP TABLE {table}")
