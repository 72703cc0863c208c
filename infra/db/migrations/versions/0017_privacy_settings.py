"""Per-tenant data-protection settings: which free text is redacted before it is stored or embedded.

``crm.privacy_settings`` holds one row per tenant and member organisation (tenant-wide: ``whid`` null).
``redact_transcripts`` (default on) and ``redact_mentions`` (default off) name where e-mail addresses, phone
numbers, IBANs and CNPs (``models.privacy.pii``) are replaced by typed placeholders before the text is
stored or embedded. A tenant without a row gets the defaults. Forced RLS like every tenant table.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | None = None
depends_on: str | None = None

APP_ROLE = "vettify_app"
TENANT_POLICY = "tid = current_setting('app.tid', true) AND (whid = current_setting('app.whid', true) OR whid IS NULL)"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE crm.privacy_settings (
            tid text NOT NULL CHECK (tid <> ''),
            whid text CHECK (whid IS NULL),
            mid text NOT NULL CHECK (mid <> ''),
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            redact_transcripts boolean NOT NULL DEFAULT true,
            redact_mentions boolean NOT NULL DEFAULT false,
            PRIMARY KEY (tid, mid, id),
            UNIQUE (tid, mid)
        )"""
    )
    op.execute("ALTER TABLE crm.privacy_settings ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE crm.privacy_settings FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY privacy_settings_tenant_isolation ON crm.privacy_settings "
        f"USING ({TENANT_POLICY}) WITH CHECK ({TENANT_POLICY})"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON crm.privacy_settings TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP TABLE crm.privacy_settings")
