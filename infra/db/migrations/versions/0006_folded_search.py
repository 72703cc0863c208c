"""Search that ignores case, diacritics and the cedilla forms, served by trigram indexes under RLS.

``crm.fold(text)`` is the SQL twin of :func:`infra.text.fold`: ş/ţ to ș/ț, ``unaccent``, lower case
(full Unicode where the server has the ``pg_c_utf8`` collation, PostgreSQL 17+), whitespace runs to one
space. Accounts, contacts and leads get two stored generated columns:

* ``name_folded``: the display name folded (an account's name; a person's first and last name), for exact
  and prefix matches and for one- and two-letter queries (a btree prefix range);
* ``search_folded``: every searchable field folded into one string, indexed with a ``(tid, search_folded
  gin_trgm_ops)`` GIN index (``btree_gin`` for the tenant column) for substring (``LIKE``) and near-miss
  (``%>``: word similarity) matches.

Under row-level security PostgreSQL only uses an index for a condition whose operator is LEAKPROOF, and
``LIKE`` and pg_trgm's word-similarity operators are not marked so (which is why search scanned the
tenant's rows). Run by a superuser, this migration marks ``textlike`` and the two word-similarity functions
LEAKPROOF: none of them can raise an error or reveal anything about a row's value (``LIKE`` errors only on
a malformed *pattern*, which the engine builds itself from escaped input). Without superuser rights it
skips that step with a warning, and search stays correct but scans the tenant's rows, as before.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import logging

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

LEAKPROOF_FUNCTIONS = (
    "pg_catalog.textlike(text, text)",
    "public.word_similarity_op(text, text)",
    "public.word_similarity_commutator_op(text, text)",
)


def _text(*columns: str) -> str:
    return " || ' ' || ".join(f"coalesce({c}, '')" for c in columns)


FOLDED = {
    "accounts": (_text("name"), _text("name", "cui", "domain", "city")),
    "contacts": (_text("first_name", "last_name"), _text("first_name", "last_name", "email")),
    "leads": (_text("first_name", "last_name"), _text("first_name", "last_name", "company_name", "email", "cui")),
}

FOLD_FUNCTION = """
CREATE FUNCTION crm.fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN btrim(regexp_replace(
    lower(public.unaccent('public.unaccent'::regdictionary, translate(value, 'şţŞŢ', 'șțȘȚ')) {collate}),
    '\\s+', ' ', 'g'))
"""


def upgrade() -> None:
    for extension in ("unaccent", "pg_trgm", "btree_gin"):
        op.execute(f"CREATE EXTENSION IF NOT EXISTS {extension} WITH SCHEMA public")
    bind = op.get_bind()
    has_unicode_lower = bind.exec_driver_sql("SELECT 1 FROM pg_collation WHERE collname = 'pg_c_utf8'").scalar()
    op.execute(FOLD_FUNCTION.format(collate='COLLATE "pg_c_utf8"' if has_unicode_lower else ""))
    op.execute("GRANT EXECUTE ON FUNCTION crm.fold(text) TO PUBLIC")
    for table, (name, searchable) in FOLDED.items():
        op.execute(
            f"ALTER TABLE crm.{table} "
            f"ADD COLUMN name_folded text GENERATED ALWAYS AS (crm.fold({name})) STORED, "
            f"ADD COLUMN search_folded text GENERATED ALWAYS AS (crm.fold({searchable})) STORED"
        )
        op.execute(f"CREATE INDEX {table}_name_folded_idx ON crm.{table} (tid, mid, name_folded text_pattern_ops)")
        op.execute(f"CREATE INDEX {table}_search_trgm_idx ON crm.{table} USING gin (tid, search_folded gin_trgm_ops)")
    superuser = bind.exec_driver_sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar()
    if superuser:
        for function in LEAKPROOF_FUNCTIONS:
            op.execute(f"ALTER FUNCTION {function} LEAKPROOF")
    else:
        logging.getLogger("alembic.runtime.migration").warning(
            "not a superuser: LIKE and word similarity stay non-leakproof, so search scans each tenant's rows"
        )


def downgrade() -> None:
    for table in FOLDED:
        op.execute(f"DROP INDEX crm.{table}_search_trgm_idx")
        op.execute(f"DROP INDEX crm.{table}_name_folded_idx")
        op.execute(f"ALTER TABLE crm.{table} DROP COLUMN search_folded, DROP COLUMN name_folded")
    op.execute("DROP FUNCTION crm.fold(text)")
