"""Web behaviour → sessionised journeys → session embeddings → ``ai.behavior_patterns``.

Each ``web.user.behavior.tracked`` event is one step of a session. The session's
journey (its steps in time order, e.g. ``page_view:/pricing > click:demo``) is
embedded after every step and compared by cosine distance (pgvector HNSW) with
the tenant's *known* sessions: those that converted, or ended (idle for
``session_gap``). The nearest known session and the converted share among the
``k`` nearest give the pattern and the conversion propensity. A
``crm.behavior.pattern.detected`` event is published once a journey has
``min_steps`` steps, and again whenever its nearest pattern or its conversion
changes (not on every page view).

Meta pixel events (``social.facebook.pixel.event``) are stored as steps too, and
answered with ``crm.social.pixel.analyzed``: the funnel stage the event reached
and the furthest stage of its session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from uuid import UUID

import asyncpg
import numpy as np
from numpy.typing import NDArray

from crm_core.privacy import consent
from crm_core.sequences import enroll
from infra.db.tenancy import tenant_transaction
from infra.events.envelope import Envelope
from streams import store
from streams.processors.base import Context, Processor
from streams.schemas import BehaviorPatternDetected, PixelAnalyzed, PixelEvent, WebBehavior

CONVERSION_ACTIONS = frozenset({"purchase", "signup", "subscribe", "demo_request", "trial_start", "checkout_complete"})
MAX_JOURNEY_STEPS = 40

INSERT_STEP_SQL = """
INSERT INTO ai.behavior_events (tid, whid, mid, id, source, session_id, visitor_id, account_id, action, page, value,
    occurred_at, channel, contact_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
"""

STEPS_SQL = """
SELECT action, page, occurred_at FROM ai.behavior_events
WHERE tid = $1 AND mid = $2 AND session_id = $3 AND source = $4
ORDER BY occurred_at, created_at
"""

PREVIOUS_SQL = """
SELECT nearest_session_id, converted, steps FROM ai.behavior_patterns WHERE tid = $1 AND mid = $2 AND session_id = $3
"""

NEAREST_SQL = """
SELECT session_id, converted, 1 - (embedding <=> $4) AS similarity
FROM ai.behavior_patterns
WHERE tid = $1 AND mid = $2 AND session_id <> $3 AND (converted OR last_seen_at < $5)
ORDER BY embedding <=> $4
LIMIT $6
"""

UPSERT_PATTERN_SQL = """
INSERT INTO ai.behavior_patterns (tid, whid, mid, session_id, visitor_id, account_id, journey, steps, started_at,
    last_seen_at, converted, nearest_session_id, conversion_propensity, embedding, embedding_model)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
ON CONFLICT (tid, mid, session_id) DO UPDATE SET
    visitor_id = coalesce(EXCLUDED.visitor_id, ai.behavior_patterns.visitor_id),
    account_id = coalesce(EXCLUDED.account_id, ai.behavior_patterns.account_id),
    journey = EXCLUDED.journey, steps = EXCLUDED.steps, started_at = EXCLUDED.started_at,
    last_seen_at = EXCLUDED.last_seen_at, converted = EXCLUDED.converted,
    nearest_session_id = EXCLUDED.nearest_session_id, conversion_propensity = EXCLUDED.conversion_propensity,
    embedding = EXCLUDED.embedding, embedding_model = EXCLUDED.embedding_model, updated_at = now()
"""


def step_label(action: str, page: str | None) -> str:
    path = urlsplit(page).path if page else ""
    return f"{action}:{path}" if path else action


@dataclass(frozen=True)
class PatternRule:
    session_gap: timedelta = timedelta(minutes=30)
    neighbours: int = 10
    min_steps: int = 3


@dataclass(frozen=True)
class Journey:
    steps: list[tuple[str, str | None, datetime]]  # (action, page, time), oldest first, this event's included
    text: str  # what is embedded: ``page_view:/pricing > click:/demo``
    embedding: NDArray[np.float32] | None  # None: an identified visitor who withdrew profiling consent
    embedding_model: str | None = None  # the version that computed ``embedding``

    @property
    def converted(self) -> bool:
        return any(action in CONVERSION_ACTIONS for action, _, _ in self.steps)


class BehaviorProcessor(Processor[WebBehavior, Journey]):
    analyze_in_turn = True  # the journey is built from this session's earlier, committed steps

    def __init__(self, context: Context, rule: PatternRule | None = None) -> None:
        super().__init__(context)
        self.rule = rule or PatternRule()

    def ordering_key(self, event: Envelope, payload: WebBehavior) -> tuple[str, ...]:
        return (event.tid, event.mid, "session", payload.session_id)

    async def analyze(self, event: Envelope, payload: WebBehavior) -> Journey:
        async with tenant_transaction(self.context.pool, store.tenant_of(event), readonly=True) as conn:
            rows = await conn.fetch(STEPS_SQL, event.tid, event.mid, payload.session_id, "web")
        steps = [(r["action"], r["page"], r["occurred_at"]) for r in rows]
        steps.append((payload.action, payload.page, event.occurred_at))
        steps.sort(key=lambda step: step[2])
        text = " > ".join(step_label(a, p) for a, p, _ in steps[-MAX_JOURNEY_STEPS:])
        if payload.contact_id is not None and await self._profiling_withdrawn(event, payload.contact_id):
            return Journey(steps, text, None)  # the step is stored; no journey profile is built
        vector = (await self.context.models.embed([text]))[0]
        embedder = await self.context.models.model_info("embedding")
        return Journey(steps, text, np.asarray(vector, dtype=np.float32), embedder[1])

    async def _profiling_withdrawn(self, event: Envelope, contact_id: UUID) -> bool:
        tenant = store.tenant_of(event)
        async with tenant_transaction(self.context.pool, tenant, readonly=True) as conn:
            return await consent.latest(conn, tenant, contact_id, "profiling") is False

    async def write(self, conn: asyncpg.Connection, event: Envelope, payload: WebBehavior, journey: Journey) -> None:
        steps, embedding, converted = journey.steps, journey.embedding, journey.converted
        await conn.execute(
            INSERT_STEP_SQL,
            event.tid,
            event.whid,
            event.mid,
            event.id,
            "web",
            payload.session_id,
            payload.visitor_id,
            payload.account_id,
            payload.action,
            payload.page,
            payload.value,
            event.occurred_at,
            payload.channel,
            payload.contact_id,
        )
        if payload.contact_id is not None:  # an identified visitor: behaviour-triggered sequences take them
            await enroll.on_behavior(
                conn, tenant=store.tenant_of(event), contact_id=payload.contact_id, action=payload.action
            )
        if embedding is None:
            return  # profiling withdrawn: no pattern, no nearest journeys, no propensity
        previous = await conn.fetchrow(PREVIOUS_SQL, event.tid, event.mid, payload.session_id)
        neighbours = await conn.fetch(
            NEAREST_SQL,
            event.tid,
            event.mid,
            payload.session_id,
            embedding,
            steps[-1][2] - self.rule.session_gap,
            self.rule.neighbours,
        )
        nearest = neighbours[0] if neighbours else None
        propensity = round(sum(1 for n in neighbours if n["converted"]) / len(neighbours), 4) if neighbours else None
        await conn.execute(
            UPSERT_PATTERN_SQL,
            event.tid,
            event.whid,
            event.mid,
            payload.session_id,
            payload.visitor_id,
            payload.account_id,
            journey.text,
            len(steps),
            steps[0][2],
            steps[-1][2],
            converted,
            nearest["session_id"] if nearest else None,
            propensity,
            embedding,
            journey.embedding_model,
        )
        changed = (
            previous is None
            or previous["steps"] < self.rule.min_steps  # the journey just became long enough to report
            or previous["nearest_session_id"] != (nearest["session_id"] if nearest else None)
            or previous["converted"] != converted
        )
        if len(steps) >= self.rule.min_steps and changed:
            detected = BehaviorPatternDetected(
                session_id=payload.session_id,
                account_id=payload.account_id,
                journey=journey.text,
                steps=len(steps),
                converted=converted,
                nearest_session_id=nearest["session_id"] if nearest else None,
                similarity=round(float(nearest["similarity"]), 4) if nearest else None,
                conversion_propensity=propensity,
            )
            await store.publish(
                conn,
                event,
                "crm.behavior.pattern.detected",
                detected,
                aggregate_type="session",
                aggregate_id=event.id,
            )


FUNNEL = {
    "PageView": 0,
    "ViewContent": 1,
    "Search": 1,
    "AddToWishlist": 2,
    "AddToCart": 2,
    "Lead": 2,
    "Contact": 2,
    "CompleteRegistration": 3,
    "InitiateCheckout": 3,
    "AddPaymentInfo": 4,
    "StartTrial": 4,
    "Purchase": 5,
    "Subscribe": 5,
}
STAGES = ("awareness", "interest", "consideration", "intent", "evaluation", "conversion")

PIXEL_SESSION_SQL = """
SELECT action FROM ai.behavior_events
WHERE tid = $1 AND mid = $2 AND session_id = $3 AND source = 'facebook_pixel'
"""


class PixelProcessor(Processor[PixelEvent, None]):
    def ordering_key(self, event: Envelope, payload: PixelEvent) -> tuple[str, ...]:
        return (event.tid, event.mid, "pixel", payload.session_id)

    async def analyze(self, event: Envelope, payload: PixelEvent) -> None:
        """No model: the funnel stage is read from the session's stored steps in :meth:`write`."""

    async def write(self, conn: asyncpg.Connection, event: Envelope, payload: PixelEvent, analysis: None) -> None:
        await conn.execute(
            INSERT_STEP_SQL,
            event.tid,
            event.whid,
            event.mid,
            event.id,
            "facebook_pixel",
            payload.session_id,
            None,
            payload.account_id,
            payload.event_name,
            payload.url,
            payload.value,
            event.occurred_at,
            "facebook",  # the pixel's visits came through Meta's ads or pages
            None,
        )
        actions = [r["action"] for r in await conn.fetch(PIXEL_SESSION_SQL, event.tid, event.mid, payload.session_id)]
        stage = FUNNEL.get(payload.event_name, 0)
        furthest = max(FUNNEL.get(a, 0) for a in actions)
        analyzed = PixelAnalyzed(
            pixel_id=payload.pixel_id,
            session_id=payload.session_id,
            event_name=payload.event_name,
            funnel_stage=STAGES[stage] if payload.event_name in FUNNEL else "custom",
            stage_index=stage,
            session_furthest_stage=STAGES[furthest],
            session_events=len(actions),
            intent_score=round(furthest / (len(STAGES) - 1), 4),
            value=payload.value,
            currency=payload.currency,
            utm_campaign=payload.utm_campaign,
        )
        await store.publish(
            conn,
            event,
            "crm.social.pixel.analyzed",
            analyzed,
            aggregate_type="pixel_session",
            aggregate_id=event.id,
        )
