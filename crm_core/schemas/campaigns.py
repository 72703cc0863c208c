"""Campaign and campaign-recipient schemas."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import Field

from crm_core.schemas.common import Attributes, Currency, EntityPublic, Name, RowPublic, WriteModel
from crm_core.schemas.enums import CampaignChannel, CampaignStatus, RecipientStatus


class CampaignBase(WriteModel):
    name: Name
    channel: CampaignChannel = CampaignChannel.EMAIL
    subject: str | None = Field(default=None, max_length=500)
    body: str | None = Field(default=None, max_length=200_000)
    scheduled_at: datetime | None = None
    budget: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=2)
    currency: Currency = "RON"
    attributes: Attributes


class CampaignCreate(CampaignBase):
    pass


class CampaignUpdate(WriteModel):
    name: Name | None = None
    channel: CampaignChannel | None = None
    subject: str | None = Field(default=None, max_length=500)
    body: str | None = Field(default=None, max_length=200_000)
    scheduled_at: datetime | None = None
    budget: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=2)
    currency: Currency | None = None
    attributes: dict[str, Any] | None = None


class CampaignPublic(CampaignBase, EntityPublic):
    status: CampaignStatus
    sent_at: datetime | None


class CampaignRecipientPublic(RowPublic):
    campaign_id: UUID
    contact_id: UUID
    status: RecipientStatus
    sent_at: datetime | None
    error: str | None
