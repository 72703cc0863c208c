"""Lookup columns that indexes can serve under row-level security.

With RLS, PostgreSQL evaluates the policy first and may only push a query's own
conditions into an index scan when every function they apply to row data is
LEAKPROOF. ``lower(email)`` and ``attributes ->> 'x'`` are not, so expression
indexes on them are never used by the application role and lookups scan the
tenant's rows. Stored generated columns compared with ``=`` (leakproof) are:

* ``email_lower`` on leads and contacts (dedupe and e-mail lookups);
* ``import_fingerprint`` on leads (idempotent CSV imports).

The expression indexes they replace are dropped. (``ILIKE`` is not leakproof
either, which is why substring search scans the tenant's rows in index order
instead of using trigram indexes.)

It also adds a partial index per sortable list key (``sort=name``,
``sort=-updated_at`` …) matching the keyset ``ORDER BY key, id``, so a page is
an index range scan instead of a sort of the tenant's rows.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


SORT_INDEXES = {
    "accounts_name_sort_idx": "crm.accounts (tid, mid, name, id)",
    "accounts_updated_sort_idx": "crm.accounts (tid, mid, updated_at, id)",
    "contacts_last_name_sort_idx": "crm.contacts (tid, mid, last_name, id)",
    "contacts_updated_sort_idx": "crm.contacts (tid, mid, updated_at, id)",
    "leads_list_idx": "crm.leads (tid, mid, created_at, id)",
    "leads_updated_sort_idx": "crm.leads (tid, mid, updated_at, id)",
    "opportunities_list_idx": "crm.opportunities (tid, mid, created_at, id)",
    "opportunities_name_sort_idx": "crm.opportunities (tid, mid, name, id)",
    "opportunities_updated_sort_idx": "crm.opportunities (tid, mid, updated_at, id)",
    "campaigns_list_idx": "crm.campaigns (tid, mid, created_at, id)",
    "campaigns_name_sort_idx": "crm.campaigns (tid, mid, name, id)",
    "campaigns_updated_sort_idx": "crm.campaigns (tid, mid, updated_at, id)",
}


def upgrade() -> None:
    op.execute("DROP INDEX crm.accounts_name_idx")
    for name, target in SORT_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {target} WHERE deleted_at IS NULL")
    for table in ("leads", "contacts"):
        op.execute(f"ALTER TABLE crm.{table} ADD COLUMN email_lower text GENERATED ALWAYS AS (lower(email)) STORED")
        op.execute(f"DROP INDEX crm.{table}_email_idx")
        op.execute(f"CREATE INDEX {table}_email_lower_idx ON crm.{table} (tid, mid, email_lower)")
    op.execute("ALTER TABLE crm.leads ADD COLUMN import_fingerprint text")
    op.execute(
        "CREATE INDEX leads_import_fingerprint_idx ON crm.leads (tid, mid, import_fingerprint) "
        "WHERE import_fingerprint IS NOT NULL"
    )


def downgrade() -> None:
    for name in SORT_INDEXES:
        op.execute(f"DROP INDEX crm.{name}")
    op.execute("CREATE INDEX accounts_name_idx ON crm.accounts (tid, mid, lower(name))")
    op.execute("DROP INDEX crm.leads_import_fingerprint_idx")
    op.execute("ALTER TABLE crm.leads DROP COLUMN import_fingerprint")
    for table in ("leads", "contacts"):
        op.execute(f"DROP INDEX crm.{table}_email_lower_idx")
        op.execute(f"ALTER TABLE crm.{table} DROP COLUMN email_lower")
        op.execute(f"CREATE INDEX {table}_email_idx ON crm.{table} (tid, mid, lower(email))")
