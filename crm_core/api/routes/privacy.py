"""/v1/crm/privacy/… and /v1/crm/contacts/{id}/consents: the tenant's redaction settings, each contact's
consent ledger (record a grant or a withdrawal, read the current state and the history), erasure requests
with their signed completion certificates, and the signed subject access export."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, model_validator

from crm_core.api.deps import Admins, ConnDep, CurrentUser, PoolDep, Readers, TenantDep, Writers
from crm_core.privacy import consent, erasure, export, retention
from crm_core.privacy import settings as privacy
from crm_core.privacy.subject import SubjectKind, normalise, privacy_transaction, subject_hash
from crm_core.repositories import audit
from crm_core.schemas.common import WriteModel
from infra.errors import Conflict, Forbidden, InvalidInput, NotFound
from infra.security import Principal

router = APIRouter(tags=["privacy"])


class PrivacySettingsIn(WriteModel):
    redact_transcripts: bool = Field(
        description="Replace e-mail addresses, phone numbers, IBANs and CNPs in call transcripts before they are "
        "stored or embedded (default on)."
    )
    redact_mentions: bool = Field(description="The same for social mention text (default off: public posts).")
    require_call_consent: bool = Field(
        default=True,
        description="A recorded call naming a contact is transcribed and analysed only if the contact's latest "
        "call_analysis consent is a grant (default on); off: unless they withdrew it. Otherwise the call is "
        "stored as not analysed, with the reason.",
    )
    mention_text_days: int | None = Field(
        default=None,
        ge=1,
        le=36500,
        description="Mention text, author and vector go after this many days; "
        "sentiment, brand and time stay for the aggregates. Null (default): kept.",
    )
    transcript_days: int | None = Field(
        default=None,
        ge=1,
        le=36500,
        description="Call transcripts, segments, words, passages and vectors go "
        "after this many days; the call's figures (sentiment, pace, engagement) stay. Null: kept.",
    )
    tracking_days: int | None = Field(
        default=None,
        ge=1,
        le=36500,
        description="Web behaviour events and journeys, e-mail open/click details "
        "and recommendation interactions go after this many days (e.g. 395 for 13 months). Null: kept.",
    )


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
    non-personal (popularity) recommendations. Without a ``call_analysis`` grant, a recorded call naming the
    contact is stored as not analysed (see the tenant's ``require_call_consent``)."""
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


