"""The outbox relay role.

The outbox relay publishes every tenant's events, so it needs to read the outbox
across tenants: the NOLOGIN role ``vettify_relay`` gets a permissive policy on
``crm.outbox`` only (read and mark published), and no access to anything else.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

RELAY_ROLE = "vettify_relay"


def upgrade() -> None:
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{RELAY_ROLE}') THEN
                CREATE ROLE {RELAY_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
            END IF;
        END
        $$"""
    )
    op.execute(f"GRANT USAGE ON SCHEMA crm TO {RELAY_ROLE}")
    op.execute(f"GRANT SELECT, UPDATE ON crm.outbox TO {RELAY_ROLE}")
    op.execute(f"CREATE POLICY outbox_relay_all_tenants ON crm.outbox TO {RELAY_ROLE} USING (true) WITH CHECK (true)")


def downgrade() -> None:
    op.execute("DROP POLICY outbox_relay_all_tenants ON crm.outbox")
    op.execute(f"REVOKE ALL ON crm.outbox FROM {RELAY_ROLE}")
    op.execute(f"REVOKE ALL ON SCHEMA crm FROM {RELAY_ROLE}")
