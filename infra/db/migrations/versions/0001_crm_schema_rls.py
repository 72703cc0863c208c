"""CRM schema with forced row-level security; ``ai`` schema with pgvector.

Every table carries ``tid``, ``whid`` (nullable) and ``mid`` with the composite
primary key ``(tid, mid, id)``, and row-level security enabled *and forced* with
the standard tenant policy. ``current_setting(..., true)`` (missing_ok) makes a
connection that never set a tenant see no rows instead of failing on some
connections and not others; an empty setting (what remains after a ``SET LOCAL``
transaction ends) matches nothing either, because ``tid``/``whid`` are never ''.

The application connects as a member of the NOLOGIN role ``vettify_app``, which
owns nothing and holds only DML grants (``audit_log``: insert and select only).

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

APP_ROLE = "vettify_app"

TENANT_COLUMNS = """
    tid text NOT NULL CHECK (tid <> ''),
    whid text CHECK (whid <> ''),
    mid text NOT NULL CHECK (mid <> ''),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()"""

# Mutable business entities: optimistic concurrency (version) and soft delete.
ENTITY_COLUMNS = (
    TENANT_COLUMNS
    + """,
    version integer NOT NULL DEFAULT 1 CHECK (version > 0),
    deleted_at timestamptz"""
)

TENANT_POLICY = "tid = current_setting('app.tid', true) AND (whid = current_setting('app.whid', true) OR whid IS NULL)"

# (table, privileges granted to the application role)
TABLES: list[tuple[str, str]] = [
    ("crm.accounts", "SELECT, INSERT, UPDATE, DELETE"),
    ("crm.contacts", "SELECT, INSERT, UPDATE, DELETE"),
    ("crm.leads", "SELECT, INSERT, UPDATE, DELETE"),
    ("crm.opportunities", "SELECT, INSERT, UPDATE, DELETE"),
    ("crm.campaigns", "SELECT, INSERT, UPDATE, DELETE"),
    ("crm.campaign_recipients", "SELECT, INSERT, UPDATE, DELETE"),
    ("crm.activities", "SELECT, INSERT, UPDATE, DELETE"),
    ("crm.audit_log", "SELECT, INSERT"),
    ("crm.outbox", "SELECT, INSERT, UPDATE, DELETE"),
]

CREATE_TABLES = [
    f"""
    CREATE TABLE crm.accounts ({ENTITY_COLUMNS},
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
        cui text CHECK (cui ~ '^[0-9]{{2,10}}$'),
        domain text,
        industry text,
        country char(2) NOT NULL DEFAULT 'RO',
        city text,
        address text,
        phone text,
        owner_id text,
        compliance_status text NOT NULL DEFAULT 'unchecked'
            CHECK (compliance_status IN ('unchecked', 'pending', 'verified', 'not_found', 'inactive')),
        compliance_checked_at timestamptz,
        anaf_data jsonb,
        attributes jsonb NOT NULL DEFAULT '{{}}'::jsonb,
        PRIMARY KEY (tid, mid, id)
    )""",
    f"""
    CREATE TABLE crm.contacts ({ENTITY_COLUMNS},
        account_id uuid,
        first_name text NOT NULL CHECK (length(first_name) BETWEEN 1 AND 200),
        last_name text NOT NULL DEFAULT '',
        email text CHECK (email IS NULL OR position('@' IN email) > 1),
        phone text,
        title text,
        consent_marketing boolean NOT NULL DEFAULT false,
        attributes jsonb NOT NULL DEFAULT '{{}}'::jsonb,
        PRIMARY KEY (tid, mid, id),
        FOREIGN KEY (tid, mid, account_id) REFERENCES crm.accounts (tid, mid, id)
    )""",
    f"""
    CREATE TABLE crm.leads ({ENTITY_COLUMNS},
        first_name text,
        last_name text,
        email text CHECK (email IS NULL OR position('@' IN email) > 1),
        phone text,
        company_name text,
        cui text CHECK (cui ~ '^[0-9]{{2,10}}$'),
        source text NOT NULL DEFAULT 'manual',
        status text NOT NULL DEFAULT 'new'
            CHECK (status IN ('new', 'qualified', 'disqualified', 'converted')),
        score smallint CHECK (score BETWEEN 0 AND 100),
        score_reason text,
        converted_at timestamptz,
        converted_account_id uuid,
        converted_contact_id uuid,
        converted_opportunity_id uuid,
        attributes jsonb NOT NULL DEFAULT '{{}}'::jsonb,
        PRIMARY KEY (tid, mid, id),
        FOREIGN KEY (tid, mid, converted_account_id) REFERENCES crm.accounts (tid, mid, id),
        FOREIGN KEY (tid, mid, converted_contact_id) REFERENCES crm.contacts (tid, mid, id)
    )""",
    """
    CREATE TYPE crm.opportunity_stage AS ENUM (
        'prospecting', 'qualification', 'proposal', 'negotiation', 'closed_won', 'closed_lost'
    )""",
    f"""
    CREATE TABLE crm.opportunities ({ENTITY_COLUMNS},
        account_id uuid NOT NULL,
        contact_id uuid,
        lead_id uuid,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
        pipeline text NOT NULL DEFAULT 'default',
        stage crm.opportunity_stage NOT NULL DEFAULT 'prospecting',
        amount numeric(18, 2) CHECK (amount >= 0),
        currency char(3) NOT NULL DEFAULT 'RON' CHECK (currency ~ '^[A-Z]{{3}}$'),
        probability smallint CHECK (probability BETWEEN 0 AND 100),
        expected_close date,
        closed_at timestamptz,
        sales_order_id text,
        attributes jsonb NOT NULL DEFAULT '{{}}'::jsonb,
        PRIMARY KEY (tid, mid, id),
        FOREIGN KEY (tid, mid, account_id) REFERENCES crm.accounts (tid, mid, id),
        FOREIGN KEY (tid, mid, contact_id) REFERENCES crm.contacts (tid, mid, id),
        FOREIGN KEY (tid, mid, lead_id) REFERENCES crm.leads (tid, mid, id)
    )""",
    """
    ALTER TABLE crm.leads ADD FOREIGN KEY (tid, mid, converted_opportunity_id)
        REFERENCES crm.opportunities (tid, mid, id)""",
    f"""
    CREATE TABLE crm.campaigns ({ENTITY_COLUMNS},
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
        channel text NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'sms', 'social', 'ads')),
        status text NOT NULL DEFAULT 'draft'
            CHECK (status IN ('draft', 'scheduled', 'sending', 'sent', 'cancelled')),
        subject text,
        body text,
        scheduled_at timestamptz,
        sent_at timestamptz,
        budget numeric(18, 2) CHECK (budget >= 0),
        currency char(3) NOT NULL DEFAULT 'RON' CHECK (currency ~ '^[A-Z]{{3}}$'),
        attributes jsonb NOT NULL DEFAULT '{{}}'::jsonb,
        PRIMARY KEY (tid, mid, id)
    )""",
    f"""
    CREATE TABLE crm.campaign_recipients ({TENANT_COLUMNS},
        campaign_id uuid NOT NULL,
        contact_id uuid NOT NULL,
        status text NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'sent', 'failed', 'opened', 'clicked', 'unsubscribed')),
        sent_at timestamptz,
        error text,
        PRIMARY KEY (tid, mid, id),
        UNIQUE (tid, mid, campaign_id, contact_id),
        FOREIGN KEY (tid, mid, campaign_id) REFERENCES crm.campaigns (tid, mid, id),
        FOREIGN KEY (tid, mid, contact_id) REFERENCES crm.contacts (tid, mid, id)
    )""",
    f"""
    CREATE TABLE crm.activities ({TENANT_COLUMNS},
        account_id uuid,
        contact_id uuid,
        opportunity_id uuid,
        kind text NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
        subject text,
        body text,
        occurred_at timestamptz NOT NULL DEFAULT now(),
        source text NOT NULL DEFAULT 'crm',
        external_ref text,
        payload jsonb NOT NULL DEFAULT '{{}}'::jsonb,
        PRIMARY KEY (tid, mid, id),
        FOREIGN KEY (tid, mid, account_id) REFERENCES crm.accounts (tid, mid, id),
        FOREIGN KEY (tid, mid, contact_id) REFERENCES crm.contacts (tid, mid, id),
        FOREIGN KEY (tid, mid, opportunity_id) REFERENCES crm.opportunities (tid, mid, id)
    )""",
    f"""
    CREATE TABLE crm.audit_log ({TENANT_COLUMNS},
        actor text NOT NULL,
        action text NOT NULL,
        entity_type text NOT NULL,
        entity_id uuid,
        before jsonb,
        after jsonb,
        corr_id text,
        PRIMARY KEY (tid, mid, id)
    )""",
    f"""
    CREATE TABLE crm.outbox ({TENANT_COLUMNS},
        seq bigint GENERATED ALWAYS AS IDENTITY,
        aggregate_type text NOT NULL,
        aggregate_id uuid NOT NULL,
        event_type text NOT NULL CHECK (event_type ~ '^[a-z0-9_]+(\\.[a-z0-9_]+){{2,}}$'),
        schema_version integer NOT NULL DEFAULT 1,
        payload jsonb NOT NULL,
        corr_id text,
        occurred_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        PRIMARY KEY (tid, mid, id),
        UNIQUE (seq)
    )""",
]

INDEXES = [
    "CREATE INDEX accounts_list_idx ON crm.accounts (tid, mid, created_at, id) WHERE deleted_at IS NULL",
    "CREATE UNIQUE INDEX accounts_cui_uq ON crm.accounts (tid, mid, cui) WHERE cui IS NOT NULL AND deleted_at IS NULL",
    "CREATE INDEX accounts_name_idx ON crm.accounts (tid, mid, lower(name))",
    "CREATE INDEX contacts_account_idx ON crm.contacts (tid, mid, account_id)",
    "CREATE INDEX contacts_email_idx ON crm.contacts (tid, mid, lower(email))",
    "CREATE INDEX contacts_list_idx ON crm.contacts (tid, mid, created_at, id) WHERE deleted_at IS NULL",
    "CREATE INDEX leads_status_idx ON crm.leads (tid, mid, status, created_at DESC)",
    "CREATE INDEX leads_email_idx ON crm.leads (tid, mid, lower(email))",
    "CREATE INDEX leads_cui_idx ON crm.leads (tid, mid, cui)",
    "CREATE INDEX opportunities_account_idx ON crm.opportunities (tid, mid, account_id)",
    "CREATE INDEX opportunities_stage_idx ON crm.opportunities (tid, mid, pipeline, stage)",
    "CREATE INDEX opportunities_contact_idx ON crm.opportunities (tid, mid, contact_id)",
    "CREATE INDEX opportunities_lead_idx ON crm.opportunities (tid, mid, lead_id)",
    "CREATE INDEX campaigns_status_idx ON crm.campaigns (tid, mid, status, created_at DESC)",
    "CREATE INDEX campaign_recipients_contact_idx ON crm.campaign_recipients (tid, mid, contact_id)",
    "CREATE INDEX activities_account_timeline_idx ON crm.activities (tid, mid, account_id, occurred_at, id)",
    "CREATE INDEX activities_contact_idx ON crm.activities (tid, mid, contact_id)",
    "CREATE INDEX activities_opportunity_idx ON crm.activities (tid, mid, opportunity_id)",
    "CREATE UNIQUE INDEX activities_external_ref_uq ON crm.activities (tid, mid, external_ref) "
    "WHERE external_ref IS NOT NULL",
    "CREATE INDEX audit_log_entity_idx ON crm.audit_log (tid, mid, entity_type, entity_id, created_at)",
    "CREATE INDEX outbox_unpublished_idx ON crm.outbox (seq) WHERE published_at IS NULL",
    "CREATE INDEX outbox_aggregate_idx ON crm.outbox (tid, mid, aggregate_id, seq)",
]

CREATE_APP_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
END
$$"""


