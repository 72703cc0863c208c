"""AI decision records (``ai.decisions``, migration 0019): what model decided what, from which input.

Every processor that stores a model's output records the decision in the same transaction: the model and
its version, the SHA-256 of the input it read (never the input itself), the output in brief, and the
model's explanation where it has one. ``GET /v1/insights/decisions/{id}`` and ``…?ref_id=`` read them back —
what Art. 22 GDPR asks of automated decisions about people.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Literal
from uuid import UUID

import asyncpg

from infra.db.tenancy import TenantContext, tenant_transaction
from infra.errors import NotFound

Kind = Literal["sentiment", "call_analysis", "churn_score", "price_change", "recommendation", "reach", "lead_score"]

INSERT_SQL = """
INSERT INTO ai.decisions (tid, whid, mid, kind, ref_id, contact_id, account_id, model, model_version, input_hash,
    output, explanation)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING id
"""
COLUMNS = "id, kind, ref_id, contact_id, account_id, model, model_version, input_hash, output, explanation, created_at"
GET_SQL = f"SELECT {COLUMNS} FROM ai.decisions WHERE tid = $1 AND mid = $2 AND id = $3"
BY_REF_SQL = f"SELECT {COLUMNS} FROM ai.decisions WHERE tid = $1 AND mid = $2 AND ref_id = $3 ORDER BY created_at, id"


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as null (JSON has neither; a missing feature is NaN to the model)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def input_hash(value: bytes | str | dict[str, Any] | list[Any]) -> str:
    """``sha256:<hex>`` of raw bytes, UTF-8 text, or canonical JSON (sorted keys, NaN as null) of a structure —
    so a structure's hash can be recomputed from the record that shows it."""
    if isinstance(value, dict | list):
        value = json.dumps(json_safe(value), sort_keys=True, separators=(",", ":"), default=str)
    data = value.encode() if isinstance(value, str) else value
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def record(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    *,
    kind: Kind,
    ref_id: UUID,
    model: str,
    model_version: str,
    input_digest: str,
    output: dict[str, Any],
    explanation: dict[str, Any] | None = None,
    contact_id: UUID | None = None,
    account_id: UUID | None = None,
) -> UUID:
    """Record one decision in the caller's transaction (the one storing the output)."""
    decision: UUID = await conn.fetchval(
        INSERT_SQL,
        tenant.tid,
        tenant.whid,
        tenant.mid,
        kind,
        ref_id,
        contact_id,
        account_id,
        model or kind,
        model_version or "unknown",
        input_digest,
        json_safe(output),
        json_safe(explanation),
    )
    return decision


async def get(pool: asyncpg.Pool, tenant: TenantContext, decision_id: UUID) -> dict[str, Any]:
    async with tenant_transaction(pool, tenant, readonly=True) as conn:
        row = await conn.fetchrow(GET_SQL, tenant.tid, tenant.mid, decision_id)
    if row is None:
        raise NotFound(f"no decision with id {decision_id}")
    return dict(row)


async def for_ref(pool: asyncpg.Pool, tenant: TenantContext, ref_id: UUID) -> list[dict[str, Any]]:
    """Every decision about one stored output (a mention, a call, an account, a price change), oldest first."""
    async with tenant_transaction(pool, tenant, readonly=True) as conn:
        rows = await conn.fetch(BY_REF_SQL, tenant.tid, tenant.mid, ref_id)
    return [dict(r) for r in rows]
