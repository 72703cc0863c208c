"""The delivery worker: due recipients → render → SMTP → one state per recipient, exactly once in effect.

Each pass asks (as ``vettify_worker``) which tenants have due deliveries, then per tenant, in that tenant's
transaction: claims up to ``batch_size`` rows with ``FOR UPDATE SKIP LOCKED`` and a lease (several workers share
the work; a crashed worker's rows come back when the lease ends), re-checks consent and the suppression list
*at send time*, and sends in waves of at most ``concurrency`` messages:

1. the wave's rows become ``sending`` (committed) — only these can be in doubt after a crash;
2. their SMTP transactions run concurrently over pooled connections, paced by the tenant's Redis rate;
3. each outcome is committed with its ``marketing.email.*`` outbox event: ``sent`` (2xx), ``deferred`` (4xx,
   time-out: retried after ``retry_base_s · 2^(attempts-1)``, ``failed`` after ``max_attempts``), ``bounced``
   (5xx; a 5xx to RCPT TO also suppresses the address).

A worker killed between 1 and 3 leaves at most ``concurrency`` rows in ``sending``; they are sent again when
their lease ends, so a recipient may get a second copy (same ``Message-ID``) only if the kill hit their
transaction — never more than one wave.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from crm_core.delivery import queue, templates
from crm_core.delivery.message import Composed, Content, Links, Sender, compose
from crm_core.delivery.personalise import ITEMS_PER_MESSAGE, Personaliser, wants_recommendations
from crm_core.delivery.queue import EventRow, Result, State
from crm_core.delivery.ratelimit import TenantRateLimit
from crm_core.delivery.smtp import Fate, Reply, SmtpPool
from crm_core.delivery.tokens import TokenKind
from crm_core.services import events
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.errors import InvalidInput
from infra.loops import PollingLoop
from infra.settings import Settings

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    default_sender: Sender
    public_url: str
    secret: bytes
    tracking_ttl_s: int
    batch_size: int = 100
    concurrency: int = 16
    max_attempts: int = 5
    retry_base_s: float = 60.0
    lease_s: float = 120.0

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryConfig:
        return cls(
            default_sender=Sender.parse(settings.mail_from),
            public_url=settings.public_url,
            secret=settings.resolved_tracking_secret,
            tracking_ttl_s=settings.tracking_ttl_days * 86400,
            batch_size=settings.mail_batch_size,
            concurrency=settings.mail_concurrency,
            max_attempts=settings.mail_max_attempts,
            retry_base_s=settings.mail_retry_base_s,
            lease_s=settings.mail_lease_s,
        )


@dataclass
class DeliveryStats:
    sent: int = 0
    deferred: int = 0
    bounced: int = 0
    failed: int = 0
    suppressed: int = 0

    def count(self, state: State) -> None:
        """One recipient settled in ``state`` (a settled state: sent, deferred, bounced, failed, suppressed)."""
        setattr(self, state.value, getattr(self, state.value) + 1)

    @property
    def by_state(self) -> dict[str, int]:
        return {name: n for name, n in asdict(self).items() if n}


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A recipient ready for SMTP."""

    row: asyncpg.Record
    email: str
    message: bytes


def content_of(campaign: asyncpg.Record, variant: str) -> Content:
    """The campaign's content for one arm (a variant's own pieces replace the campaign's)."""
    chosen: dict[str, Any] = next((v for v in campaign["variants"] or [] if v.get("key") == variant), {})
    subject = chosen.get("subject") or campaign["subject"]
    if not subject:
        raise InvalidInput("the campaign has no subject")
    return Content(
        subject=subject,
        html=chosen.get("html") or campaign["html"],
        text=chosen.get("text") or campaign["body"],
        personal_block=campaign["personal_block"],
    )