def _tenancy_statements(table: str, privileges: str) -> list[str]:
    short = table.split(".")[1]
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {short}_tenant_isolation ON {table} USING ({TENANT_POLICY}) WITH CHECK ({TENANT_POLICY})",
        f"GRANT {privileges} ON {table} TO {APP_ROLE}",
    ]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute("CREATE SCHEMA IF NOT EXISTS crm")
    op.execute("CREATE SCHEMA IF NOT EXISTS ai")
    op.execute(CREATE_APP_ROLE)
    op.execute(f"GRANT USAGE ON SCHEMA crm, ai TO {APP_ROLE}")
    for statement in CREATE_TABLES:
        op.execute(statement)
    for statement in INDEXES:
        op.execute(statement)
    for table, privileges in TABLES:
        for statement in _tenancy_statements(table, privileges):
            op.execute(statement)
    op.execute(f"GRANT USAGE ON TYPE crm.opportunity_stage TO {APP_ROLE}")


def downgrade() -> None:
    # Dropping the schemas drops their tables, policies, type and grants. The role is
    # cluster-wide and may hold grants in other databases, and the vector extension
    # may serve other schemas: both stay.
    op.execute("DROP SCHEMA crm CASCADE")
    op.execute("DROP SCHEMA ai CASCADE")
