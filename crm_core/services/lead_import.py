"""Bulk lead import from CSV.

The file is read in batches (default 1,000 rows) in a worker thread, so neither
memory nor the event loop depends on its size. Each row is validated like a
``POST /leads`` body; invalid rows are reported with their line number and
reasons and skipped. Rows that match a live lead (or an earlier row of the
file) by e-mail, CUI or row fingerprint are skipped, which makes re-running the
same import a no-op. Each batch commits on its own, with one
``crm.lead.created`` outbox event per inserted lead: an interrupted import is
resumed by running it again.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import asyncpg
from pydantic import BaseModel, ValidationError

from crm_core.anaf.cui import InvalidCui, normalize_cui
from crm_core.schemas.leads import LeadCreate
from infra import tracing
from infra.db import rows_changed
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.http.correlation import current_corr_id
from infra.text import fold

FIELDS = ("first_name", "last_name", "email", "phone", "company_name", "cui", "source")
ALIASES = {
    "firstname": "first_name",
    "first name": "first_name",
    "prenume": "first_name",
    "lastname": "last_name",
    "last name": "last_name",
    "nume": "last_name",
    "e-mail": "email",
    "mail": "email",
    "telefon": "phone",
    "phone number": "phone",
    "company": "company_name",
    "company name": "company_name",
    "firma": "company_name",
    "denumire": "company_name",
    "cif": "cui",
    "cod fiscal": "cui",
    "vat": "cui",
}
MAX_REPORTED_ERRORS = 1000

EXISTING_SQL = """
SELECT email_lower AS email, cui, import_fingerprint AS fingerprint
FROM crm.leads
WHERE tid = $1 AND mid = $2 AND deleted_at IS NULL
  AND (email_lower = ANY($3::text[]) OR cui = ANY($4::text[]) OR import_fingerprint = ANY($5::text[]))
"""

INSERT_SQL = """
WITH new AS (
    INSERT INTO crm.leads
        (tid, whid, mid, first_name, last_name, email, phone, company_name, cui, source, attributes, import_fingerprint)
    SELECT $1, $2, $3, r.first_name, r.last_name, r.email, r.phone, r.company_name, r.cui, r.source,
           r.attributes::jsonb, r.fingerprint
    FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                $14::text[])
        AS r(first_name, last_name, email, phone, company_name, cui, source, attributes, fingerprint)
    RETURNING *
)
INSERT INTO crm.outbox (tid, whid, mid, aggregate_type, aggregate_id, event_type, payload, corr_id, traceparent)
SELECT tid, whid, mid, 'lead', id, 'crm.lead.created',
       jsonb_build_object('lead_id', id, 'email', email, 'company_name', company_name, 'cui', cui,
                          'source', source, 'created_by', $12::text),
       $13, $15
