"""/v1/crm/channel-spend: what the tenant spent per marketing channel and period (JSON or CSV import).

Attribution turns it into ROAS and CPA per channel (``GET /v1/insights/attribution``), and the budget planner
fits response curves on it (``GET /v1/insights/budget``). A row is one channel, period and currency;
importing the same row again replaces its amount, so a corrected export can be re-sent whole.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, ValidationError, model_validator

from crm_core.api.deps import ConnDep, Readers, TenantDep, Writers
from crm_core.schemas.common import WriteModel
from infra.errors import InvalidInput, UnsupportedMediaType

router = APIRouter(prefix="/channel-spend", tags=["marketing"])
MAX_ROWS = 10_000

Channel = Annotated[str, Field(pattern=r"^[a-z0-9_.-]{1,40}$", description="e.g. google_ads, facebook, email")]


class SpendRow(WriteModel):
    channel: Channel
    period_start: date
    period_end: date
    amount: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    currency: str = Field(default="RON", pattern=r"^[A-Z]{3}$")

    @model_validator(mode="after")
    def _period(self) -> SpendRow:
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        return self


class SpendImport(WriteModel):
    rows: list[SpendRow] = Field(min_length=1, max_length=MAX_ROWS)


class SpendOut(BaseModel):
    channel: str
    period_start: date
    period_end: date
    amount: Decimal
    currency: str
    source: str


class ImportResult(BaseModel):
    imported: int = Field(description="rows stored (new or replacing the same channel, period and currency)")


UPSERT_SQL = """
INSERT INTO crm.channel_spend (tid, whid, mid, channel, period_start, period_end, amount, currency, source)
SELECT $1, $2, $3, r.channel, r.period_start, r.period_end, r.amount, r.currency, $9
FROM unnest($4::text[], $5::date[], $6::date[], $7::numeric[], $8::text[])
    AS r(channel, period_start, period_end, amount, currency)
ON CONFLICT (tid, mid, (coalesce(whid, '')), channel, period_start, period_end, currency)
DO UPDATE SET amount = EXCLUDED.amount, source = EXCLUDED.source, updated_at = now()
"""

LIST_SQL = """
SELECT channel, period_start, period_end, amount, currency, source FROM crm.channel_spend
WHERE tid = $1 AND mid = $2 AND ($3::date IS NULL OR period_end >= $3) AND ($4::date IS NULL OR period_start <= $4)
  AND ($5::text IS NULL OR channel = $5)
ORDER BY period_start, channel
LIMIT 5000
"""


async def _store(conn: ConnDep, tenant: TenantDep, rows: list[SpendRow], source: Literal["api", "csv"]) -> int:
    keys = {(r.channel, r.period_start, r.period_end, r.currency) for r in rows}
    if len(keys) != len(rows):
        raise InvalidInput("the same channel, period and currency appear twice in one import")
    await conn.execute(
        UPSERT_SQL,
        tenant.tid,
        tenant.whid,
        tenant.mid,
        [r.channel for r in rows],
        [r.period_start for r in rows],
        [r.period_end for r in rows],
        [r.amount for r in rows],
        [r.currency for r in rows],
        source,
    )
    return len(rows)


@router.put("", response_model=ImportResult, dependencies=[Writers])
async def import_spend(body: SpendImport, conn: ConnDep, tenant: TenantDep) -> ImportResult:
    """Store spend rows (JSON); a row for a channel, period and currency already stored replaces it."""
    return ImportResult(imported=await _store(conn, tenant, body.rows, "api"))


def parse_csv(text: str) -> list[SpendRow]:
    """``channel,period_start,period_end,amount[,currency]`` with a header; a bad line is named with its number."""
    try:
        return _rows(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    except csv.Error as exc:  # e.g. a field over the csv module's size limit
        raise InvalidInput(f"the CSV cannot be read: {exc}") from exc


def _rows(reader: csv.DictReader[str]) -> list[SpendRow]:
    needed = {"channel", "period_start", "period_end", "amount"}
    if reader.fieldnames is None or not needed <= {f.strip() for f in reader.fieldnames}:
        raise InvalidInput(f"the CSV needs a header with {', '.join(sorted(needed))} (and optionally currency)")
    rows: list[SpendRow] = []
    problems: list[str] = []
    for line, raw in enumerate(reader, start=2):
        values = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not values.get("currency"):
            values.pop("currency", None)
        try:
            rows.append(SpendRow.model_validate(values))
        except ValidationError as exc:
            problems.append(
                f"line {line}: " + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            )
        if len(rows) > MAX_ROWS:
            raise InvalidInput(f"at most {MAX_ROWS} rows per import")
    if problems:
        raise InvalidInput(" | ".join(problems[:20]), lines=problems[:100])
    if not rows:
        raise InvalidInput("the CSV has no rows")
    return rows


@router.post(
    "/csv",
    response_model=ImportResult,
    dependencies=[Writers],
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_spend_csv(request: Request, conn: ConnDep, tenant: TenantDep) -> ImportResult:
    """The same import from a CSV body (``Content-Type: text/csv``): an ad platform's export, re-sendable whole."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("text/csv", "text/plain")):
        raise UnsupportedMediaType(f"send the CSV with Content-Type text/csv, not {content_type!r}")
    try:
        text = (await request.body()).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the CSV is not UTF-8") from exc
    return ImportResult(imported=await _store(conn, tenant, parse_csv(text), "csv"))


@router.get("", response_model=list[SpendOut], dependencies=[Readers])
async def list_spend(
    conn: ConnDep,
    tenant: TenantDep,
    since: date | None = None,
    until: date | None = None,
    channel: Annotated[str | None, Query(pattern=r"^[a-z0-9_.-]{1,40}$")] = None,
) -> list[SpendOut]:
    """Spend rows overlapping [since, until], oldest first."""
    rows = await conn.fetch(LIST_SQL, tenant.tid, tenant.mid, since, until, channel)
    return [SpendOut.model_validate(dict(r)) for r in rows]
