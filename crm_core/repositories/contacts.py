"""Contacts: CRUD through :data:`CONTACTS` plus lookups by e-mail and account."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from crm_core.repositories.base import TableSpec
from crm_core.schemas.contacts import ContactPublic
from infra.db.tenancy import TenantContext

CONTACTS: TableSpec[ContactPublic] = TableSpec(
    "crm.contacts",
    entity="contact",
    model=ContactPublic,
    writable=(
        "account_id",
        "first_name",
        "last_name",
        "email",
        "phone",
        "title",
        "consent_marketing",
        "attributes",
    ),
    filterable=("account_id", "email", "consent_marketing"),
    folded_search=True,
    searchable=("first_name", "last_name", "email"),
    collated=("last_name",),
    sortable=("created_at", "updated_at", "last_name"),
)

FIND_BY_EMAIL_SQL = """
SELECT * FROM crm.contacts
WHERE tid = $1 AND mid = $2 AND email_lower = $3 AND deleted_at IS NULL
ORDER BY created_at
LIMIT 1
"""

FOR_ACCOUNT_SQL = """
SELECT * FROM crm.contacts
WHERE tid = $1 AND mid = $2 AND account_id = $3 AND deleted_at IS NULL
ORDER BY last_name, first_name, id
LIMIT $4
"""


async def find_by_email(conn: asyncpg.Connection, *, tenant: TenantContext, email: str) -> ContactPublic | None:
    return CONTACTS.row(await conn.fetchrow(FIND_BY_EMAIL_SQL, tenant.tid, tenant.mid, email.lower()))


async def for_account(
    conn: asyncpg.Connection, *, tenant: TenantContext, account_id: UUID, limit: int = 200
) -> list[ContactPublic]:
    records = await conn.fetch(FOR_ACCOUNT_SQL, tenant.tid, tenant.mid, account_id, limit)
    return [CONTACTS.one(r) for r in records]
