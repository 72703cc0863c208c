"""Subject access export: everything the engine holds about one person, as one signed JSON document.

The subject is found as erasure finds them (:func:`crm_core.privacy.subject.resolve`, every branch of the
tenant); each table's rows come back whole except derived search columns and embedding vectors (a vector is
a function of text that is in the export; its length is given instead). The document is signed with the
audit key (Ed25519 over its canonical JSON, :func:`crm_core.privacy.erasure.sign`); :func:`as_zip` adds one
CSV per table beside the signed JSON for people who open it in a spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crm_core.privacy import consent
from crm_core.privacy.erasure import sign
from crm_core.privacy.subject import PROSPECTS_OF, Subject, SubjectKind, prospect_keys, resolve
from infra.db.tenancy import TenantContext

DROPPED = ["embedding", "name_folded", "search_folded", "first_name_sort", "last_name_sort", "name_sort", "tid", "mid"]
ROW = "to_jsonb(t) - $4::text[] || jsonb_build_object('embedding_dims', vector_dims(t.embedding))"
PLAIN = "to_jsonb(t) - $4::text[]"

# (found by, SQL): $1 tid, $2 mid, $3 the ids or values the section is found by, $4 the dropped columns.
SECTIONS: dict[str, tuple[str, str]] = {
    "contacts": (
        "contacts",
        f"SELECT {PLAIN} FROM crm.contacts t WHERE tid = $1 AND mid = $2 AND id = ANY ($3::uuid[])",
    ),
    "leads": ("leads", f"SELECT {PLAIN} FROM crm.leads t WHERE tid = $1 AND mid = $2 AND id = ANY ($3::uuid[])"),
    "consents": (
        "contacts",
        f"SELECT {PLAIN} FROM crm.consent_history t WHERE tid = $1 AND mid = $2 AND contact_id = ANY ($3::uuid[]) "
        "ORDER BY occurred_at",
    ),
    "opportunities": (
        "contacts",
        f"SELECT {PLAIN} FROM crm.opportunities t WHERE tid = $1 AND mid = $2 AND contact_id = ANY ($3::uuid[])",
    ),
    "activities": (
        "contacts",
        f"SELECT {PLAIN} FROM crm.activities t WHERE tid = $1 AND mid = $2 AND contact_id = ANY ($3::uuid[]) "
        "ORDER BY occurred_at",
    ),
    "email_deliveries": (
        "contacts",
        f"SELECT {PLAIN} FROM crm.email_deliveries t WHERE tid = $1 AND mid = $2 AND contact_id = ANY ($3::uuid[])",
    ),
    "email_events": (
        "contacts",
        f"SELECT {PLAIN} FROM crm.email_events t WHERE tid = $1 AND mid = $2 AND contact_id = ANY ($3::uuid[]) "
        "ORDER BY occurred_at",
    ),
    "sequence_enrollments": (
        "contacts",
        f"SELECT {PLAIN} FROM crm.sequence_enrollments t WHERE tid = $1 AND mid = $2 AND contact_id = ANY ($3::uuid[])",
    ),
    "mentions": (
        "handles",
        f"SELECT {ROW} FROM ai.social_insights t WHERE tid = $1 AND mid = $2 "
        "AND lower(ltrim(author, '@')) = ANY ($3::text[]) ORDER BY posted_at",
    ),
    "calls": (
        "contacts",
        f"SELECT {ROW} FROM ai.call_analyses t WHERE tid = $1 AND mid = $2 AND contact_id = ANY ($3::uuid[]) "
        "ORDER BY recorded_at",
    ),
    "call_passages": (
        "contacts",
        f"SELECT {ROW} FROM ai.call_passages t WHERE tid = $1 AND mid = $2 AND call_analysis_id IN "
        "(SELECT id FROM ai.call_analyses WHERE tid = $1 AND mid = $2 AND contact_id = ANY ($3::uuid[]))",
    ),
    "web_behaviour": (
        "visitors_and_sessions",
        f"SELECT {PLAIN} FROM ai.behavior_events t WHERE tid = $1 AND mid = $2 "
        "AND (session_id = ANY ($3::text[]) OR visitor_id = ANY ($3::text[])) ORDER BY occurred_at",
    ),
    "journeys": (
        "visitors_and_sessions",
        f"SELECT {ROW} FROM ai.behavior_patterns t WHERE tid = $1 AND mid = $2 "
        "AND (session_id = ANY ($3::text[]) OR visitor_id = ANY ($3::text[]))",
    ),
    "recommendation_interactions": (
        "contacts",
        f"SELECT {PLAIN} FROM ai.item_interactions t WHERE tid = $1 AND mid = $2 AND contact_id = ANY ($3::uuid[]) "
        "ORDER BY occurred_at",
    ),
    "sole_trader_accounts": (
        "sole_traders",
        f"SELECT {PLAIN} FROM crm.accounts t WHERE tid = $1 AND mid = $2 AND id = ANY ($3::uuid[])",
    ),
    "churn_scores": (
        "sole_traders",
        f"SELECT {PLAIN} FROM ai.churn_scores t WHERE tid = $1 AND mid = $2 AND account_id = ANY ($3::uuid[])",
    ),
    "audit_entries": (
        "people",
        f"SELECT {PLAIN} FROM crm.audit_log t WHERE tid = $1 AND mid = $2 AND entity_id = ANY ($3::uuid[]) "
        "ORDER BY created_at",
    ),
}


# The subject's LinkedIn prospects and their activities ($3-$5 as PROSPECTS_OF says, $6 the dropped columns).
PROSPECTS_SQL = f"SELECT to_jsonb(t) - $6::text[] FROM ai.prospects t WHERE {PROSPECTS_OF} ORDER BY first_seen"
PROSPECT_SIGNALS_SQL = f"""
SELECT to_jsonb(t) - $6::text[] FROM ai.prospect_signals t
WHERE t.tid = $1 AND t.mid = $2 AND t.prospect_id IN (SELECT id FROM ai.prospects WHERE {PROSPECTS_OF})
ORDER BY t.occurred_at
"""

DECISIONS_SQL = f"""
SELECT {PLAIN} FROM ai.decisions t WHERE tid = $1 AND mid = $2
  AND (contact_id = ANY ($3::uuid[]) OR ref_id = ANY ($3::uuid[]) OR account_id = ANY ($3::uuid[]))