class SubjectIn(WriteModel):
    """Exactly one of ``contact_id``, ``email`` or ``handle``."""

    contact_id: UUID | None = None
    email: str | None = Field(default=None, min_length=3, max_length=320)
    handle: str | None = Field(
        default=None, min_length=1, max_length=200, description="social handle, with or without @"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> SubjectIn:
        if sum(v is not None for v in (self.contact_id, self.email, self.handle)) != 1:
            raise ValueError("name the subject by exactly one of contact_id, email or handle")
        return self

    def subject(self) -> tuple[SubjectKind, str]:
        if self.contact_id is not None:
            return "contact", str(self.contact_id)
        if self.email is not None:
            return "email", normalise("email", self.email)
        assert self.handle is not None
        return "handle", normalise("handle", self.handle)


class ErasureRequestOut(BaseModel):
    id: UUID
    state: str = Field(description="pending, running, done or failed (after repeated errors; see last_error)")
    subject_kind: str
    subject_hash: str = Field(description="keyed hash of the subject: the request never shows who it was")
    created_at: datetime
    completed_at: datetime | None
    attempts: int
    last_error: str | None
    steps_done: list[str]
    removed: dict[str, int] = Field(description="rows (or keys) each store gave up")
    certificate: dict[str, Any] | None = Field(description="signed completion certificate, once done")


def _tenant_wide(user: Principal) -> None:
    if user.tenant.whid is not None:
        raise Forbidden("erasure and export cover every branch of the tenant: use a tenant-wide token (no whid)")


async def _subject(request: Request, pool: PoolDep, user: Principal, body: SubjectIn) -> tuple[SubjectKind, str, str]:
    kind, value = body.subject()
    if kind == "contact":
        async with privacy_transaction(pool, user.tenant, readonly=True) as conn:
            found = await conn.fetchval(
                "SELECT 1 FROM crm.contacts WHERE tid = $1 AND mid = $2 AND id = $3",
                user.tenant.tid,
                user.tenant.mid,
                body.contact_id,
            )
        if found is None:
            raise NotFound(f"contact {body.contact_id} not found")
    return kind, value, subject_hash(request.app.state.subject_hash_key, user.tenant, kind, value)


@router.post(
    "/privacy/erasure-requests",
    status_code=202,
    response_model=ErasureRequestOut,
    dependencies=[Admins],
    responses={200: {"description": "an erasure of the same subject is already under way: that request"}},
)
async def request_erasure(
    body: SubjectIn, request: Request, response: Response, pool: PoolDep, user: CurrentUser
) -> ErasureRequestOut:
    """Erase a person everywhere (``crm:admin``, tenant-wide token). The job runs in the background and
    resumes after a restart; poll ``GET …/erasure-requests/{id}`` for its state and, once done, its signed
    certificate. Asking again for the same subject while it runs returns the running request (200)."""
    _tenant_wide(user)
    kind, value, digest = await _subject(request, pool, user, body)
    async with privacy_transaction(pool, user.tenant) as conn:
        row, new = await erasure.request_erasure(
            conn, user.tenant, kind=kind, value=value, subject_hash=digest, requested_by=user.sub
        )
    if not new:
        response.status_code = 200
    response.headers["Location"] = f"/v1/crm/privacy/erasure-requests/{row['id']}"
    return ErasureRequestOut(**row)


@router.get("/privacy/erasure-requests/{request_id}", response_model=ErasureRequestOut, dependencies=[Admins])
async def read_erasure(request_id: UUID, conn: ConnDep, tenant: TenantDep) -> ErasureRequestOut:
    row = await erasure.get_request(conn, tenant, request_id)
    if row is None:
        raise NotFound(f"erasure request {request_id} not found")
    return ErasureRequestOut(**row)


@router.get("/privacy/erasure-requests/{request_id}/certificate", dependencies=[Admins])
async def erasure_certificate(request_id: UUID, conn: ConnDep, tenant: TenantDep) -> dict[str, Any]:
    """The signed completion certificate (verify with the key from ``GET /v1/crm/audit/public-key``)."""
    row = await erasure.get_request(conn, tenant, request_id)
    if row is None:
        raise NotFound(f"erasure request {request_id} not found")
    if row["certificate"] is None:
        raise Conflict(f"erasure request {request_id} is {row['state']}: no certificate yet")
    certificate: dict[str, Any] = row["certificate"]
    return certificate


@router.get(
    "/privacy/subject-export",
    dependencies=[Admins],
    responses={200: {"content": {"application/json": {}, "application/zip": {}}}},
)
async def subject_export(
    request: Request,
    pool: PoolDep,
    user: CurrentUser,
    contact_id: UUID | None = None,
    email: str | None = Query(default=None, max_length=320),
    handle: str | None = Query(default=None, max_length=200),
    format: str = Query(
        default="json", pattern="^(json|zip)$", description="json, or zip: the JSON and a CSV per table"
    ),
) -> Response:
    """Everything the engine holds about one person (``crm:admin``, tenant-wide token), signed like the audit
    export. Name the subject by exactly one of ``contact_id``, ``email`` or ``handle``."""
    _tenant_wide(user)
    try:
        body = SubjectIn(contact_id=contact_id, email=email, handle=handle)
    except ValueError as exc:
        raise InvalidInput(str(exc).splitlines()[-1].strip(), fields=["contact_id", "email", "handle"]) from exc
    kind, value, digest = await _subject(request, pool, user, body)
    async with privacy_transaction(pool, user.tenant, readonly=True) as conn:
        document = await export.collect(
            conn, user.tenant, kind=kind, value=value, subject_hash=digest, key=request.app.state.audit_key
        )
    async with privacy_transaction(pool, user.tenant) as conn:
        await audit.record(
            conn,
            tenant=user.tenant,
            actor=user.sub,
            action="subject_export",
            entity_type="privacy_subject",
            entity_id=None,
            after={"subject_kind": kind, "subject_hash": digest, "found": document["found"]},
        )
    name = f"subject-export-{user.tenant.tid}-{document['generated_at'][:10]}"
    if format == "zip":
        return Response(
            export.as_zip(document),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}.zip"'},
        )
    return Response(
        json.dumps(document, sort_keys=True, ensure_ascii=False),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}.json"'},
    )


class RetentionRule(BaseModel):
    kept: bool = Field(description="true: the tenant set no limit for this kind of data")
    rows: int = Field(description="rows the job would change now")
    before: datetime | None = Field(description="the cut-off: data older than this goes")


class RetentionPreview(BaseModel):
    now: datetime
    rules: dict[str, RetentionRule]


@router.get("/privacy/retention/preview", response_model=RetentionPreview, dependencies=[Admins])
async def retention_preview(pool: PoolDep, user: CurrentUser) -> RetentionPreview:
    """The dry run of the tenant's retention limits (``crm:admin``, tenant-wide token): per rule, how many rows
    the scheduled job would change if it ran now, and the cut-off. Nothing is changed."""
    _tenant_wide(user)
    async with privacy_transaction(pool, user.tenant, readonly=True) as conn:
        return RetentionPreview(**await retention.preview(conn, user.tenant, retention.utcnow()))
