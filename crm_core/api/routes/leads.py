"""/v1/crm/leads, plus qualify and convert."""

import asyncio
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from crm_core.api.deps import ConnDep, CurrentUser, PoolDep, Readers, Writers
from crm_core.api.routes.crud import ListParams, add_crud_routes
from crm_core.schemas.common import Currency, Name, WriteModel
from crm_core.schemas.enums import LeadStatus
from crm_core.schemas.leads import LeadCreate, LeadPublic, LeadUpdate
from crm_core.services.lead_import import ImportFormatError, LeadImporter, load_mapping
from crm_core.services.leads import leads_service
from infra.db.ai_reads import prospect_intent
from infra.errors import InvalidInput, VettifyError

router = APIRouter(prefix="/leads", tags=["leads"])


class LeadFilters(ListParams):
    status: LeadStatus | None = None
    source: str | None = None
    email: str | None = None
    cui: str | None = None


class UnsupportedMediaType(VettifyError):
    status, code = 415, "unsupported_media_type"


class ImportReportOut(BaseModel):
    rows: int
    inserted: int
    duplicates: int = Field(description="Rows matching an existing lead or an earlier row (e-mail, CUI, fingerprint).")
    invalid: int
    errors: list[dict[str, Any]] = Field(description="Line number and reasons, first 1000.")
    errors_truncated: bool


@router.post(
    "/import",
    response_model=ImportReportOut,
    dependencies=[Writers],
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_leads(
    request: Request,
    pool: PoolDep,
    user: CurrentUser,
    mapping: Annotated[str | None, Query(max_length=4000, description='JSON {"CSV column": "lead field"}')] = None,
    source: Annotated[str, Query(min_length=1, max_length=100)] = "import",
    dry_run: bool = False,
) -> ImportReportOut:
    """Import leads from a CSV body (UTF-8, header row; up to 512 MiB, streamed to disk).

    Rows are validated like `POST /leads`, deduplicated against existing leads and earlier
    rows, and committed in batches of 1,000; running the same import again inserts nothing.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("text/csv", "application/csv", "application/octet-stream"):
        raise UnsupportedMediaType("send the CSV as the request body with Content-Type: text/csv")
    try:
        columns = load_mapping(mapping)
    except ImportFormatError as exc:
        raise InvalidInput(str(exc), fields=["mapping"]) from exc
    with tempfile.TemporaryDirectory(prefix="vettify-import-") as folder:
        path = Path(folder) / "upload.csv"
        handle = await asyncio.to_thread(path.open, "wb")
        try:
            async for chunk in request.stream():
                await asyncio.to_thread(handle.write, chunk)
        finally:
            await asyncio.to_thread(handle.close)
        importer = LeadImporter(pool, user.tenant, actor=user.sub)
        try:
            report = await importer.import_file(path, mapping=columns, source=source, dry_run=dry_run)
        except ImportFormatError as exc:
            raise InvalidInput(str(exc)) from exc
    return ImportReportOut(**report.as_dict())


add_crud_routes(
    router,
    service=leads_service,
    create_model=LeadCreate,
    update_model=LeadUpdate,
    public_model=LeadPublic,
    filters_model=LeadFilters,
)


class QualifyRequest(WriteModel):
    score: Annotated[int | None, Field(ge=0, le=100)] = Field(
        default=None, description="Omit to let the rule-based score decide (qualified at 50 or more)."
    )
    reason: str | None = Field(default=None, max_length=2000)
    disqualify: bool = False


class ConvertRequest(WriteModel):
    account_id: UUID | None = Field(default=None, description="Attach to this existing account instead.")
    account_name: Name | None = None
    opportunity_name: Name | None = None
    amount: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=2)
    currency: Currency = "RON"
    create_opportunity: bool = True


class ConvertResponse(BaseModel):
    lead: LeadPublic
    account_id: UUID
    contact_id: UUID
    opportunity_id: UUID | None
    already_converted: bool = Field(description="True when this was a retry of a finished conversion.")


class LeadIntent(BaseModel):
    available: bool = Field(description="False until LinkedIn activity of the lead's person has been matched to it.")
    prospects: list[dict[str, Any]] = Field(
        description="The lead's prospect (normally one): intent score now (0-100), top signals, match status."
    )


@router.get("/{lead_id}/intent", response_model=LeadIntent, dependencies=[Readers])
async def lead_intent(lead_id: UUID, conn: ConnDep, user: CurrentUser) -> LeadIntent:
    """The lead's LinkedIn intent: its matched prospect's score now and the activities that add most to it."""
    await leads_service.get(conn, user=user, id=lead_id)  # 404 unless the lead is this tenant's
    if not await conn.fetchval("SELECT to_regclass('ai.prospects') IS NOT NULL"):
        return LeadIntent(available=False, prospects=[])
    rows = await prospect_intent(conn, user.tenant.tid, user.tenant.mid, lead_id=lead_id)
    return LeadIntent(available=bool(rows), prospects=rows)


@router.post("/{lead_id}/qualify", response_model=LeadPublic, dependencies=[Writers])
async def qualify_lead(lead_id: UUID, body: QualifyRequest, conn: ConnDep, user: CurrentUser) -> LeadPublic:
    """Score the lead and mark it qualified or disqualified; the reason is stored."""
    return await leads_service.qualify(
        conn, user=user, id=lead_id, score=body.score, reason=body.reason, disqualify=body.disqualify
    )


@router.post("/{lead_id}/convert", response_model=ConvertResponse, dependencies=[Writers])
async def convert_lead(lead_id: UUID, body: ConvertRequest, conn: ConnDep, user: CurrentUser) -> ConvertResponse:
    """Create account + contact + opportunity from a qualified lead, in one transaction.

    Retrying is safe: a converted lead answers with the same ids and `already_converted: true`.
    """
    result = await leads_service.convert(
        conn,
        user=user,
        id=lead_id,
        account_id=body.account_id,
        account_name=body.account_name,
        opportunity_name=body.opportunity_name,
        amount=body.amount,
        currency=body.currency,
        create_opportunity=body.create_opportunity,
    )
    return ConvertResponse(
        lead=result.lead,
        account_id=result.account_id,
        contact_id=result.contact_id,
        opportunity_id=result.opportunity_id,
        already_converted=result.already_converted,
    )
