"""A tenant's data-protection settings (``crm.privacy_settings``), with the defaults for a tenant that set none.

Read by the stream processors before they store free text (:class:`SettingsCache`, a few seconds stale at
most) and changed over REST (``/v1/crm/privacy/settings``, ``crm:admin``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

import asyncpg

from infra.db.tenancy import TenantContext, tenant_transaction


@dataclass(frozen=True)
class PrivacySettings:
    redact_transcripts: bool = True  # call transcripts: e-mails, phones, IBANs, CNPs replaced before storage
    redact_mentions: bool = False  # social mention text, likewise (public posts: off unless the tenant wants it)
    # a recorded call of a known contact is analysed only with their call_analysis consent; off: unless withdrawn
    require_call_consent: bool = True
    # retention (days; None: kept): mention text and vectors, call transcripts, tracking (web behaviour, e-mail
    # event details, recommendation interactions); applied by crm_core.privacy.retention
    mention_text_days: int | None = None
    transcript_days: int | None = None
    tracking_days: int | None = None


DEFAULTS = PrivacySettings()

FIELDS = tuple(f.name for f in fields(PrivacySettings))
GET_SQL = f"SELECT {', '.join(FIELDS)} FROM crm.privacy_settings WHERE tid = $1 AND mid = $2"
PUT_SQL = f"""
INSERT INTO crm.privacy_settings (tid, mid, {", ".join(FIELDS)})
VALUES ($1, $2, {", ".join(f"${i}" for i in range(3, 3 + len(FIELDS)))})
ON CONFLICT (tid, mid)
DO UPDATE SET {", ".join(f"{f} = EXCLUDED.{f}" for f in FIELDS)}, updated_at = now()
"""


async def stored(conn: asyncpg.Connection, tid: str, mid: str) -> PrivacySettings | None:
    """What the tenant has set, or None when it has set nothing."""
    row = await conn.fetchrow(GET_SQL, tid, mid)
    return None if row is None else PrivacySettings(**dict(row))


async def load(conn: asyncpg.Connection, tid: str, mid: str) -> PrivacySettings:
    return await stored(conn, tid, mid) or DEFAULTS


async def save(conn: asyncpg.Connection, tid: str, mid: str, settings: PrivacySettings) -> None:
    await conn.execute(PUT_SQL, tid, mid, *(getattr(settings, f) for f in FIELDS))


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
