"""A data subject as the privacy jobs name them: a contact id, an e-mail address or a social handle.

Erasure and export find the subject's rows in every branch of the tenant: their transactions set
``app.privacy_scope = 'tenant'`` (migration 0018's ``*_privacy_scope`` policies), which widens the standard
branch-scoped policy to the whole of the caller's own tenant and nothing more.

A subject is never written down in the clear once its job is done: it is kept as a keyed hash
(HMAC-SHA-256 under a key derived from the engine's audit signing key), so the audit log and the erasure
certificate can name *that* a subject was erased, and a later request for the same person can be matched to
it, without holding who it was.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

import asyncpg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from infra.db.tenancy import TenantContext, apply_tenant
from infra.errors import InvalidInput
from models.prospects.matching import profile_key

SubjectKind = Literal["contact", "email", "handle"]
SCOPE_SQL = "SELECT set_config('app.privacy_scope', 'tenant', true)"


def normalise(kind: SubjectKind, value: str) -> str:
    """The form a subject is matched and hashed in: e-mails and handles case-folded, handles without ``@``."""
    text = value.strip()
    if kind == "contact":
        return str(UUID(text))
    if kind == "email":
        text = text.lower()
        local, _, domain = text.partition("@")
        if not local or "." not in domain or " " in text:
            raise InvalidInput(f"{value!r} is not an e-mail address", fields=["email"])
        return text
    text = text.lstrip("@").lower()
    if not text or len(text) > 200 or any(c.isspace() for c in text):
        raise InvalidInput(f"{value!r} is not a social handle", fields=["handle"])
    return text


def hash_key(signing_key: Ed25519PrivateKey) -> bytes:
    """The HMAC key for subject hashes: derived from (never equal to) the audit signing key."""
    raw = signing_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return hashlib.sha256(b"vettify-subject-hash-v1\x00" + raw).digest()


def subject_hash(key: bytes, tenant: TenantContext, kind: SubjectKind, value: str) -> str:
    message = "\x1f".join((tenant.tid, tenant.mid, kind, normalise(kind, value))).encode()
    return "hmac-sha256:" + hmac.new(key, message, hashlib.sha256).hexdigest()


@asynccontextmanager
async def privacy_transaction(
    pool: asyncpg.Pool, tenant: TenantContext, *, readonly: bool = False
) -> AsyncIterator[asyncpg.Connection]:
    """A transaction of ``tenant`` that sees every branch of that tenant (and no other tenant)."""
    async with pool.acquire() as conn, conn.transaction(readonly=readonly):
        await apply_tenant(conn, tenant)
        await conn.execute(SCOPE_SQL)
        yield conn


CONTACTS_BY_EMAIL_SQL = "SELECT id FROM crm.contacts WHERE tid = $1 AND mid = $2 AND lower(email) = $3"
CONTACT_SQL = "SELECT id, email FROM crm.contacts WHERE tid = $1 AND mid = $2 AND id = $3"
EMAILS_SQL = """
SELECT DISTINCT lower(email) AS email FROM crm.contacts
WHERE tid = $1 AND mid = $2 AND id = ANY ($3::uuid[]) AND email IS NOT NULL
"""
HANDLES_SQL = """
SELECT DISTINCT lower(ltrim(value, '@')) AS handle
FROM crm.contacts, jsonb_each_text(attributes)
WHERE tid = $1 AND mid = $2 AND id = ANY ($3::uuid[]) AND key IN ('handle', 'twitter', 'linkedin', 'tiktok')
"""
CONTACTS_BY_HANDLE_SQL = """
SELECT DISTINCT id FROM crm.contacts, jsonb_each_text(attributes)
WHERE tid = $1 AND mid = $2 AND key IN ('handle', 'twitter', 'linkedin', 'tiktok') AND lower(ltrim(value, '@')) = $3
"""
LEADS_SQL = """
SELECT id FROM crm.leads
WHERE tid = $1 AND mid = $2 AND (lower(email) = ANY ($3::text[]) OR converted_contact_id = ANY ($4::uuid[]))
"""
SOLE_TRADERS_SQL = """
SELECT DISTINCT a.id, a.cui FROM crm.accounts a
JOIN crm.contacts c ON c.tid = a.tid AND c.mid = a.mid AND c.account_id = a.id
WHERE a.tid = $1 AND a.mid = $2 AND c.id = ANY ($3::uuid[])
  AND (a.anaf_data ->> 'registration_number') LIKE 'F%'