ORDER BY created_at
"""


def _keys(subject: Subject) -> dict[str, list[Any]]:
    return {
        "contacts": subject.contacts,
        "leads": subject.leads,
        "handles": subject.handles,
        "visitors_and_sessions": subject.visitors + subject.sessions,
        "sole_traders": [UUID(a["account_id"]) for a in subject.sole_traders],
        "people": [*subject.contacts, *subject.leads],
    }


async def collect(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    *,
    kind: SubjectKind,
    value: str,
    subject_hash: str,
    key: Ed25519PrivateKey,
) -> dict[str, Any]:
    """The signed document (``conn``: a privacy transaction, read-only is enough)."""
    subject = await resolve(conn, tenant, kind, value)
    keys = _keys(subject)
    tables: dict[str, list[dict[str, Any]]] = {}
    for section, (by, sql) in SECTIONS.items():
        ids = keys[by]
        rows = await conn.fetch(sql, tenant.tid, tenant.mid, ids, DROPPED) if ids else []
        tables[section] = [r[0] for r in rows]
    found_by = (
        tenant.tid,
        tenant.mid,
        [*subject.contacts, *subject.leads],
        prospect_keys(subject),
        subject.emails,
        DROPPED,
    )
    tables["prospects"] = [r[0] for r in await conn.fetch(PROSPECTS_SQL, *found_by)]
    tables["prospect_activities"] = [r[0] for r in await conn.fetch(PROSPECT_SIGNALS_SQL, *found_by)]
    refs = [
        *subject.contacts,
        *subject.leads,
        *(UUID(r["id"]) for r in tables["mentions"] + tables["calls"]),
        *keys["sole_traders"],
    ]
    rows = await conn.fetch(DECISIONS_SQL, tenant.tid, tenant.mid, refs, DROPPED) if refs else []
    tables["decisions"] = [r[0] for r in rows]
    current = {str(c): await consent.current(conn, tenant, c) for c in subject.contacts}
    return sign(
        {
            "kind": "vettify.subject_access_export",
            "version": 1,
            "tid": tenant.tid,
            "mid": tenant.mid,
            "subject_kind": kind,
            "subject_hash": subject_hash,
            "generated_at": datetime.now(UTC).isoformat(),
            "found": {k: len(v) for k, v in keys.items() if k != "people"},
            "current_consent": current,
            "tables": tables,
        },
        key,
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def as_zip(document: dict[str, Any]) -> bytes:
    """``export.json`` (the signed document, byte for byte what verifies) and one CSV per non-empty table."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export.json", json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False))
        for name, rows in document["tables"].items():
            if not rows:
                continue
            columns = sorted({c for row in rows for c in row})
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_cell(row.get(c)) for c in columns])
            archive.writestr(f"{name}.csv", text.getvalue())
    return buffer.getvalue()