FROM new
"""

AUDIT_SQL = """
INSERT INTO crm.audit_log (tid, whid, mid, actor, action, entity_type, after, corr_id)
VALUES ($1, $2, $3, $4, 'import', 'lead', $5::text::jsonb, $6)
"""


class ImportFormatError(ValueError):
    """The file is not a CSV this importer can read (no header, unknown mapping, …)."""


class RowError(BaseModel):
    line: int
    errors: list[str]


@dataclass
class ImportReport:
    rows: int = 0
    inserted: int = 0
    duplicates: int = 0
    invalid: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "inserted": self.inserted,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "errors": [e.model_dump() for e in self.errors],
            "errors_truncated": self.invalid > len(self.errors),
        }


def resolve_mapping(header: list[str], mapping: dict[str, str] | None) -> dict[str, str]:
    """CSV column → lead field. Unmapped columns go to ``attributes``."""
    if mapping:
        unknown = sorted(set(mapping.values()) - set(FIELDS))
        if unknown:
            raise ImportFormatError(f"mapping targets unknown lead fields {unknown}; known: {', '.join(FIELDS)}")
        missing = sorted(set(mapping) - set(header))
        if missing:
            raise ImportFormatError(f"mapping names columns the file does not have: {missing}")
        return dict(mapping)
    resolved = {}
    for column in header:
        key = column.strip().lower()
        target = key.replace(" ", "_") if key.replace(" ", "_") in FIELDS else ALIASES.get(key)
        if target:
            resolved[column] = target
    if not resolved:
        raise ImportFormatError(f"no column maps to a lead field; columns: {header}; pass a mapping")
    return resolved


def fingerprint(values: dict[str, Any]) -> str:
    basis = "|".join(fold(str(values.get(f) or "")) for f in FIELDS if f != "source")
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


class _Batches:
    """Reads the CSV in batches of (line number, row) from a worker thread."""

    def __init__(self, handle: TextIO, batch_size: int) -> None:
        self.reader = csv.DictReader(handle)
        self.batch_size = batch_size
        header = self.reader.fieldnames
        if not header:
            raise ImportFormatError("the file is empty or has no header row")
        self.header = list(header)

    def next_batch(self) -> list[tuple[int, dict[str, str]]]:
        batch: list[tuple[int, dict[str, str]]] = []
        for row in self.reader:
            batch.append((self.reader.line_num, row))
            if len(batch) >= self.batch_size:
                break
        return batch


def _validated(line: int, row: dict[str, str], mapping: dict[str, str], source: str) -> dict[str, Any] | RowError:
    if None in row:
        return RowError(line=line, errors=["more cells than header columns"])
    values: dict[str, Any] = {"source": source}
    extra: dict[str, str] = {}
    for column, raw in row.items():
        text = (raw or "").strip()
        if column in mapping:
            values[mapping[column]] = text or None
        elif text:
            extra[column] = text
    if values.get("source") is None:
        values["source"] = source
    try:
        lead = LeadCreate.model_validate(values)
    except ValidationError as exc:
        return RowError(line=line, errors=[f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()])
    data = lead.model_dump()
    if data.get("cui"):
        try:
            data["cui"] = normalize_cui(data["cui"])
        except InvalidCui as exc:
            return RowError(line=line, errors=[f"cui: {exc}"])
    if not any(data.get(f) for f in ("email", "cui", "company_name", "last_name", "phone")):
        return RowError(line=line, errors=["row has no e-mail, CUI, company, name or phone"])
    data["attributes"] = extra
    data["fingerprint"] = fingerprint(data)
    return data


class LeadImporter:
    def __init__(self, pool: asyncpg.Pool, tenant: TenantContext, *, actor: str, batch_size: int = 1000) -> None:
        self.pool = pool
        self.tenant = tenant
        self.actor = actor
        self.batch_size = batch_size

    async def import_file(
        self,
        path: Path,
        *,
        mapping: dict[str, str] | None = None,
        source: str = "import",
        dry_run: bool = False,
        progress: Callable[[ImportReport], None] | None = None,
    ) -> ImportReport:
        handle = await asyncio.to_thread(path.open, "r", encoding="utf-8-sig", newline="")
        try:
            batches = await asyncio.to_thread(_Batches, handle, self.batch_size)
            columns = resolve_mapping(batches.header, mapping)
            report = ImportReport()
            seen: set[str] = set()
            while batch := await asyncio.to_thread(batches.next_batch):
                await self._batch(batch, columns, source, dry_run, report, seen)
                if progress:
                    progress(report)
            return report
        except UnicodeDecodeError as exc:
            raise ImportFormatError(f"the file is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc
        except csv.Error as exc:
            raise ImportFormatError(f"not a readable CSV: {exc}") from exc
        finally:
            await asyncio.to_thread(handle.close)

    async def _batch(
        self,
        batch: list[tuple[int, dict[str, str]]],
        mapping: dict[str, str],
        source: str,
        dry_run: bool,
        report: ImportReport,
        seen: set[str],
    ) -> None:
        report.rows += len(batch)
        candidates = []
        for line, row in batch:
            result = _validated(line, row, mapping, source)
            if isinstance(result, RowError):
                report.invalid += 1
                if len(report.errors) < MAX_REPORTED_ERRORS:
                    report.errors.append(result)
            else:
                candidates.append(result)
        tenant = self.tenant
        async with tenant_transaction(self.pool, tenant) as conn:
            # With RLS and array parameters a cached generic plan degrades to a scan of the
            # tenant's leads; planning each batch with its real values keeps index lookups.
            await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            existing = await conn.fetch(
                EXISTING_SQL,
                tenant.tid,
                tenant.mid,
                [c["email"].lower() for c in candidates if c.get("email")],
                [c["cui"] for c in candidates if c.get("cui")],
                [c["fingerprint"] for c in candidates],
            )
            for r in existing:
                seen.update(f"{kind}:{value}" for kind, value in r.items() if value)
            fresh = []
            for c in candidates:
                keys = {f"fingerprint:{c['fingerprint']}"}
                if c.get("email"):
                    keys.add(f"email:{c['email'].lower()}")
                if c.get("cui"):
                    keys.add(f"cui:{c['cui']}")
                if keys & seen:
                    report.duplicates += 1
                    continue
                seen.update(keys)
                fresh.append(c)
            if fresh and not dry_run:
                status = await conn.execute(
                    INSERT_SQL,
                    tenant.tid,
                    tenant.whid,
                    tenant.mid,
                    *([c.get(f) for c in fresh] for f in FIELDS),
                    [json.dumps(c["attributes"]) for c in fresh],
                    self.actor,
                    current_corr_id(),
                    [c["fingerprint"] for c in fresh],
                    tracing.current_traceparent(),
                )
                summary = {"inserted": rows_changed(status), "lines": [batch[0][0], batch[-1][0]]}
                await conn.execute(
                    AUDIT_SQL, tenant.tid, tenant.whid, tenant.mid, self.actor, json.dumps(summary), current_corr_id()
                )
            report.inserted += len(fresh)


def load_mapping(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    try:
        mapping = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"mapping is not JSON: {exc}") from exc
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise ImportFormatError('mapping must be a JSON object of "CSV column": "lead field"')
    return mapping
