"""/v1/crm/campaigns, plus send."""

from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from crm_core.api.deps import ConnDep, CurrentUser, Senders
from crm_core.api.routes.crud import ListParams, add_crud_routes
from crm_core.schemas.campaigns import CampaignCreate, CampaignPublic, CampaignUpdate
from crm_core.schemas.common import WriteModel
from crm_core.schemas.enums import CampaignChannel, CampaignStatus
from crm_core.services.campaigns import campaigns_service

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


class CampaignFilters(ListParams):
    channel: CampaignChannel | None = None
    status: CampaignStatus | None = None


add_crud_routes(
    router,
    service=campaigns_service,
    create_model=CampaignCreate,
    update_model=CampaignUpdate,
    public_model=CampaignPublic,
    filters_model=CampaignFilters,
)


class SendRequest(WriteModel):
    contact_ids: list[UUID] | None = Field(
        default=None, max_length=100_000, description="Omit to send to every consenting contact."
    )
    account_id: UUID | None = Field(default=None, description="Only contacts of this account.")


class SendResponse(BaseModel):
    campaign: CampaignPublic
    recipients: int
    skipped_without_consent: int


@router.post("/{campaign_id}/send", response_model=SendResponse, dependencies=[Senders])
async def send_campaign(campaign_id: UUID, body: SendRequest, conn: ConnDep, user: CurrentUser) -> SendResponse:
    """Record the recipients (consenting contacts only) and emit crm.campaign.sent. Needs marketing:send."""
    result = await campaigns_service.send(
        conn, user=user, id=campaign_id, contact_ids=body.contact_ids, account_id=body.account_id
    )
    return SendResponse(
        campaign=result.campaign, recipients=result.recipients, skipped_without_consent=result.skipped_without_consent
    )
