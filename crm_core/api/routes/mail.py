"""/v1/crm/mail: the tenant's sender, suppression list and the bounce/complaint webhook for providers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Header, Path, Query, Request
from pydantic import AfterValidator, BaseModel, Field, ValidationError

from crm_core.api.deps import Admins, ConnDep, PoolDep, Readers, Senders, TenantDep
from crm_core.delivery import message, queue, tracking
from crm_core.delivery.tokens import webhook_key, webhook_signature_valid
from crm_core.delivery.worker import DeliveryConfig
from crm_core.schemas.common import WriteModel
from infra.db.tenancy import TenantContext, TenantContextError, tenant_transaction
from infra.errors import InvalidInput, MalformedRequest, NotFound, Unauthorized

router = APIRouter(prefix="/mail", tags=["mail"])


def _address(value: str) -> str:
    if queue.EMAIL_RE.match(value) is None:
        raise ValueError("not an e-mail address")
    return value


EmailStr = Annotated[str, Field(max_length=320), AfterValidator(_address)]


def _config(request: Request) -> DeliveryConfig:
    config: DeliveryConfig = request.app.state.delivery_config
    return config


# --- sender -----------------------------------------------------------------------------------------
class SenderIn(WriteModel):
    from_address: EmailStr
    from_name: str | None = Field(default=None, max_length=200)
    reply_to: EmailStr | None = None


class SenderOut(BaseModel):
    from_address: str
    from_name: str | None
    reply_to: str | None
    default: bool = Field(description="True: the tenant has set none; the engine's VETTIFY_MAIL_FROM applies.")


UPSERT_SENDER_SQL = """
INSERT INTO crm.mail_senders (tid, whid, mid, from_address, from_name, reply_to) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (tid, mid, (coalesce(whid, '')))
DO UPDATE SET from_address = EXCLUDED.from_address, from_name = EXCLUDED.from_name, reply_to = EXCLUDED.reply_to,
    updated_at = now()
"""


@router.get("/sender", response_model=SenderOut, dependencies=[Readers])
async def get_sender(conn: ConnDep, tenant: TenantDep, request: Request) -> SenderOut:
    row = await conn.fetchrow(
        queue.SENDER_SQL,
        tenant.tid,
        tenant.mid,
    )
    if row is None:
        default = _config(request).default_sender
        return SenderOut(from_address=default.address, from_name=default.name, reply_to=None, default=True)
    return SenderOut(**dict(row), default=False)


@router.put("/sender", response_model=SenderOut, dependencies=[Admins])
async def put_sender(body: SenderIn, conn: ConnDep, tenant: TenantDep) -> SenderOut:
    """The From, display name and Reply-To of this tenant's campaigns (crm:admin); set from a branch (a token
    with ``whid``), it applies to that branch's sends only."""
    await conn.execute(
        UPSERT_SENDER_SQL, tenant.tid, tenant.whid, tenant.mid, body.from_address, body.from_name, body.reply_to
    )
    return SenderOut(from_address=body.from_address, from_name=body.from_name, reply_to=body.reply_to, default=False)


# --- suppressions ---------------------------------------------------------------------------------------
class SuppressionIn(WriteModel):
    email: EmailStr
    reason: Literal["manual"] = "manual"


class SuppressionOut(BaseModel):
    email: str
    reason: str
    source: str | None
    created_at: datetime


@router.get("/suppressions", response_model=list[SuppressionOut], dependencies=[Readers])
async def list_suppressions(
    conn: ConnDep,
    tenant: TenantDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[str | None, Query(max_length=320, description="Last e-mail of the previous page.")] = None,
) -> list[SuppressionOut]:
    """Addresses never mailed again, in address order: hard bounces, complaints, unsubscribes, manual entries."""
    rows = await conn.fetch(
        "SELECT email, reason, source, created_at FROM crm.email_suppressions WHERE tid = $1 AND mid = $2 "
        "AND ($3::text IS NULL OR email > $3) ORDER BY email LIMIT $4",
        tenant.tid,
        tenant.mid,
        after,
        limit,
    )
    return [SuppressionOut(**dict(r)) for r in rows]


