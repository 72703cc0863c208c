"""The one processing core every source (HTTP, RabbitMQ, Kafka) feeds.

``handle_raw(body, source)`` parses and checks an event, routes it to its
processor and returns an :class:`Result`:

* ``stored``: its rows, ledger claim and outbox events committed together;
* ``duplicate``: its id was already processed in its tenant; nothing changed;
* ``dead_lettered``: it cannot be processed as it is (unparseable, oversized,
  unknown type, invalid payload, wrong tenant, unknown account, media the
  model rejects); it is in ``ai.dead_letters`` with the reason and raw body.

Anything else (database or model unavailable) raises, and the source retries:
at-least-once delivery plus the ledger make processing effectively once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import ValidationError

from crm_core.privacy.settings import SettingsCache
from infra import tracing
from infra.db.tenancy import TenantContext
from infra.events.envelope import Envelope
from infra.settings import Settings
from models.reach.scorer import ReachScorer
from streams import store
from streams.models import ModelClient
from streams.ordering import KeyedSequencer
from streams.processors.base import Context, InvalidEvent, Outcome, Processor
from streams.processors.behavior import BehaviorProcessor, PixelProcessor
from streams.processors.calls import CallProcessor
from streams.processors.orders import OrderProcessor
from streams.processors.prospects import ProspectProcessor
from streams.processors.social import EngagementProcessor, SocialProcessor, SpikeRule
from streams.schemas import CONSUMED, SOCIAL_TYPES

logger = logging.getLogger(__name__)

DEFAULT_MAX_EVENT_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    event_id: UUID | None = None
    event_type: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.event_id) if self.event_id else None,
            "type": self.event_type,
            "outcome": self.outcome.value,
            "reason": self.reason,
        }


class StreamProcessor:
    def __init__(
        self,
        pool: asyncpg.Pool,
        models: ModelClient,
        *,
        redis: Any = None,
        media_root: Path | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        spike_rule: SpikeRule | None = None,
        voice_profile_by_tenant: dict[str, str] | None = None,
        reach: ReachScorer | None = None,
    ) -> None:
        self.pool = pool
        self.max_event_bytes = max_event_bytes
        if voice_profile_by_tenant is None:
            voice_profile_by_tenant = dict(Settings().voice_profile_by_tenant)
        context = Context(
            pool=pool,
            models=models,
            redis=redis,
            media_root=media_root,
            voice_profile_by_tenant=voice_profile_by_tenant,
            privacy=SettingsCache(pool),
            reach=reach,
        )
        social = SocialProcessor(context, spike_rule)
        self.social = social
        calls = CallProcessor(context)
        orders = OrderProcessor(context)
        self.processors: dict[str, Processor[Any, Any]] = {
            **dict.fromkeys(SOCIAL_TYPES, social),
            "social.post.engagement": EngagementProcessor(context),
            "social.linkedin.signal": ProspectProcessor(context),
            "media.voice.call.recorded": calls,
            "media.video.call.recorded": calls,
            "web.user.behavior.tracked": BehaviorProcessor(context),
            "social.facebook.pixel.event": PixelProcessor(context),
            "sales.order.created": orders,
            "wms.shipment.delivered": orders,
        }
        assert set(self.processors) == set(CONSUMED), "every consumed type has a processor"
        self.sequencer = KeyedSequencer()
        self.counts: Counter[str] = Counter()

    async def handle_raw(self, raw: bytes, source: str, *, tenant: TenantContext | None = None) -> Result:
        """Process one serialized envelope. ``tenant``: the sender's tenant (HTTP), which the event must match."""
        if len(raw) > self.max_event_bytes:
            reason = f"the event is {len(raw)} bytes; the limit is {self.max_event_bytes}"
            return await self._dead(raw, source, reason, sender=tenant)
        try:
            event = Envelope.from_json(raw)
        except ValidationError as exc:
            return await self._dead(raw, source, f"invalid envelope: {_errors(exc)}", hints=_peek(raw), sender=tenant)
        except ValueError as exc:
            return await self._dead(raw, source, f"not a JSON event envelope: {exc}", sender=tenant)
        return await self.handle(event, source, raw=raw, tenant=tenant)

    async def handle(
        self, event: Envelope, source: str, *, raw: bytes | None = None, tenant: TenantContext | None = None
    ) -> Result:
        if not tracing.is_on():
            return await self._handle(event, source, raw=raw, tenant=tenant)
        attributes = {
            "vettify.event.id": str(event.id),
            "vettify.event.type": event.type,
            "vettify.tid": event.tid,
            "vettify.source": source,
        }
        with tracing.span(f"handle {event.type}", attributes=attributes) as span:
            result = await self._handle(event, source, raw=raw, tenant=tenant)
            if span is not None:
                span.set_attribute("vettify.outcome", result.outcome.value)
                if result.reason:
                    span.set_attribute("vettify.reason", result.reason[:500])
            return result

    async def _handle(self, event: Envelope, source: str, *, raw: bytes | None, tenant: TenantContext | None) -> Result:
        body = raw if raw is not None else event.to_json()
        if tenant is not None and (event.tid, event.mid, event.whid) != (tenant.tid, tenant.mid, tenant.whid):
            return await self._dead(
                body,
                source,
                f"wrong tenant: the event is for {event.tid}/{event.mid}/{event.whid or '-'} but the sender "
                f"is authorised for {tenant.tid}/{tenant.mid}/{tenant.whid or '-'}",
                event=event,
                sender=tenant,
            )
        processor = self.processors.get(event.type)
        if processor is None:
            return await self._dead(body, source, f"unknown event type {event.type!r}", event=event, sender=tenant)
        try:
            payload = CONSUMED[event.type].model_validate(event.payload)
        except ValidationError as exc:
            reason = f"invalid {event.type} payload: {_errors(exc)}"
            return await self._dead(body, source, reason, event=event, sender=tenant)
        turn = self.sequencer.reserve(processor.ordering_key(event, payload))  # before any await: arrival order
        try:
            outcome = await processor.process(event, payload, source, turn)
        except InvalidEvent as exc:
            return await self._dead(body, source, str(exc), event=event, sender=tenant)
        finally:
            turn.release()
        self.counts[outcome.value] += 1
        return Result(outcome, event.id, event.type)

    async def handle_many(
        self, bodies: list[bytes], source: str, *, tenant: TenantContext | None = None
    ) -> list[Result]:
        """Process a batch concurrently (model calls batch together); per-key order is arrival order."""
        return list(await asyncio.gather(*(self.handle_raw(body, source, tenant=tenant) for body in bodies)))

    async def _dead(
        self,
        raw: bytes,
        source: str,
        reason: str,
        *,
        event: Envelope | None = None,
        hints: dict[str, Any] | None = None,
        sender: TenantContext | None = None,
    ) -> Result:
        """Dead-letter ``raw``. It belongs to the authenticated sender's tenant where there is one (HTTP: the
        sender reads its own refusals, and an event naming another tenant never shows up there), else to the
        tenant the event names (bus sources), else to none (operators only)."""
        hints = hints or {}
        if sender is not None:
            tenant: dict[str, Any] = {"tid": sender.tid, "mid": sender.mid, "whid": sender.whid}
        else:
            tenant = {"tid": event.tid, "mid": event.mid, "whid": event.whid} if event else hints
        event_id = event.id if event else _uuid(hints.get("id"))
        event_type = event.type if event else _str(hints.get("type"))
        await store.dead_letter(
            self.pool,
            raw=raw,
            source=source,
            reason=reason,
            event_id=event_id,
            event_type=event_type,
            tenant=tenant,
        )
        self.counts[Outcome.DEAD_LETTERED.value] += 1
        return Result(Outcome.DEAD_LETTERED, event_id, event_type, reason)


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors())[:4000]


def _peek(raw: bytes) -> dict[str, Any]:
    """Whatever id/type/tenant an invalid envelope does carry, for the dead letter's columns."""
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return {k: data.get(k) for k in ("id", "type", "tid", "mid", "whid")} if isinstance(data, dict) else {}


def _uuid(value: object) -> UUID | None:
    try:
        return UUID(str(value)) if value is not None else None
    except ValueError:
        return None


def _str(value: object) -> str | None:
    return value[:200] if isinstance(value, str) else None
