"""Campaign delivery: content, one delivery row per recipient, suppressions, tracking events, consent history.

``crm.campaigns`` gains ``html`` (the HTML body; ``body`` stays the plain-text alternative), ``variants`` (A/B
content with weights) and ``personal_block``. New tables, each with ``tid/whid/mid`` under forced RLS:

* ``crm.mail_senders``: a tenant's From, display name and Reply-To (one tenant-wide, and optionally one per
  warehouse/branch, which wins for that branch's sends);
* ``crm.email_deliveries``: one row per campaign recipient with its state machine
  (``queued → sending → sent | deferred | bounced | failed | suppressed``), attempts, the next attempt's time and
  the lease a worker holds on it;
* ``crm.email_suppressions``: addresses never mailed again (hard bounces, complaints, unsubscribes); always
  stored tenant-wide (``whid`` null), so every branch's sends see them;
* ``crm.email_events``: delivered/opened/clicked/bounced/unsubscribed/complained per delivery, with the provider's
  event id as ``external_ref`` so a replayed webhook changes nothing;
* ``crm.consent_history``: append-only consent changes per contact and purpose.

The delivery worker finds which tenants have due work through ``vettify_worker`` (SELECT on the scheduling
columns of ``crm.email_deliveries`` only); everything else it does runs in that tenant's transaction.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
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

DELIVERY_STATES = "'queued', 'sending', 'sent', 'deferred', 'bounced', 'failed', 'suppressed'"
EVENT_KINDS = "'delivered', 'opened', 'clicked', 'bounced', 'unsubscribed', 'complained', 'replied'"

NEW_TABLES: list[tuple[str, str, str]] = [
    (
        "crm.mail_senders",
        "SELECT, INSERT, UPDATE, DELETE",
        f"""({TENANT_COLUMNS},
        from_address text NOT NULL CHECK (position('@' IN from_address) > 1),
        from_name text,
        reply_to text CHECK (reply_to IS NULL OR position('@' IN reply_to) > 1),
        PRIMARY KEY (tid, mid, id)
    )""",
    ),
    (
        "crm.email_deliveries",
        "SELECT, INSERT, UPDATE, DELETE",
        f"""({TENANT_COLUMNS},
        campaign_id uuid NOT NULL,
        contact_id uuid NOT NULL,
        variant text NOT NULL DEFAULT '',
        email text,
        state text NOT NULL DEFAULT 'queued' CHECK (state IN ({DELIVERY_STATES})),
        attempts smallint NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        lease_until timestamptz,
        smtp_code smallint,
        reason text,
        sent_at timestamptz,
        PRIMARY KEY (tid, mid, id),
        UNIQUE (tid, mid, campaign_id, contact_id),
        FOREIGN KEY (tid, mid, campaign_id) REFERENCES crm.campaigns (tid, mid, id),
        FOREIGN KEY (tid, mid, contact_id) REFERENCES crm.contacts (tid, mid, id)
    )""",
    ),
    (
        "crm.email_suppressions",
        "SELECT, INSERT, UPDATE, DELETE",
        f"""({TENANT_COLUMNS},
        email text NOT NULL CHECK (email = lower(email) AND position('@' IN email) > 1),
        CHECK (whid IS NULL),
        reason text NOT NULL CHECK (reason IN ('hard_bounce', 'complaint', 'unsubscribe', 'manual')),
        source text,
        PRIMARY KEY (tid, mid, id),
        UNIQUE (tid, mid, email)
    )""",
    ),
    (
        "crm.email_events",
        "SELECT, INSERT",
        f"""({TENANT_COLUMNS},
        delivery_id uuid NOT NULL,
        campaign_id uuid NOT NULL,
        contact_id uuid NOT NULL,
        variant text NOT NULL DEFAULT '',
        kind text NOT NULL CHECK (kind IN ({EVENT_KINDS})),
        machine boolean NOT NULL DEFAULT false,
        url text,
        detail jsonb NOT NULL DEFAULT '{{}}'::jsonb,
        external_ref text,
        occurred_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tid, mid, id),
        UNIQUE (tid, mid, external_ref),
        FOREIGN KEY (tid, mid, delivery_id) REFERENCES crm.email_deliveries (tid, mid, id)
    )""",
    ),
    (
        "crm.consent_history",
        "SELECT, INSERT",
        f"""({TENANT_COLUMNS},
        contact_id uuid NOT NULL,
        purpose text NOT NULL CHECK (purpose IN ('marketing_email', 'profiling', 'call_analysis')),
        granted boolean NOT NULL,
        source text NOT NULL,
        evidence jsonb NOT NULL DEFAULT '{{}}'::jsonb,
        occurred_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tid, mid, id),
        FOREIGN KEY (tid, mid, contact_id) REFERENCES crm.contacts (tid, mid, id)
    )""",
    ),
]

INDEXES = [
    "CREATE UNIQUE INDEX mail_senders_scope_idx ON crm.mail_senders (tid, mid, (coalesce(whid, '')))",
    "CREATE INDEX email_deliveries_due_idx ON crm.email_deliveries (tid, mid, next_attempt_at) "
    "WHERE state IN ('queued', 'deferred', 'sending')",
    "CREATE INDEX email_deliveries_campaign_idx ON crm.email_deliveries (tid, mid, campaign_id, state)",
    "CREATE INDEX email_deliveries_contact_idx ON crm.email_deliveries (tid, mid, contact_id)",
    "CREATE INDEX email_events_campaign_idx ON crm.email_events (tid, mid, campaign_id, kind)",
    "CREATE INDEX email_events_delivery_idx ON crm.email_events (tid, mid, delivery_id, kind)",
    "CREATE INDEX consent_history_contact_idx ON crm.consent_history (tid, mid, contact_id, occurred_at)",
]


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE crm.campaigns
            ADD COLUMN html text CHECK (html IS NULL OR length(html) <= 500000),
            ADD COLUMN variants jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(variants) = 'array'),
            ADD COLUMN personal_block text
        """
    )
    for table, grants, columns in NEW_TABLES:
        name = table.split(".")[1]
        op.execute(f"CREATE TABLE {table} {columns}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {name}_tenant_isolation ON {table} USING ({TENANT_POLICY}) WITH CHECK ({TENANT_POLICY})"
        )
        op.execute(f"GRANT {grants} ON {table} TO {APP_ROLE}")
    for statement in INDEXES:
        op.execute(statement)
    op.execute(
        f"GRANT SELECT (tid, whid, mid, state, next_attempt_at, lease_until) ON crm.email_deliveries TO {WORKER_ROLE}"
    )
    op.execute(
        f"CREATE POLICY email_deliveries_due_scan ON crm.email_deliveries FOR SELECT TO {WORKER_ROLE} USING (true)"
    )


def downgrade() -> None:
    op.execute("DROP POLICY email_deliveries_due_scan ON crm.email_deliveries")
    op.execute(f"REVOKE ALL ON crm.email_deliveries FROM {WORKER_ROLE}")
    for table, _, _ in reversed(NEW_TABLES):
        op.execute(f"DROP TABLE {table}")
    op.execute("ALTER TABLE crm.campaigns DROP COLUMN personal_block, DROP COLUMN variants, DROP COLUMN html")