@router.post("/suppressions", status_code=201, response_model=SuppressionOut, dependencies=[Senders])
async def add_suppression(body: SuppressionIn, conn: ConnDep, tenant: TenantDep) -> SuppressionOut:
    row = await conn.fetchrow(
        "INSERT INTO crm.email_suppressions (tid, mid, email, reason, source) "
        "VALUES ($1, $2, lower($3), $4, 'api') ON CONFLICT (tid, mid, email) DO UPDATE SET updated_at = now() "
        "RETURNING email, reason, source, created_at",
        tenant.tid,
        tenant.mid,
        body.email,
        body.reason,
    )
    return SuppressionOut(**dict(row))


@router.delete("/suppressions/{email}", status_code=204, dependencies=[Admins])
async def remove_suppression(email: Annotated[str, Path(max_length=320)], conn: ConnDep, tenant: TenantDep) -> None:
    """Lift a suppression (crm:admin): the address can be mailed again if the contact consents."""
    status = await conn.execute(
        "DELETE FROM crm.email_suppressions WHERE tid = $1 AND mid = $2 AND email = lower($3)",
        tenant.tid,
        tenant.mid,
        email,
    )
    if status == "DELETE 0":
        raise NotFound(f"{email} is not suppressed")


# --- provider webhook -------------------------------------------------------------------------------------
class WebhookInfo(BaseModel):
    url: str
    secret: str
    signature_header: str = "X-Vettify-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, '<t>.' + body)>"


@router.get("/webhook", response_model=WebhookInfo, dependencies=[Admins])
async def webhook_info(tenant: TenantDep, request: Request) -> WebhookInfo:
    """Where a mail provider posts this tenant's bounces and complaints, and the key it signs them with."""
    config = _config(request)
    base = f"{config.public_url.rstrip('/')}/v1/crm/mail/webhooks/{tenant.tid}/{tenant.mid}"
    url = f"{base}?whid={tenant.whid}" if tenant.whid else base
    return WebhookInfo(url=url, secret=webhook_key(config.secret, tenant))


class ProviderEvent(BaseModel):
    id: str = Field(min_length=1, max_length=200, description="The provider's event id (replays are ignored).")
    type: tracking.ProviderEventType
    message_id: str = Field(min_length=3, max_length=300, description="The Message-ID header of our message.")
    bounce_type: Literal["hard", "soft"] = "hard"
    reason: str | None = Field(default=None, max_length=1000)


class WebhookBody(BaseModel):
    events: list[ProviderEvent] = Field(min_length=1, max_length=1000)


class WebhookResult(BaseModel):
    applied: int
    duplicates: int
    unknown_messages: list[str]


@router.post("/webhooks/{tid}/{mid}", response_model=WebhookResult)
async def provider_webhook(
    tid: Annotated[str, Path(max_length=128)],
    mid: Annotated[str, Path(max_length=128)],
    request: Request,
    pool: PoolDep,
    whid: Annotated[str | None, Query(max_length=128)] = None,
    signature: Annotated[str | None, Header(alias="X-Vettify-Signature")] = None,
) -> WebhookResult:
    """Bounces, complaints and replies from a mail provider, HMAC-signed (``GET /mail/webhook`` gives the key).

    A hard bounce or a complaint suppresses the address; a complaint also turns marketing consent off; a reply
    ends the contact's sequences that exit on replies.
    An event id seen before changes nothing (providers retry)."""
    try:
        tenant = TenantContext(tid=tid, mid=mid, whid=whid)
    except TenantContextError as exc:
        raise NotFound("not found") from exc
    raw = await request.body()
    if not webhook_signature_valid(webhook_key(_config(request).secret, tenant), raw, signature):
        raise Unauthorized("the X-Vettify-Signature header is missing, stale or does not match the body")
    try:
        body = WebhookBody.model_validate(orjson.loads(raw))
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest(f"the body is not JSON: {exc}") from exc
    except ValidationError as exc:
        raise InvalidInput(f"invalid webhook body: {exc.errors(include_url=False)}") from exc
    applied, duplicates, unknown = 0, 0, []
    now = datetime.now(UTC)
    async with tenant_transaction(pool, tenant) as conn:
        for event in body.events:
            delivery_id = message.delivery_of(event.message_id)
            found = await tracking.delivery(conn, tenant, delivery_id) if delivery_id else None
            if found is None:
                unknown.append(event.message_id)
                continue
            done = await tracking.provider_event(
                conn,
                tenant,
                found,
                event_id=event.id,
                kind=event.type,
                hard=event.bounce_type == "hard",
                reason=event.reason,
                now=now,
            )
            applied, duplicates = applied + done, duplicates + (not done)
    return WebhookResult(applied=applied, duplicates=duplicates, unknown_messages=unknown)