"""
SESSIONS_SQL = """
SELECT session_id FROM ai.item_interactions
WHERE tid = $1 AND mid = $2 AND contact_id = ANY ($3::uuid[]) AND session_id IS NOT NULL
UNION
SELECT session_id FROM ai.behavior_events WHERE tid = $1 AND mid = $2 AND contact_id = ANY ($3::uuid[])
"""


@dataclass
class Subject:
    """Everything that identifies one person in a tenant, found once when a job starts.

    ``sole_traders``: accounts of the subject's contacts that ANAF registers as a natural person's business
    (trade-register numbers starting ``F``: PFA, II, IF) — their company data is the person's data.
    """

    contacts: list[UUID] = field(default_factory=list)
    leads: list[UUID] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    handles: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    sole_traders: list[dict[str, Any]] = field(default_factory=list)

    @property
    def visitors(self) -> list[str]:
        """Web visitor ids that name the subject: their contact ids or e-mail addresses."""
        return [str(c) for c in self.contacts] + self.emails

    def to_json(self) -> dict[str, Any]:
        return {
            "contacts": [str(c) for c in self.contacts],
            "leads": [str(lead) for lead in self.leads],
            "emails": self.emails,
            "handles": self.handles,
            "sessions": self.sessions,
            "sole_traders": self.sole_traders,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Subject:
        return cls(
            contacts=[UUID(c) for c in data["contacts"]],
            leads=[UUID(lead) for lead in data["leads"]],
            emails=list(data["emails"]),
            handles=list(data["handles"]),
            sessions=list(data["sessions"]),
            sole_traders=list(data["sole_traders"]),
        )


async def resolve(conn: asyncpg.Connection, tenant: TenantContext, kind: SubjectKind, value: str) -> Subject:
    """Find the subject's contacts, leads, addresses, handles, web sessions and sole-trader accounts."""
    key = (tenant.tid, tenant.mid)
    normal = normalise(kind, value)
    subject = Subject()
    if kind == "contact":
        row = await conn.fetchrow(CONTACT_SQL, *key, UUID(normal))
        subject.contacts = [row["id"]] if row else []
    elif kind == "email":
        subject.contacts = [r["id"] for r in await conn.fetch(CONTACTS_BY_EMAIL_SQL, *key, normal)]
        subject.emails = [normal]
    else:
        subject.contacts = [r["id"] for r in await conn.fetch(CONTACTS_BY_HANDLE_SQL, *key, normal)]
        subject.handles = [normal]
    emails = {r["email"] for r in await conn.fetch(EMAILS_SQL, *key, subject.contacts)}
    subject.emails = sorted(emails | set(subject.emails))
    handles = {r["handle"] for r in await conn.fetch(HANDLES_SQL, *key, subject.contacts) if r["handle"]}
    subject.handles = sorted(handles | set(subject.handles))
    subject.leads = [r["id"] for r in await conn.fetch(LEADS_SQL, *key, subject.emails, subject.contacts)]
    subject.sessions = [r["session_id"] for r in await conn.fetch(SESSIONS_SQL, *key, subject.contacts)]
    subject.sole_traders = [
        {"account_id": str(r["id"]), "cui": r["cui"]}
        for r in await conn.fetch(SOLE_TRADERS_SQL, *key, subject.contacts)
    ]
    return subject


# A subject's LinkedIn prospects: matched to their contacts or leads, or recognised by their e-mail or profile
# ($3: contact and lead ids, $4: prospect keys from prospect_keys(), $5: e-mail addresses).
PROSPECTS_OF = (
    "tid = $1 AND mid = $2 AND (contact_id = ANY ($3::uuid[]) OR lead_id = ANY ($3::uuid[]) "
    "OR person_key = ANY ($4::text[]) OR lower(email) = ANY ($5::text[]))"
)


def prospect_keys(subject: Subject) -> list[str]:
    """The keys a prospect of this subject is stored under when it was recognised by an identifier."""
    keys = [f"email:{e}" for e in subject.emails]
    keys += [f"profile:{k}" for h in subject.handles if (k := profile_key(h)) is not None]
    return keys
