"""Names sort in Romanian alphabetical order, case-insensitively, with keyset pages in that order.

Byte order put ``Charlie`` before ``alpha`` and ``Ștefan`` after ``Zeta``. The bundled PostgreSQL has no
ICU, so the order is a sort key (``crm.ro_sort_key``): lower case (the cedilla forms read as ș/ț), the
Romanian letters as their base letter followed by a mark that sorts after every plain letter (ă ``a{``,
â ``a|``, î ``i{``, ș ``s{``, ț ``t{``: so a < ă < â < b and s < ș < t, as in the Romanian alphabet),
then other accents dropped (é sorts with e). ``sort=name`` (accounts, opportunities, campaigns) and
``sort=last_name`` (contacts) order by that key, stored in a generated ``<column>_sort`` column with the
``(tid, mid, key, id)`` index the keyset pages walk.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

SORTED = {"accounts": "name", "opportunities": "name", "campaigns": "name", "contacts": "last_name"}

SORT_KEY_FUNCTION = """
CREATE FUNCTION crm.ro_sort_key(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN public.unaccent('public.unaccent'::regdictionary,
    replace(replace(replace(replace(replace(
        lower(translate(value, 'şţŞŢ', 'șțȘȚ') {collate}),
        'ă', 'a{{'), 'â', 'a|'), 'î', 'i{{'), 'ș', 's{{'), 'ț', 't{{'))
"""


def upgrade() -> None:
    bind = op.get_bind()
    has_unicode_lower = bind.exec_driver_sql("SELECT 1 FROM pg_collation WHERE collname = 'pg_c_utf8'").scalar()
    op.execute(SORT_KEY_FUNCTION.format(collate='COLLATE "pg_c_utf8"' if has_unicode_lower else ""))
    op.execute("GRANT EXECUTE ON FUNCTION crm.ro_sort_key(text) TO PUBLIC")
    for table, column in SORTED.items():
        op.execute(
            f"ALTER TABLE crm.{table} ADD COLUMN {column}_sort text "
            f"GENERATED ALWAYS AS (crm.ro_sort_key({column})) STORED"
        )
        op.execute(f"DROP INDEX crm.{table}_{column}_sort_idx")
        op.execute(f"CREATE INDEX {table}_{column}_sort_idx ON crm.{table} (tid, mid, {column}_sort, id)")


def downgrade() -> None:
    for table, column in SORTED.items():
        op.execute(f"DROP INDEX crm.{table}_{column}_sort_idx")
        op.execute(f"ALTER TABLE crm.{table} DROP COLUMN {column}_sort")
        op.execute(f"CREATE INDEX {table}_{column}_sort_idx ON crm.{table} (tid, mid, {column}, id)")
    op.execute("DROP FUNCTION crm.ro_sort_key(text)")