def merge_values(
    row: asyncpg.Record,
    campaign: asyncpg.Record,
    unsubscribe_url: str,
    recommendations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return templates.context(
        contact={
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "email": row["email"],
            "title": row["title"],
            "phone": row["phone"],
            "attributes": row["attributes"],
        },
        account={
            "name": row["account_name"],
            "city": row["account_city"],
            "industry": row["account_industry"],
            "domain": row["account_domain"],
            "country": row["account_country"],
            "cui": row["account_cui"],
        },
        lead={
            "score": row["lead_score"],
            "status": row["lead_status"],
            "source": row["lead_source"],
            "company_name": row["lead_company_name"],
        },
        campaign={"name": campaign["name"]},
        unsubscribe_url=unsubscribe_url,
        recommendations=recommendations,
    )


def render_recipient(
    config: DeliveryConfig,
    tenant: TenantContext,
    row: asyncpg.Record,
    campaign: asyncpg.Record,
    *,
    to: str,
    sender: Sender,
    variant: str,
    now: datetime | None = None,
    recommendations: list[dict[str, Any]] | None = None,
) -> Composed:
    """One recipient's message with its tracked links, as the worker sends it (and previews show it)."""
    links = Links(config.public_url, config.secret, tenant, row["id"], config.tracking_ttl_s)
    unsubscribe_url = links.url(TokenKind.UNSUBSCRIBE)
    return compose(
        content=content_of(campaign, variant),
        values=merge_values(row, campaign, unsubscribe_url, recommendations),
        to=to,
        sender=sender,
        links=links,
        unsubscribe_url=unsubscribe_url,
        now=now,
    )


def sender_of(row: asyncpg.Record | None, default: Sender) -> Sender:
    if row is None:
        return default
    return Sender(address=row["from_address"], name=row["from_name"], reply_to=row["reply_to"])


class DeliveryWorker(PollingLoop):
    task_name = "campaign-delivery"

    def __init__(
        self,
        pool: asyncpg.Pool,
        scan_pool: asyncpg.Pool,
        smtp: SmtpPool,
        rate: TenantRateLimit,
        config: DeliveryConfig,
        *,
        clock: Clock = utcnow,
        idle_sleep_s: float = 0.5,
        personaliser: Personaliser | None = None,
    ) -> None:
        self.pool = pool
        self.personaliser = personaliser
        self.scan_pool = scan_pool
        self.smtp = smtp
        self.rate = rate
        self.config = config
        self.clock = clock
        self.idle_sleep_s = idle_sleep_s
        self.stats = DeliveryStats()
        # Waves of half the concurrency, as many at once as fit in it (shared by every batch in flight).
        self.wave_size = max(1, config.concurrency // 2)
        self._lanes = asyncio.Semaphore(max(1, config.concurrency // self.wave_size))

    # -- the loop --------------------------------------------------------------------------------
    async def run_once(self) -> int:
        """One batch for every tenant with due work; returns how many recipients were settled."""
        async with self.scan_pool.acquire() as conn:
            tenants = await queue.due_tenants(conn, now=self.clock())
        handled = 0
        for tenant in tenants:
            # Two batches at once: one is claimed and rendered while the other's waves are on the wire.
            handled += sum(await asyncio.gather(self.deliver_batch(tenant), self.deliver_batch(tenant)))
        return handled

    # -- one tenant's batch ----------------------------------------------------------------------
    async def deliver_batch(self, tenant: TenantContext) -> int:
        now = self.clock()
        async with tenant_transaction(self.pool, tenant) as conn:
            # Never claim more than a second of the tenant's rate: a claim must be sent well within its lease.
            limit = min(self.config.batch_size, self.rate.per_second)
            rows = await queue.claim(conn, tenant=tenant, now=now, limit=limit, lease_s=self.config.lease_s)
            if not rows:
                return 0
            campaigns = await queue.campaigns(conn, tenant=tenant, ids=list({r["campaign_id"] for r in rows}))
            sender = sender_of(await queue.sender(conn, tenant=tenant), self.config.default_sender)
            items = await self._recommendations(conn, tenant, rows, campaigns)
        settled: list[Result] = []
        outgoing: list[Outgoing] = []
        for row in rows:
            prepared = self._prepare(
                row, campaigns[row["campaign_id"]], sender, tenant, now, items.get(row["contact_id"])
            )
            if isinstance(prepared, Result):
                settled.append(prepared)
            else:
                outgoing.append(prepared)
        if settled:
            await self._record(tenant, settled, rows_by_id={r["id"]: r for r in rows}, sends={})
        for start in range(0, len(outgoing), self.rate.per_second):  # the tenant's rate, one budget at a time
            await self.rate.acquire(tenant.tid, len(outgoing[start : start + self.rate.per_second]))
        await self._send_all(tenant, outgoing, sender)
        async with tenant_transaction(self.pool, tenant) as conn:
            await queue.finish_campaigns(conn, tenant=tenant, ids=list(campaigns))
        return len(rows)

    async def _recommendations(
        self,
        conn: asyncpg.Connection,
        tenant: TenantContext,
        rows: Sequence[asyncpg.Record],
        campaigns: dict[UUID, asyncpg.Record],
    ) -> dict[UUID, list[dict[str, Any]]]:
        """Items for the recipients whose campaign reads ``recommendations`` (none without a personaliser); a
        failing recommender leaves the block empty rather than holding the mail back."""
        if self.personaliser is None:
            return {}
        wanted = {
            cid
            for cid, campaign in campaigns.items()
            if wants_recommendations(campaign) and campaign["deleted_at"] is None and campaign["status"] != "cancelled"
        }
        # Only recipients who will be mailed: a showing is recorded for every item handed out.
        mailed = [r for r in rows if r["campaign_id"] in wanted and r["consenting"] and r["suppressed"] is None]
        contacts = list(dict.fromkeys(r["contact_id"] for r in mailed))
        if not contacts:
            return {}
        try:
            async with conn.transaction():  # a savepoint: a failure here must not undo the claim
                return await self.personaliser(conn, tenant, contacts, ITEMS_PER_MESSAGE)
        except Exception:
            logger.exception(
                "recommendations for %d recipients failed: their personalised blocks stay empty", len(contacts)
            )
            return {}

    def _prepare(  # noqa: PLR0911 - one early return per reason a recipient is settled without SMTP
        self,
        row: asyncpg.Record,
        campaign: asyncpg.Record,
        sender: Sender,
        tenant: TenantContext,
        now: datetime,
        recommendations: list[dict[str, Any]] | None = None,
    ) -> Outgoing | Result:
        def settle(state: State, reason: str) -> Result:
            return Result(row["id"], state, None, reason, now)

        if campaign["deleted_at"] is not None or campaign["status"] == "cancelled":
            return settle(State.FAILED, "campaign cancelled")
        if not row["consenting"]:
            return settle(State.SUPPRESSED, "no marketing consent at send time")
        if row["suppressed"] is not None:
            return settle(State.SUPPRESSED, f"address suppressed ({row['suppressed']})")
        email = (row["email"] or "").strip()
        if not email:
            return settle(State.FAILED, "no e-mail address")
        if queue.EMAIL_RE.match(email) is None:
            return settle(State.FAILED, "invalid e-mail address")
        try:
            composed = render_recipient(
                self.config,
                tenant,
                row,
                campaign,
                to=email,
                sender=sender,
                variant=row["variant"],
                now=now,
                recommendations=recommendations,
            )
        except (InvalidInput, ValueError) as exc:
            return settle(State.FAILED, f"could not render: {exc}"[:500])
        return Outgoing(row=row, email=email, message=composed.wire_bytes())

    async def _send_all(self, tenant: TenantContext, outgoing: Sequence[Outgoing], sender: Sender) -> None:
        """Send in small waves, several at once, so that SMTP round trips and database commits overlap.

        Each wave is marked ``sending`` before its SMTP transactions start and settled after they end;
        ``concurrency`` bounds the messages of all running waves together, so no more than that many rows are
        ever ``sending`` (what a crash can leave in doubt)."""
        wave_size = self.wave_size

        async def lane(wave: Sequence[Outgoing]) -> None:
            async with self._lanes:
                replies = await self._send_wave(tenant, wave, sender)
                await self._record_wave(tenant, wave, replies)

        waves = [outgoing[i : i + wave_size] for i in range(0, len(outgoing), wave_size)]
        results = await asyncio.gather(*(lane(w) for w in waves), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]

    async def _send_wave(self, tenant: TenantContext, wave: Sequence[Outgoing], sender: Sender) -> list[Reply]:
        """Mark the wave ``sending`` (committed), then run its SMTP transactions concurrently."""
        async with tenant_transaction(self.pool, tenant) as conn:
            await queue.mark_sending(
                conn, tenant=tenant, ids=[o.row["id"] for o in wave], emails=[o.email for o in wave]
            )
        return list(
            await asyncio.gather(*(self.smtp.send(o.message, sender=sender.address, recipient=o.email) for o in wave))
        )

    async def _record_wave(self, tenant: TenantContext, wave: Sequence[Outgoing], replies: Sequence[Reply]) -> None:
        now = self.clock()
        results = [self._outcome(o.row, reply, now) for o, reply in zip(wave, replies, strict=True)]
        sends = {o.row["id"]: (o, reply) for o, reply in zip(wave, replies, strict=True)}
        await self._record(tenant, results, rows_by_id={o.row["id"]: o.row for o in wave}, sends=sends)

    def _outcome(self, row: asyncpg.Record, reply: Reply, now: datetime) -> Result:
        attempts = int(row["attempts"]) + 1
        if reply.fate is Fate.SENT:
            return Result(row["id"], State.SENT, reply.code, None, now)
        if reply.fate is Fate.BOUNCED:
            return Result(row["id"], State.BOUNCED, reply.code, reply.text, now)
        if attempts >= self.config.max_attempts:
            return Result(row["id"], State.FAILED, reply.code, f"gave up after {attempts} tries: {reply.text}", now)
        delay = self.config.retry_base_s * 2 ** (attempts - 1)
        return Result(row["id"], State.DEFERRED, reply.code, reply.text, now + timedelta(seconds=delay))

    async def _record(
        self,
        tenant: TenantContext,
        results: Sequence[Result],
        *,
        rows_by_id: dict[UUID, asyncpg.Record],
        sends: dict[UUID, tuple[Outgoing, Reply]],
    ) -> None:
        """Commit the outcomes with their tracking rows, suppressions and ``marketing.email.*`` events."""
        now = self.clock()
        event_rows: list[EventRow] = []
        hard_bounces: list[str] = []
        async with tenant_transaction(self.pool, tenant) as conn:
            await queue.mark_results(conn, tenant=tenant, now=now, results=results)
            for result in results:
                self.stats.count(result.state)
                if result.state not in (State.SENT, State.BOUNCED):
                    continue
                row = rows_by_id[result.id]
                outgoing, reply = sends[result.id]
                kind = "delivered" if result.state is State.SENT else "bounced"
                detail: dict[str, Any] = {"smtp_code": result.code}
                if result.state is State.BOUNCED:
                    detail.update(hard=reply.hard_bounce, reply=reply.text)
                    if reply.hard_bounce:
                        hard_bounces.append(outgoing.email)
                event_rows.append(
                    EventRow(result.id, row["campaign_id"], row["contact_id"], row["variant"], kind, detail)
                )
            await queue.add_events(conn, tenant=tenant, now=now, events=event_rows)
            await queue.suppress(conn, tenant=tenant, emails=hard_bounces, reason="hard_bounce", source="smtp")
            await events.emit_many(
                conn,
                tenant=tenant,
                events=[
                    queue.email_event(
                        e.kind,
                        campaign_id=e.campaign_id,
                        delivery_id=e.delivery_id,
                        contact_id=e.contact_id,
                        variant=e.variant,
                        **e.detail,
                    )
                    for e in event_rows
                ],
            )


def build_worker(
    settings: Settings,
    pool: asyncpg.Pool,
    scan_pool: asyncpg.Pool,
    redis: Any,
    *,
    clock: Clock = utcnow,
    personaliser: Personaliser | None = None,
) -> DeliveryWorker:
    """The worker for ``settings.smtp_url`` (required here: ``vettify up`` fills it with its local sink)."""
    from crm_core.delivery.smtp import SmtpTarget

    if not settings.smtp_url:
        raise ValueError("campaign delivery needs VETTIFY_SMTP_URL")
    config = DeliveryConfig.from_settings(settings)
    return DeliveryWorker(
        pool,
        scan_pool,
        SmtpPool(SmtpTarget.parse(settings.smtp_url), size=config.concurrency),
        TenantRateLimit(redis, settings.mail_rate_per_s),
        config,
        clock=clock,
        personaliser=personaliser,
    )
