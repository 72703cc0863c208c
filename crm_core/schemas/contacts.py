"""Contact (person) schemas."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from crm_core.schemas.common import Attributes, Email, EntityPublic, ShortText, WriteModel


class ContactBase(WriteModel):
    account_id: UUID | None = None
    first_name: ShortText
    last_name: ShortText = ""
    email: Email | None = None
    phone: ShortText | None = None
    title: ShortText | None = None
    consent_marketing: bool = False
    attributes: Attributes


class ContactCreate(ContactBase):
    pass


class ContactUpdate(WriteModel):
    account_id: UUID | None = None
    first_name: ShortText | None = None
    last_name: ShortText | None = None
    email: Email | None = None
    phone: ShortText | None = None
    title: ShortText | None = None
    consent_marketing: bool | None = None
    attributes: dict[str, Any] | None = None


class ContactPublic(ContactBase, EntityPublic):
    pass
