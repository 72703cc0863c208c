"""Campaign and campaign-recipient schemas."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crm_core.schemas.common import Attributes, Currency, EntityPublic, Name, RowPublic, WriteModel
from crm_core.schemas.enums import CampaignChannel, CampaignStatus, RecipientStatus

VariantKey = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]


class CampaignVariant(BaseModel):
    """One arm of an A/B test: its share of the recipients and the content it changes (the rest is the campaign's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: VariantKey
    weight: float = Field(default=1.0, gt=0, le=1000)
    subject: str | None = Field(default=None, max_length=500)
    html: str | None = Field(default=None, max_length=500_000)
    text: str | None = Field(default=None, max_length=200_000)


def _distinct_keys(variants: list[CampaignVariant] | None) -> list[CampaignVariant] | None:
    if variants is not None and len({v.key for v in variants}) != len(variants):
        raise ValueError("variant keys must be distinct")
    return variants


class CampaignBase(WriteModel):
    name: Name
    channel: CampaignChannel = CampaignChannel.EMAIL
    subject: str | None = Field(default=None, max_length=500, description="Template (Jinja2, merge fields).")
    body: str | None = Field(
        default=None, max_length=200_000, description="Plain-text template; derived from the HTML when absent."
    )
    html: str | None = Field(default=None, max_length=500_000, description="HTML template, auto-escaped.")
    variants: list[CampaignVariant] = Field(default_factory=list, max_length=26, description="A/B content arms.")
    personal_block: str | None = Field(
        default=None, max_length=50_000, description="Template for {{ personal_block }} (a fixed block for now)."
    )
    scheduled_at: datetime | None = None
    budget: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=2)
    currency: Currency = "RON"
    attributes: Attributes

    _variants = field_validator("variants")(_distinct_keys)


class CampaignCreate(CampaignBase):
    pass


class CampaignUpdate(WriteModel):
    name: Name | None = None
    channel: CampaignChannel | None = None
    subject: str | None = Field(default=None, max_length=500)
    body: str | None = Field(default=None, max_length=200_000)
    html: str | None = Field(default=None, max_length=500_000)
    variants: list[CampaignVariant] | None = Field(default=None, max_length=26)
    personal_block: str | None = Field(default=None, max_length=50_000)
    scheduled_at: datetime | None = None
    budget: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=2)
    currency: Currency | None = None
    attributes: dict[str, Any] | None = None

    _variants = field_validator("variants")(_distinct_keys)


class CampaignPublic(CampaignBase, EntityPublic):
    status: CampaignStatus
    sent_at: datetime | None


class CampaignRecipientPublic(RowPublic):
    campaign_id: UUID
    contact_id: UUID
    status: RecipientStatus
    sent_at: datetime | None
    error: str | None
