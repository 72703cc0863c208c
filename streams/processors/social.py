"""Social mentions → sentiment + embedding → ``ai.social_insights`` and ``crm.sentiment.detected``.

Each mention is stored with its language (a mention in a language the sentiment model was not trained on is
kept, neutral with score 0, ``supported = false``, and left out of the spike window's counts), the number of
encoder windows it was read in, and its sentences about an aspect (price, support, delivery, …), which the
per-account roll-up (:func:`streams.insights.account_aspects`) counts.

Each post also gets a reach score at publish (``models.reach``, when the context has a scorer): its expected
engagement against what its author's earlier posts with known engagement got, read from the same table.
Engagement counts arrive with the post (an import) or later as ``social.post.engagement``
(:class:`EngagementProcessor`).

Spike detection runs in the database over a sliding window per brand (the
mentions of the last ``window`` before this one's time), so it is the same
whichever replica or source handled the event. A brand is *in a spike* while
its window holds at least ``min_mentions`` mentions and the negative share is
at least ``negative_share``; the mention that tips it in carries
``spike_started``. The brand's state row is locked for the write, so concurrent
consumers agree on who started the spike.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import numpy as np

from infra import decisions
from infra.batching import MicroBatcher
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.errors import InvalidEvent, Unavailable
from infra.events.envelope import Envelope
from models.privacy.pii import redact
from models.reach.scorer import AuthorHistory, Prepared, ReachScore
from models.sentiment.classifier import Sentiment
from models.text.aspects import AspectMention
from streams import brand_watch, crisis, store, topics
from streams.processors.base import Context, Processor
from streams.schemas import (
    CrisisOut,
    PostEngagement,
    ReachOut,
    SentimentDetected,
    SentimentWindow,
    SocialPost,
    TopicOut,
    aspects_out,
)

INSERT_SQL = """
INSERT INTO ai.social_insights (tid, whid, mid, id, event_type, platform, brand, account_id, author, url, text,
    posted_at, sentiment, sentiment_score, probabilities, truncated, embedding, language, supported, chunks, aspects,
    embedding_model, post_id, engagement, engagement_at, reach, topic_id, brands_named)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,
    $24, $25, $26, $27, $28)
"""

# The author's history at publish: engagement of their posts a day old or more (the last 100, oldest first, and
# how many in all), their previous post, and their posts in the day before.
HISTORY_SQL = """
WITH mine AS (
    SELECT posted_at, engagement FROM ai.social_insights
    WHERE tid = $1 AND mid = $2 AND platform = $3 AND author = $4 AND posted_at < $5
)
SELECT
    (SELECT coalesce(array_agg(engagement ORDER BY posted_at), '{}') FROM (
        SELECT posted_at, engagement FROM mine WHERE engagement IS NOT NULL AND posted_at <= $5 - interval '1 day'
        ORDER BY posted_at DESC LIMIT 100) AS recent) AS known,
    (SELECT count(*) FROM mine WHERE engagement IS NOT NULL AND posted_at <= $5 - interval '1 day') AS known_count,
    (SELECT max(posted_at) FROM mine) AS previous,
    (SELECT count(*) FROM mine WHERE posted_at >= $5 - interval '1 day') AS last_day
"""

WINDOW_SQL = """
SELECT count(*) AS mentions, count(*) FILTER (WHERE sentiment = 'negative') AS negative
FROM ai.social_insights
WHERE tid = $1 AND mid = $2 AND brand = $3 AND posted_at > $4 AND posted_at <= $5 AND supported
"""

STATE_SQL = """
INSERT INTO ai.brand_sentiment_state (tid, whid, mid, brand) VALUES ($1, $2, $3, $4)
ON CONFLICT (tid, mid, brand) DO UPDATE SET brand = EXCLUDED.brand
RETURNING in_spike, in_crisis, crisis_changed_at
"""

SET_STATE_SQL = """
UPDATE ai.brand_sentiment_state
SET in_spike = $4, changed_at = CASE WHEN in_spike <> $4 THEN now() ELSE changed_at END,
    in_crisis = $5, crisis = $6, crisis_changed_at = CASE WHEN in_crisis <> $5 THEN $7 ELSE crisis_changed_at END
