"""The compliance worker role.

Pending ANAF checks are re-tried by a background job across tenants. The
NOLOGIN role ``vettify_worker`` may read the identifying and compliance columns
of ``crm.accounts`` and update only the compliance columns (and the address it
fills from ANAF) in every tenant; nothing else.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

WORKER_ROLE = "vettify_worker"


def upgrade() -> None:
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{WORKER_ROLE}') THEN
                CREATE ROLE {WORKER_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
            END IF;
        END
        $$"""
    )
    op.execute(f"GRANT USAGE ON SCHEMA crm TO {WORKER_ROLE}")
    op.execute(
        f"GRANT SELECT (tid, whid, mid, id, cui, compliance_status, compliance_checked_at, anaf_data, address, deleted_at) "
        f"ON crm.accounts TO {WORKER_ROLE}"
    )
    op.execute(
        f"GRANT UPDATE (compliance_status, compliance_checked_at, anaf_data, address, updated_at) "
        f"ON crm.accounts TO {WORKER_ROLE}"
    )
    op.execute(
        f"CREATE POLICY accounts_compliance_worker ON crm.accounts TO {WORKER_ROLE} USING (true) WITH CHECK (true)"
    )
    op.execute(
        "CREATE INDEX accounts_compliance_due_idx ON crm.accounts (compliance_checked_at NULLS FIRST) "
        "WHERE cui IS NOT NULL AND deleted_at IS NULL AND compliance_status IN ('pending', 'unchecked')"
    )


def downgrade() -> None:
    op.execute("DROP INDEX crm.accounts_compliance_due_idx")
    op.execute("DROP POLICY accounts_compliance_worker ON crm.accounts")
    op.execute(f"REVOKE ALL ON crm.accounts FROM {WORKER_ROLE}")
    op.execute(f"REVOKE ALL ON SCHEMA crm FROM {WORKER_ROLE}")
