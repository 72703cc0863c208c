"""A tenant's data-protection settings (``crm.privacy_settings``), with the defaults for a tenant that set none.

Read by the stream processors before they store free text (:class:`SettingsCache`, a few seconds stale at
most) and changed over REST (``/v1/crm/privacy/settings``, ``crm:admin``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import asyncpg

from infra.db.tenancy import TenantContext, tenant_transaction


@dataclass(frozen=True)
class PrivacySettings:
    redact_transcripts: bool = True  # call transcripts: e-mails, phones, IBANs, CNPs replaced before storage
    redact_mentions: bool = False  # social mention text, likewise (public posts: off unless the tenant wants it)
    # a recorded call of a known contact is analysed only with their call_analysis consent; off: unless withdrawn
    require_call_consent: bool = True


DEFAULTS = PrivacySettings()

GET_SQL = """
SELECT redact_transcripts, redact_mentions, require_call_consent FROM crm.privacy_settings WHERE tid = $1 AND mid = $2
"""
PUT_SQL = """
INSERT INTO crm.privacy_settings (tid, mid, redact_transcripts, redact_mentions, require_call_consent)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (tid, mid)
DO UPDATE SET redact_transcripts = EXCLUDED.redact_transcripts, redact_mentions = EXCLUDED.redact_mentions,
    require_call_consent = EXCLUDED.require_call_consent, updated_at = now()
"""


async def stored(conn: asyncpg.Connection, tid: str, mid: str) -> PrivacySettings | None:
    """What the tenant has set, or None when it has set nothing."""
    row = await conn.fetchrow(GET_SQL, tid, mid)
    return None if row is None else PrivacySettings(**dict(row))


async def load(conn: asyncpg.Connection, tid: str, mid: str) -> PrivacySettings:
    return await stored(conn, tid, mid) or DEFAULTS


async def save(conn: asyncpg.Connection, tid: str, mid: str, settings: PrivacySettings) -> None:
    await conn.execute(
        PUT_SQL, tid, mid, settings.redact_transcripts, settings.redact_mentions, settings.require_call_consent
    )


class SettingsCache:
    """Each tenant's settings, re-read after ``ttl_s``; a change over REST applies within that time."""

    def __init__(self, pool: asyncpg.Pool, ttl_s: float = 5.0) -> None:
        self.pool, self.ttl_s = pool, ttl_s
        self._entries: dict[tuple[str, str], tuple[float, PrivacySettings]] = {}

    async def get(self, tid: str, mid: str) -> PrivacySettings:
        key = (tid, mid)
        entry = self._entries.get(key)
        now = time.monotonic()
        if entry is not None and now - entry[0] < self.ttl_s:
            return entry[1]
        async with tenant_transaction(self.pool, TenantContext(tid=tid, mid=mid), readonly=True) as conn:
            settings = await load(conn, tid, mid)
        if len(self._entries) > 10_000:  # many tenants: forget the stale ones rather than grow
            self._entries = {k: v for k, v in self._entries.items() if now - v[0] < self.ttl_s}
        self._entries[key] = (now, settings)
        return settings
