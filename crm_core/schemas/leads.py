"""Lead schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from crm_core.schemas.common import Attributes, Cui, Email, EntityPublic, ShortText, WriteModel
from crm_core.schemas.enums import LeadStatus


class LeadBase(WriteModel):
    first_name: ShortText | None = None
    last_name: ShortText | None = None
    email: Email | None = None
    phone: ShortText | None = None
    company_name: ShortText | None = None
    cui: Cui | None = None
    source: ShortText = "manual"
    attributes: Attributes


class LeadCreate(LeadBase):
    pass


class LeadUpdate(WriteModel):
    first_name: ShortText | None = None
    last_name: ShortText | None = None
    email: Email | None = None
    phone: ShortText | None = None
    company_name: ShortText | None = None
    cui: Cui | None = None
    source: ShortText | None = None
    attributes: dict[str, Any] | None = None


class LeadPublic(LeadBase, EntityPublic):
    status: LeadStatus
    score: int | None
    score_reason: str | None
    converted_at: datetime | None
    converted_account_id: UUID | None
    converted_contact_id: UUID | None
    converted_opportunity_id: UUID | None
