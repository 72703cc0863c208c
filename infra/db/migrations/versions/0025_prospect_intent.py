"""Prospect intent from LinkedIn activity (``social.linkedin.signal``).

* ``ai.prospects``: one row per person seen acting, recognised across activities by ``person_key``
  (:meth:`models.prospects.matching.Person.key`: profile URL, else e-mail, else name at company). Its match to
  the CRM (``matched`` with the contact/lead/account and the evidence's basis and confidence; ``unmatched``,
  kept and matched again when the next activity arrives or on request; ``conflict``, with the candidate records
  in ``candidates`` for a person to choose; ``confirmed``, chosen by a person and never re-matched). Its intent:
  ``weighted`` (the model's weighted sum of decayed activity at ``scored_at``, which fades with time on read),
  ``score`` then, ``top_signals``, and the last score published as ``crm.linkedin.prospect.scored``.
* ``ai.prospect_signals``: each activity (kind, when, the user of ours it involved, the payload's details).
  ``vettify_worker`` may read which tenants have prospects due a new match (``match_status``, ``matched_at``).
* ``ai.intent_models``: the tenant's intent weights (:class:`models.prospects.intent.IntentModel`) and when
  they were learned.

Tenant-wide (``whid`` null, like topics: a prospect is the tenant's whichever branch's feed saw them) under the
same forced row-level security as every tenant table. Personal data: the erasure and export paths reach both
tables by contact, lead, e-mail and profile.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | None = None
depends_on: str | None = None

APP_ROLE = "vettify_app"
WORKER_ROLE = "vettify_worker"
TENANT_POLICY = "tid = current_setting('app.tid', true) AND (whid = current_setting('app.whid', true) OR whid IS NULL)"
TENANT = """
    tid text NOT NULL CHECK (tid <> ''),
    whid text CHECK (whid <> ''),
    mid text NOT NULL CHECK (mid <> '')"""
KINDS = (
    "'profile_view', 'post_reaction', 'post_comment', 'company_follow', 'job_change', 'message_reply', 'event_signup'"
)
TABLES = {
    "ai.prospects": f"""
        CREATE TABLE ai.prospects ({TENANT},
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            person_key text NOT NULL,
            profile_url text,
            email text,
            name text,
            company text,
            headline text,
            match_status text NOT NULL DEFAULT 'unmatched'
                CHECK (match_status IN ('matched', 'unmatched', 'conflict', 'confirmed')),
            match_basis text,
            match_confidence real,
            candidates jsonb NOT NULL DEFAULT '[]',
            matched_at timestamptz,
            contact_id uuid,
            lead_id uuid,
            account_id uuid,
            weighted float8 NOT NULL DEFAULT 0,
            score real NOT NULL DEFAULT 0,
            scored_at timestamptz,
            top_signals jsonb NOT NULL DEFAULT '[]',
            published_score real,
            published_at timestamptz,
            first_seen timestamptz NOT NULL,
            last_seen timestamptz NOT NULL,
            PRIMARY KEY (tid, mid, id),
            UNIQUE (tid, mid, person_key)
        )""",
    "ai.prospect_signals": f"""
        CREATE TABLE ai.prospect_signals ({TENANT},
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            prospect_id uuid NOT NULL,
            event_id uuid NOT NULL,
            kind text NOT NULL CHECK (kind IN ({KINDS})),
            user_ref text,
            occurred_at timestamptz NOT NULL,
            detail jsonb NOT NULL DEFAULT '{{}}',
            PRIMARY KEY (tid, mid, id),
            FOREIGN KEY (tid, mid, prospect_id) REFERENCES ai.prospects (tid, mid, id) ON DELETE CASCADE
        )""",
    "ai.intent_models": f"""
        CREATE TABLE ai.intent_models ({TENANT},
            model jsonb NOT NULL,
            trained_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tid, mid)
        )""",
}


def upgrade() -> None:
    for table, create in TABLES.items():
        short = table.split(".")[1]
        op.execute(create)
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {short}_tenant_isolation ON {table} USING ({TENANT_POLICY}) WITH CHECK ({TENANT_POLICY})"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    op.execute("CREATE INDEX prospects_contact_idx ON ai.prospects (tid, mid, contact_id) WHERE contact_id IS NOT NULL")
    op.execute("CREATE INDEX prospects_lead_idx ON ai.prospects (tid, mid, lead_id) WHERE lead_id IS NOT NULL")
    op.execute("CREATE INDEX prospects_account_idx ON ai.prospects (tid, mid, account_id) WHERE account_id IS NOT NULL")
    op.execute("CREATE INDEX prospects_status_idx ON ai.prospects (tid, mid, match_status)")
    # the matcher's scan (streams.prospects.ProspectMatcher): which tenants have prospects due a new match
    op.execute(f"GRANT SELECT (tid, whid, mid, match_status, matched_at) ON ai.prospects TO {WORKER_ROLE}")
    op.execute(f"CREATE POLICY prospects_rematch_scan ON ai.prospects FOR SELECT TO {WORKER_ROLE} USING (true)")
    op.execute("CREATE INDEX prospects_rematch_idx ON ai.prospects (matched_at) "
               "WHERE match_status IN ('unmatched', 'conflict')")  # fmt: skip
    op.execute("CREATE INDEX prospect_signals_prospect_idx ON ai.prospect_signals (tid, mid, prospect_id, occurred_at)")
    op.execute("CREATE INDEX prospect_signals_user_idx ON ai.prospect_signals (tid, mid, user_ref, occurred_at)")


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON ai.prospects FROM {WORKER_ROLE}")
    for table in reversed(TABLES):
        op.execute(f"DROP TABLE {table}")
