"""Timeline activity, audit and outbox row schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from crm_core.schemas.common import RowPublic, WriteModel


class ActivityCreate(WriteModel):
    account_id: UUID | None = None
    contact_id: UUID | None = None
    opportunity_id: UUID | None = None
    kind: str = Field(min_length=1, max_length=100)
    subject: str | None = None
    body: str | None = None
    occurred_at: datetime | None = None
    source: str = "crm"
    external_ref: str | None = Field(
        default=None, description="Idempotency key for activities that come from events (the event id)."
    )
    payload: dict[str, Any] = Field(default_factory=dict)


class ActivityPublic(RowPublic):
    account_id: UUID | None
    contact_id: UUID | None
    opportunity_id: UUID | None
    kind: str
    subject: str | None
    body: str | None
    occurred_at: datetime
    source: str
    external_ref: str | None
    payload: dict[str, Any]


class AuditEntry(RowPublic):
    actor: str
    action: str
    entity_type: str
    entity_id: UUID | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    corr_id: str | None