WHERE tid = $1 AND mid = $2 AND brand = $3
"""


@dataclass(frozen=True)
class SpikeRule:
    window: timedelta = timedelta(minutes=60)
    min_mentions: int = 20
    negative_share: float = 0.5


@dataclass(frozen=True)
class Analysis:
    sentiment: Sentiment
    embedding: list[float]
    aspects: list[AspectMention]
    text: str = ""  # what is stored: the post's text, redacted when the tenant asks for it
    model: tuple[str, str] = ("sentiment", "unknown")  # name and version, for the decision record
    embedding_model: str | None = None  # the version that computed ``embedding`` (``vettify batch embed`` reads it)
    reach: ReachScore | None = None


class SocialProcessor(Processor[SocialPost, Analysis]):
    def __init__(self, context: Context, rule: SpikeRule | None = None, *, aspects: bool = True) -> None:
        super().__init__(context)
        self.rule = rule or SpikeRule()
        self.with_aspects = aspects
        self._batcher: MicroBatcher[str, Analysis] = MicroBatcher(
            self._analyze, max_size=32, max_wait_s=0.005, trace_name="mention analysis"
        )
        self._reach: MicroBatcher[Prepared, ReachScore] = MicroBatcher(
            self._score_reach, max_size=64, max_wait_s=0.002, trace_name="reach scoring"
        )

    async def _score_reach(self, posts: list[Prepared]) -> list[ReachScore]:
        assert self.context.reach is not None
        return await asyncio.to_thread(self.context.reach.predict, posts)

    async def _history(
        self, tenant: TenantContext, platform: str, author: str | None, posted_at: datetime
    ) -> AuthorHistory:
        if not author:
            return AuthorHistory(known_engagement=[])
        async with tenant_transaction(self.context.pool, tenant, readonly=True) as conn:
            row = await conn.fetchrow(HISTORY_SQL, tenant.tid, tenant.mid, platform, author, posted_at)
        previous = row["previous"]
        return AuthorHistory(
            known_engagement=list(row["known"]),
            known_count=int(row["known_count"]),
            days_since_post=(posted_at - previous).total_seconds() / 86400 if previous else None,
            posts_24h=int(row["last_day"]),
        )

    async def _analyze(self, texts: list[str]) -> list[Analysis]:
        sentiments, vectors, aspects = await asyncio.gather(
            self.context.models.sentiment(texts), self.context.models.embed(texts), self._aspects(texts)
        )
        return [Analysis(s, v, a) for s, v, a in zip(sentiments, vectors, aspects, strict=True)]

    async def _aspects(self, texts: list[str]) -> list[list[AspectMention]]:
        if not self.with_aspects:
            return [[] for _ in texts]
        return await self.context.models.aspects(texts)

    def ordering_key(self, event: Envelope, payload: SocialPost) -> tuple[str, ...]:
        return (event.tid, event.mid, "brand", payload.brand)

    async def analyze(self, event: Envelope, payload: SocialPost) -> Analysis:
        text = payload.text
        if (await self.context.privacy_settings(event.tid, event.mid)).redact_mentions:
            text = redact(text).text  # before it is embedded or stored
        analysis = await self._batcher.submit(text)
        model = await self.context.models.model_info("sentiment")
        embedder = await self.context.models.model_info("embedding")
        reach = None
        if self.context.reach is not None:
            posted_at = payload.posted_at or event.occurred_at
            history = await self._history(store.tenant_of(event), event.type.split(".")[1], payload.author, posted_at)
            reach = await self._reach.submit(self.context.reach.prepare(text, posted_at, history, analysis.embedding))
        return replace(analysis, text=text, model=model, embedding_model=embedder[1], reach=reach)

    async def write(self, conn: asyncpg.Connection, event: Envelope, payload: SocialPost, analysis: Analysis) -> None:
        posted_at = payload.posted_at or event.occurred_at
        s = analysis.sentiment
        # Lock the brand's state first: the window below then sees every earlier writer's committed rows.
        state = await conn.fetchrow(STATE_SQL, event.tid, event.whid, event.mid, payload.brand)
        was_spike = bool(state["in_spike"])
        topic = await topics.place(
            conn, event.tid, event.mid, payload.brand, analysis.embedding, analysis.text, posted_at
        )
        named = await brand_watch.named(conn, event.tid, event.mid, analysis.text, payload.brand)
        await conn.execute(
            INSERT_SQL,
            event.tid,
            event.whid,
            event.mid,
            event.id,
            event.type,
            event.type.split(".")[1],
            payload.brand,
            payload.account_id,
            payload.author,
            payload.url,
            analysis.text,
            posted_at,
            s.label,
            s.score,
            s.probabilities,
            s.truncated,
            np.asarray(analysis.embedding, dtype=np.float32),
            s.language,
            s.supported,
            s.chunks,
            [asdict(a) for a in analysis.aspects],
            analysis.embedding_model,
            payload.post_id,
            payload.engagement,
            event.occurred_at if payload.engagement is not None else None,
            self._reach_out(analysis.reach),
            topic.topic_id,
            named,
        )
        reach: float | None = payload.engagement
        if reach is None and analysis.reach is not None:
            reach = analysis.reach.expected_engagement
        check = await crisis.assess_brand(
            conn, event.tid, event.mid, payload.brand, posted_at, negative=s.label == "negative" and s.supported,
            reach=reach, was_on=bool(state["in_crisis"]), changed_at=state["crisis_changed_at"],
        )  # fmt: skip
        assessed, crisis_started = check.crisis, check.started
        if self.rule.window == crisis.DEFAULT_RULE.window:  # the same window: its counts are already read
            mentions, negative = check.figures.supported, check.figures.negative
        else:
            counts = await conn.fetchrow(
                WINDOW_SQL, event.tid, event.mid, payload.brand, posted_at - self.rule.window, posted_at
            )
            mentions, negative = int(counts["mentions"]), int(counts["negative"])
        share = negative / mentions if mentions else 0.0
        spike = mentions >= self.rule.min_mentions and share >= self.rule.negative_share
        await conn.execute(SET_STATE_SQL, event.tid, event.mid, payload.brand, spike, assessed.on, check.state,
                           posted_at)  # fmt: skip
        detected = SentimentDetected(
            insight_id=event.id,
            platform=event.type.split(".")[1],
            brand=payload.brand,
            account_id=payload.account_id,
            sentiment=s.label,
            score=s.score,
            probabilities=s.probabilities,
            language=s.language,
            supported=s.supported,
            aspects=aspects_out(analysis.aspects),
            window=SentimentWindow(
                minutes=int(self.rule.window.total_seconds() // 60),
                mentions=mentions,
                negative=negative,
                negative_share=round(share, 4),
            ),
            spike=spike,
            spike_started=spike and not was_spike,
            reach=ReachOut.model_validate(self._reach_out(analysis.reach)) if analysis.reach else None,
            topic=TopicOut(
                id=topic.topic_id, started=topic.started, similarity=topic.similarity, merged=list(topic.merged)
            ),
            brands_named=named,
            crisis=CrisisOut(
                on=assessed.on,
                started=crisis_started,
                holds=assessed.reasons(),
                volume_ratio=assessed.volume_ratio,
                negative_share=assessed.negative_share,
                reach_ratio=assessed.reach_ratio,
            ),
        )
        await store.publish(
            conn, event, "crm.sentiment.detected", detected, aggregate_type="social_insight", aggregate_id=event.id
        )
        if analysis.reach is not None and self.context.reach is not None:
            await decisions.record(
                conn,
                store.tenant_of(event),
                kind="reach",
                ref_id=event.id,
                model="reach",
                model_version=self.context.reach.name,
                input_digest=decisions.input_hash(analysis.text),
                output={"expected_engagement": analysis.reach.expected_engagement, "lift": analysis.reach.lift},
                explanation={
                    "author_typical": analysis.reach.author_typical,
                    "history_posts": analysis.reach.history_posts,
                    "text_used": analysis.reach.text_used,
                    "note": analysis.reach.note,
                },
                account_id=payload.account_id,
            )
        await decisions.record(
            conn,
            store.tenant_of(event),
            kind="sentiment",
            ref_id=event.id,
            model=analysis.model[0],
            model_version=analysis.model[1],
            input_digest=decisions.input_hash(analysis.text),
            output={"label": s.label, "score": s.score, "language": s.language, "supported": s.supported},
            explanation={
                "probabilities": s.probabilities,
                "chunks": s.chunks,
                "truncated": s.truncated,
                "aspects": [{"aspect": a.aspect, "label": a.label, "score": a.score} for a in analysis.aspects],
            },
            account_id=payload.account_id,
        )

    async def draft_reach(
        self, tenant: TenantContext, *, platform: str, author: str | None, text: str, publish_at: datetime
    ) -> dict[str, Any]:
        """A post not published yet, scored as it would be at ``publish_at`` (nothing is stored)."""
        if self.context.reach is None:
            raise Unavailable("the reach model is not loaded in the streams (see the Streams deployment's log)")
        vector = (await self.context.models.embed([text]))[0] if self.context.reach.uses_text and text else None
        history = await self._history(tenant, platform, author, publish_at)
        scored = await self._reach.submit(self.context.reach.prepare(text, publish_at, history, vector))
        out = self._reach_out(scored)
        assert out is not None
        return out

    def _reach_out(self, reach: ReachScore | None) -> dict[str, Any] | None:
        if reach is None or self.context.reach is None:
            return None
        return {**asdict(reach), "model": self.context.reach.name}


UPDATE_ENGAGEMENT_SQL = """
UPDATE ai.social_insights SET engagement = $5, engagement_at = $6
WHERE tid = $1 AND mid = $2 AND platform = $3 AND post_id = $4 AND (engagement_at IS NULL OR engagement_at <= $6)
"""
POST_EXISTS_SQL = "SELECT 1 FROM ai.social_insights WHERE tid = $1 AND mid = $2 AND platform = $3 AND post_id = $4"


class EngagementProcessor(Processor[PostEngagement, None]):
    """``social.post.engagement``: the newest counts of a stored post; an older report than the stored one is
    ignored. A post not stored (yet) is a dead letter with that reason: replay the event once the post is in."""

    def ordering_key(self, event: Envelope, payload: PostEngagement) -> tuple[str, ...]:
        return (event.tid, event.mid, "post", payload.platform, payload.post_id)

    async def analyze(self, event: Envelope, payload: PostEngagement) -> None:
        return None

    async def write(self, conn: asyncpg.Connection, event: Envelope, payload: PostEngagement, analysis: None) -> None:
        observed = payload.observed_at or event.occurred_at
        key = (event.tid, event.mid, payload.platform, payload.post_id)
        status = await conn.execute(UPDATE_ENGAGEMENT_SQL, *key, payload.engagement, observed)
        if status == "UPDATE 0" and await conn.fetchval(POST_EXISTS_SQL, *key) is None:
            raise InvalidEvent(
                f"no {payload.platform} post {payload.post_id!r} is stored for this tenant yet: engagement counts "
                "apply to a stored post (send its social.* event first, then replay this one)"
            )
