"""/v1/crm/privacy/settings and /v1/crm/contacts/{id}/consents: the tenant's redaction settings and each
contact's consent ledger (record a grant or a withdrawal, read the current state and the history)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from crm_core.api.deps import Admins, ConnDep, CurrentUser, Readers, TenantDep, Writers
from crm_core.privacy import consent
from crm_core.privacy import settings as privacy
from crm_core.repositories import audit
from crm_core.schemas.common import WriteModel
from infra.errors import NotFound

router = APIRouter(tags=["privacy"])


class PrivacySettingsIn(WriteModel):
    redact_transcripts: bool = Field(
        description="Replace e-mail addresses, phone numbers, IBANs and CNPs in call transcripts before they are "
        "stored or embedded (default on)."
    )
    redact_mentions: bool = Field(description="The same for social mention text (default off: public posts).")


class PrivacySettingsOut(PrivacySettingsIn):
    default: bool = Field(description="True: the tenant has set nothing and these are the defaults.")


@router.get("/privacy/settings", response_model=PrivacySettingsOut, dependencies=[Readers])
async def get_settings(conn: ConnDep, tenant: TenantDep) -> PrivacySettingsOut:
    own = await privacy.stored(conn, tenant.tid, tenant.mid)
    return PrivacySettingsOut(**vars(own or privacy.DEFAULTS), default=own is None)


@router.put("/privacy/settings", response_model=PrivacySettingsOut, dependencies=[Admins])
async def put_settings(body: PrivacySettingsIn, conn: ConnDep, user: CurrentUser) -> PrivacySettingsOut:
    """Change the tenant's redaction settings (``crm:admin``; tenant-wide whatever the token's branch). The
    stream processors apply a change within seconds; what is already stored stays as it was."""
    tenant = user.tenant
    before = await privacy.load(conn, tenant.tid, tenant.mid)
    await privacy.save(conn, tenant.tid, tenant.mid, privacy.PrivacySettings(**body.model_dump()))
    await audit.record(
        conn,
        tenant=tenant,
        actor=user.sub,
        action="update",
        entity_type="privacy_settings",
        entity_id=None,
        before=vars(before),
        after=body.model_dump(),
    )
    return PrivacySettingsOut(**body.model_dump(), default=False)


class ConsentIn(WriteModel):
    purpose: consent.Purpose
    granted: bool = Field(description="true: the contact agreed; false: withdrew or refused")
    source: str = Field(min_length=1, max_length=200, description="where it was given: web_form, call, e-mail …")
    evidence: dict[str, Any] = Field(
        default_factory=dict, description="what proves it: form id, IP, the wording shown, a recording id …"
    )
    occurred_at: datetime | None = Field(default=None, description="when the contact said it (default: now)")


class ConsentEntry(BaseModel):
    id: UUID
    purpose: str
    granted: bool
    source: str
    evidence: dict[str, Any]
    occurred_at: datetime
    created_at: datetime


class ConsentState(BaseModel):
    contact_id: UUID
    current: dict[str, bool | None] = Field(description="each purpose's latest answer; null: never asked")
    history: list[ConsentEntry]


async def _contact(conn: ConnDep, tenant: TenantDep, contact_id: UUID) -> None:
    if not await consent.contact_exists(conn, tenant, contact_id):
        raise NotFound(f"contact {contact_id} not found")


@router.post("/contacts/{contact_id}/consents", status_code=201, response_model=ConsentEntry, dependencies=[Writers])
async def record_consent(contact_id: UUID, body: ConsentIn, conn: ConnDep, user: CurrentUser) -> ConsentEntry:
    """Append a grant or a withdrawal to the contact's ledger (never edited or deleted). Withdrawing
    ``marketing_email`` stops the next campaign send to them; withdrawing ``profiling`` leaves them only
    non-personal (popularity) recommendations. ``call_analysis`` is recorded here; its check before a call is
    analysed is not built yet."""
    await _contact(conn, user.tenant, contact_id)
    row = await consent.record(conn, user.tenant, contact_id, **body.model_dump())
    return ConsentEntry(**row)


@router.get("/contacts/{contact_id}/consents", response_model=ConsentState, dependencies=[Readers])
async def read_consents(contact_id: UUID, conn: ConnDep, tenant: TenantDep) -> ConsentState:
    await _contact(conn, tenant, contact_id)
    return ConsentState(
        contact_id=contact_id,
        current=await consent.current(conn, tenant, contact_id),
        history=[ConsentEntry(**r) for r in await consent.history(conn, tenant, contact_id)],
    )
