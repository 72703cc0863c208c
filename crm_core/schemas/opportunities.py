"""Opportunity (deal) schemas."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import Field

from crm_core.schemas.common import Attributes, Currency, EntityPublic, Name, ShortText, WriteModel
from crm_core.schemas.enums import OpportunityStage

Amount = Decimal


class OpportunityBase(WriteModel):
    account_id: UUID
    contact_id: UUID | None = None
    lead_id: UUID | None = None
    name: Name
    pipeline: ShortText = "default"
    amount: Amount | None = Field(default=None, ge=0, max_digits=18, decimal_places=2)
    currency: Currency = "RON"
    probability: int | None = Field(default=None, ge=0, le=100)
    expected_close: date | None = None
    attributes: Attributes


class OpportunityCreate(OpportunityBase):
    pass


class OpportunityUpdate(WriteModel):
    """Field edits. The stage changes through its own transition operation."""

    contact_id: UUID | None = None
    name: Name | None = None
    pipeline: ShortText | None = None
    amount: Amount | None = Field(default=None, ge=0, max_digits=18, decimal_places=2)
    currency: Currency | None = None
    probability: int | None = Field(default=None, ge=0, le=100)
    expected_close: date | None = None
    attributes: dict[str, Any] | None = None


class OpportunityPublic(OpportunityBase, EntityPublic):
    stage: OpportunityStage
    closed_at: datetime | None
    sales_order_id: str | None
