"""Account (company) schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm_core.schemas.common import Attributes, CountryCode, Cui, EntityPublic, Name, ShortText, WriteModel
from crm_core.schemas.enums import ComplianceStatus


class AccountBase(WriteModel):
    name: Name
    cui: Cui | None = None
    domain: ShortText | None = None
    industry: ShortText | None = None
    country: CountryCode = "RO"
    city: ShortText | None = None
    address: str | None = None
    phone: ShortText | None = None
    owner_id: ShortText | None = None
    attributes: Attributes


class AccountCreate(AccountBase):
    pass


class AccountUpdate(WriteModel):
    name: Name | None = None
    cui: Cui | None = None
    domain: ShortText | None = None
    industry: ShortText | None = None
    country: CountryCode | None = None
    city: ShortText | None = None
    address: str | None = None
    phone: ShortText | None = None
    owner_id: ShortText | None = None
    attributes: dict[str, Any] | None = None


class AccountPublic(AccountBase, EntityPublic):
    compliance_status: ComplianceStatus
    compliance_checked_at: datetime | None
    anaf_data: dict[str, Any] | None
