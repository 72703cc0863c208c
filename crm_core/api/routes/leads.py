"""/v1/crm/leads, plus qualify and convert."""

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from crm_core.api.deps import ConnDep, CurrentUser, Writers
from crm_core.api.routes.crud import ListParams, add_crud_routes
from crm_core.schemas.common import Currency, Name
from crm_core.schemas.enums import LeadStatus
from crm_core.schemas.leads import LeadCreate, LeadPublic, LeadUpdate
from crm_core.services.leads import leads_service

router = APIRouter(prefix="/leads", tags=["leads"])


class LeadFilters(ListParams):
    status: LeadStatus | None = None
    source: str | None = None
    email: str | None = None
    cui: str | None = None


add_crud_routes(
    router,
    service=leads_service,
    create_model=LeadCreate,
    update_model=LeadUpdate,
    public_model=LeadPublic,
    filters_model=LeadFilters,
)


class QualifyRequest(BaseModel):
    score: Annotated[int | None, Field(ge=0, le=100)] = Field(
        default=None, description="Omit to let the rule-based score decide (qualified at 50 or more)."
    )
    reason: str | None = Field(default=None, max_length=2000)
    disqualify: bool = False


class ConvertRequest(BaseModel):
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
