"""/v1/crm/campaigns, plus send, preview, figures and per-recipient deliveries."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from crm_core.api.deps import ConnDep, CurrentUser, Readers, Senders
from crm_core.api.routes.crud import ListParams, add_crud_routes
from crm_core.delivery import figures, preview, queue
from crm_core.delivery.experiments import ABMetric
from crm_core.delivery.worker import DeliveryConfig
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
    ab_metric: ABMetric = Field(
        default="click",
        description="With two or more variants: what the A/B test judges them on (unique opens, clicks, orders "
        "after a click, or revenue per recipient). The engine re-reads it while the campaign sends, moves the "
        "still-queued recipients towards the likely winner and to the winner once one is certain.",
    )


class SendResponse(BaseModel):
    campaign: CampaignPublic
    recipients: int = Field(description="Consenting contacts the campaign goes to (one delivery row each).")
    skipped_without_consent: int
    queued: int = Field(default=0, description="E-mail: deliveries queued for the worker.")
    skipped_invalid_address: int = Field(
        default=0, description="E-mail: recipients without a usable address (their delivery row says why)."
    )


@router.post("/{campaign_id}/send", response_model=SendResponse, dependencies=[Senders])
async def send_campaign(campaign_id: UUID, body: SendRequest, conn: ConnDep, user: CurrentUser) -> SendResponse:
    """Queue one delivery per consenting contact and emit crm.campaign.sent. Needs marketing:send.

    E-mail campaigns go to ``sending`` and the delivery worker sends them (consent and suppressions are checked
    again at send time); the worker marks the campaign ``sent`` when nobody is left."""
    result = await campaigns_service.send(
        conn,
        user=user,
        id=campaign_id,
        contact_ids=body.contact_ids,
        account_id=body.account_id,
        ab_metric=body.ab_metric,
    )
    return SendResponse(
        campaign=result.campaign,
        recipients=result.recipients,
        skipped_without_consent=result.skipped_without_consent,
        queued=result.queued,
        skipped_invalid_address=result.skipped_invalid_address,
    )


def delivery_config(request: Request) -> DeliveryConfig:
    config: DeliveryConfig = request.app.state.delivery_config
    return config


class PreviewOut(BaseModel):
    variant: str
    subject: str
    text: str
    html: str | None
    headers: dict[str, str]


@router.post("/{campaign_id}/preview", response_model=PreviewOut, dependencies=[Readers])
async def preview_campaign(
    campaign_id: UUID,
    conn: ConnDep,
    user: CurrentUser,
    request: Request,
    contact_id: Annotated[UUID, Query(description="The contact to render for.")],
    variant: Annotated[str | None, Query(max_length=32, description="Variant key; default the first.")] = None,
) -> PreviewOut:
    """Render the campaign for one contact exactly as the worker would (merge fields, links, headers)."""
    shown = await preview.preview(
        conn,
        tenant=user.tenant,
        campaign_id=campaign_id,
        contact_id=contact_id,
        variant=variant,
        config=delivery_config(request),
    )
    return PreviewOut(
        variant=shown.variant, subject=shown.subject, text=shown.text, html=shown.html, headers=shown.headers
    )


@router.get("/{campaign_id}/figures", dependencies=[Readers])
async def campaign_figures(
    campaign_id: UUID,
    conn: ConnDep,
    user: CurrentUser,
    request: Request,
    conversion_window_days: Annotated[int | None, Query(ge=1, le=365)] = None,
) -> dict[str, object]:
    """Per variant and in total: sent, delivered, bounced, unique human opens and clicks, unsubscribes,
    conversions and revenue (orders on the clicker's account within the window after the first click)."""
    campaign = await campaigns_service.get(conn, user=user, id=campaign_id)
    window = conversion_window_days or request.app.state.settings.conversion_window_days
    result = await figures.campaign_figures(
        conn, tenant=user.tenant, campaign_id=campaign.id, currency=campaign.currency, window_days=window
    )
    return result.as_dict()


class DeliveryOut(BaseModel):
    id: UUID
    contact_id: UUID
    variant: str
    email: str | None
    state: queue.State
    attempts: int
    next_attempt_at: datetime
    smtp_code: int | None
    reason: str | None
    sent_at: datetime | None
    updated_at: datetime


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


@router.get("/{campaign_id}/deliveries", response_model=DeliveryPage, dependencies=[Readers])
async def campaign_deliveries(
    campaign_id: UUID,
    conn: ConnDep,
    user: CurrentUser,
    state: queue.State | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[UUID | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> DeliveryPage:
    """One row per recipient with its state and, where it did not go out, the reason."""
    await campaigns_service.get(conn, user=user, id=campaign_id)
    rows = await queue.list_deliveries(
        conn, tenant=user.tenant, campaign_id=campaign_id, state=state, after=cursor, limit=limit
    )
    items = [DeliveryOut.model_validate(r) for r in rows]
    return DeliveryPage(items=items, next_cursor=str(items[-1].id) if len(items) == limit else None)
