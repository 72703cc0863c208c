"""Payload contracts of every event the streams consume and publish (docs/architecture.md, *Events*).

Consumed payloads are validated before anything is written; a payload that does
not validate goes to the dead-letter store with pydantic's error list as the
reason. ``python -m streams.schemas --out DIR`` (or ``vettify events-schema``)
writes one JSON Schema per event type, envelope included.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crm_core.events.payloads import SalesOrderCreated, ShipmentDelivered
from crm_core.schemas.pricing import PricingAdjusted
from infra.events.envelope import EVENT_NAME, Envelope
from models.prospects.matching import Person
from models.prospects.signals import SignalKind
from models.text.aspects import AspectMention

MAX_TEXT_CHARS = 100_000
Sentiment = Literal["negative", "neutral", "positive"]
Bucket = Literal["low", "medium", "high"]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class _Published(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- consumed ---------------------------------------------------------------------
class SocialPost(_Payload):
    """What every social text event shares: a post about a brand, maybe by a known account."""

    post_id: str = Field(min_length=1, max_length=200)
    brand: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    author: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, max_length=2000)
    posted_at: datetime | None = None
    account_id: UUID | None = None
    lang: str | None = Field(default=None, max_length=16)
    likes: int | None = Field(
        default=None,
        ge=0,
        description="Engagement so far, when the producer knows it (an import of old posts); later counts arrive "
        "as social.post.engagement.",
    )
    shares: int | None = Field(default=None, ge=0)
    comments: int | None = Field(default=None, ge=0)

    @property
    def engagement(self) -> int | None:
        """likes + shares + comments, or ``None`` when none of them is given."""
        counts = [c for c in (self.likes, self.shares, self.comments) if c is not None]
        return sum(counts) if counts else None


class TwitterMention(SocialPost):
    """``social.twitter.mention``."""


class LinkedInActivity(SocialPost):
    """``social.linkedin.activity``: a post, comment or share with text (likes carry no text to analyse)."""

    activity_type: Literal["post", "comment", "share", "message"] = "post"


class TikTokContent(SocialPost):
    """``social.tiktok.content``: ``text`` is the caption (or the video's transcript when the producer has it)."""

    views: int | None = Field(default=None, ge=0)


class PostEngagement(_Payload):
    """``social.post.engagement``: a stored post's engagement counts as the platform reports them later.

    The newest observation wins; the counts feed the author's history, which the reach score of their next
    posts reads. A post not stored yet goes to the dead letters with that reason (replay it after the post)."""

    platform: Literal["twitter", "linkedin", "tiktok"]
    post_id: str = Field(min_length=1, max_length=200)
    likes: int = Field(default=0, ge=0)
    shares: int = Field(default=0, ge=0)
    comments: int = Field(default=0, ge=0)
    views: int | None = Field(default=None, ge=0)
    observed_at: datetime | None = Field(
        default=None, description="When the counts were read; absent: the event's time."
    )

    @property
    def engagement(self) -> int:
        return self.likes + self.shares + self.comments


class ProspectIn(_Payload):
    """The person who acted, as the feed shows them: at least a profile URL, an e-mail, or a name with a company."""

    profile_url: str | None = Field(default=None, max_length=2000, description="linkedin.com/in/… (any form)")
    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=300)
    company: str | None = Field(default=None, max_length=300, description="where they work now")
    headline: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _recognisable(self) -> Self:
        if self.person().key() is None:
            raise ValueError(
                "the prospect needs a LinkedIn profile URL, an e-mail, or a full name with a company, to be "
                "recognised again"
            )
        return self

    def person(self) -> Person:
        return Person(profile_url=self.profile_url, email=self.email, name=self.name, company=self.company)


class LinkedInSignal(_Payload):
    """``social.linkedin.signal``: one thing a prospect did that a sales team sees on LinkedIn.

    Each kind carries its own details: ``post_reaction`` and ``post_comment`` the post (``post_url``), a
    reaction its ``reaction``, a comment its ``comment``; ``job_change`` the ``new_company`` (and
    ``new_title``); ``event_signup`` the ``event_name``; ``message_reply`` the ``thread_id``; ``company_follow``
    the ``company_page``. ``user``: the user of ours it involved (whose profile was viewed, whose post, whose
    message, who hosts the event): the relationship map counts it."""

    kind: SignalKind
    prospect: ProspectIn
    user: str | None = Field(default=None, max_length=200)
    occurred_at: datetime | None = Field(default=None, description="when it happened; absent: the event's time")
    post_url: str | None = Field(default=None, max_length=2000)
    reaction: Literal["like", "celebrate", "support", "love", "insightful", "funny"] | None = None
    comment: str | None = Field(default=None, max_length=5000)
    new_company: str | None = Field(default=None, max_length=300)
    new_title: str | None = Field(default=None, max_length=300)
    event_name: str | None = Field(default=None, max_length=300)
    thread_id: str | None = Field(default=None, max_length=200)
    company_page: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _details(self) -> Self:
        required = {"job_change": "new_company", "event_signup": "event_name"}
        if (name := required.get(self.kind)) is not None and not getattr(self, name):
            raise ValueError(f"a {self.kind} needs {name}")
        if self.reaction is not None and self.kind != "post_reaction":
            raise ValueError("reaction is for a post_reaction")
        return self

    def details(self) -> dict[str, Any]:
        """The kind's own fields that were given (stored with the signal)."""
        names = ("post_url", "reaction", "comment", "new_company", "new_title", "event_name", "thread_id",
                 "company_page")  # fmt: skip
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


class PixelEvent(_Payload):
    """``social.facebook.pixel.event``: Meta pixel standard events (custom names are kept as they are)."""

    pixel_id: str = Field(min_length=1, max_length=100)
    event_name: str = Field(min_length=1, max_length=100)
    session_id: str = Field(min_length=1, max_length=200, description="The browser id (_fbp) or the site's session.")
    url: str | None = Field(default=None, max_length=2000)
    value: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=2)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    account_id: UUID | None = None
    utm_campaign: str | None = Field(default=None, max_length=200)


class WebBehavior(_Payload):
    """``web.user.behavior.tracked``: one step of a visitor's session on the site or app."""

    session_id: str = Field(min_length=1, max_length=200)
    action: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9_:.-]+$")
    page: str | None = Field(default=None, max_length=2000)
    visitor_id: str | None = Field(default=None, max_length=200)
    account_id: UUID | None = None
    contact_id: UUID | None = Field(
        default=None, description="An identified visitor (a form submission, a login): enrols them in sequences."
    )
    channel: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9_.-]{1,40}$",
        description="The marketing channel that brought the session (utm_source or the referrer's class: "
        "google_ads, organic, newsletter, …); a touchpoint for attribution. Absent: direct.",
    )
    value: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=2)


class _Recording(_Payload):
    call_id: str = Field(min_length=1, max_length=200)
    account_id: UUID | None = None
    contact_id: UUID | None = Field(
        default=None, description="the CRM contact on the call, if known: their data-protection requests reach it"
    )
    recorded_at: datetime | None = None

    def _media(self, path: str | None, b64: str | None, what: str) -> None:
        if (path is None) == (b64 is None):
            raise ValueError(f"give exactly one of {what}_path (a file under the media root) or {what}_b64")
        if b64 is not None:
            try:
                base64.b64decode(b64, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ValueError(f"{what}_b64 is not valid base64: {exc}") from exc


class VoiceCallRecorded(_Recording):
    """``media.voice.call.recorded``: the recording by path under the media root, or inline as base64."""

    audio_path: str | None = Field(default=None, max_length=1000)
    audio_b64: str | None = None
    profile: Literal["fast", "accurate"] | None = Field(
        default=None,
        description="Whisper profile; absent: the tenant's (VETTIFY_VOICE_PROFILE_BY_TENANT), else the default",
    )
    language: str = Field(default="en", max_length=8, description="spoken language code, or auto (accurate only)")
    speakers: int | None = Field(default=None, ge=1, le=10, description="exact number of speakers, when known")
    rep: str | None = Field(
        default=None, max_length=10, description="the rep's side: left/right channel of a stereo call, or S1, S2, …"
    )

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        self._media(self.audio_path, self.audio_b64, "audio")
        return self


class VideoCallRecorded(_Recording):
    """``media.video.call.recorded``: frames are sampled at ``fps`` for face, emotion and attention."""

    video_path: str | None = Field(default=None, max_length=1000)
    video_b64: str | None = None
    fps: float = Field(default=1.0, gt=0, le=10)

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        self._media(self.video_path, self.video_b64, "video")
        return self


CONSUMED: dict[str, type[BaseModel]] = {
    "social.twitter.mention": TwitterMention,
    "social.linkedin.activity": LinkedInActivity,
    "social.tiktok.content": TikTokContent,
    "social.post.engagement": PostEngagement,
    "social.linkedin.signal": LinkedInSignal,
    "social.facebook.pixel.event": PixelEvent,
    "web.user.behavior.tracked": WebBehavior,
    "media.voice.call.recorded": VoiceCallRecorded,
    "media.video.call.recorded": VideoCallRecorded,
    "sales.order.created": SalesOrderCreated,
    "wms.shipment.delivered": ShipmentDelivered,
}
SOCIAL_TYPES = ("social.twitter.mention", "social.linkedin.activity", "social.tiktok.content")


# --- published --------------------------------------------------------------------
class SentimentWindow(_Published):
    minutes: int
    mentions: int
    negative: int
    negative_share: float


class AspectOut(BaseModel):
    """A sentence about one aspect, with its own sentiment."""

    aspect: str = Field(description="price, quality, support, delivery, onboarding, billing or competitor")
    sentence: str
    sentiment: Sentiment
    score: float = Field(description="the sentence's P(positive) - P(negative)")


def aspects_out(mentions: list[AspectMention]) -> list[AspectOut]:
    """The published form of a text's aspect mentions (the label is validated as a sentiment)."""
    return [
        AspectOut.model_validate({"aspect": m.aspect, "sentence": m.sentence, "sentiment": m.label, "score": m.score})
        for m in mentions
    ]


class ReachOut(BaseModel):
    """The post's predicted engagement at publish (``models.reach``), against its author's own posts."""

    expected_engagement: float | None = Field(description="likes + shares + comments; null: no author history")
    author_typical: float | None = Field(description="what the author's last 20 known posts got (geometric mean)")
    lift: float = Field(description="against the author's typical post: 1 as usual, 2 twice as much")
    history_posts: int = Field(description="the author's posts with known engagement the score read")
    text_used: bool
    note: str | None = None
    model: str


class TopicOut(BaseModel):
    """The brand topic a mention joined or started (``models.topics.online``)."""

    id: UUID
    started: bool = Field(description="true: the mention started this topic")
    similarity: float = Field(description="cosine similarity to the topic it joined (1 when it started one)")
    merged: list[UUID] = Field(default_factory=list, description="topics merged into this one by this mention")


class CrisisOut(BaseModel):
    """The brand's crisis assessment at this mention (``models.topics.crisis``)."""

    on: bool = Field(description="volume, negativity and reach all hold")
    started: bool = Field(description="this mention started a crisis alert (not in crisis within the last window)")
    holds: list[Literal["volume", "negativity", "reach"]]
    volume_ratio: float = Field(description="the window's mentions against the brand's own rate")
    negative_share: float
    reach_ratio: float = Field(description="the negatives' summed reach against their usual per window")


class SentimentDetected(_Published):
    """``crm.sentiment.detected``: one analysed mention, with its brand's sliding window."""

    insight_id: UUID
    platform: str
    brand: str
    account_id: UUID | None
    sentiment: Sentiment
    score: float = Field(description="P(positive) - P(negative), in [-1, 1].")
    probabilities: dict[str, float]
    language: str = Field(default="und", description="ISO 639-1 code; 'und' when too short or unsure")
    supported: bool = Field(
        default=True, description="false: a language the model was not trained on (neutral, score 0, not averaged)"
    )
    aspects: list[AspectOut] = Field(default_factory=list, description="its sentences about an aspect")
    window: SentimentWindow
    spike: bool = Field(description="The brand's negative share is over the threshold in the window.")
    spike_started: bool = Field(description="This mention tipped the brand into a spike (first event of it).")
    reach: ReachOut | None = Field(default=None, description="predicted engagement (posts with an author)")
    topic: TopicOut | None = None
    brands_named: list[str] = Field(default_factory=list, description="the watched brands the mention names")
    crisis: CrisisOut | None = None


class VoiceTranscribed(_Published):
    """``crm.voice.transcribed``."""

    call_id: str
    account_id: UUID | None
    transcript: str = Field(description="First 2,000 characters; the whole one is in ai.call_analyses.")
    words: int
    duration_s: float
    sentiment: Sentiment | None
    keywords: list[str]
    profile: str | None = Field(default=None, description="the Whisper profile that transcribed it")
    no_speech: bool = Field(default=False, description="voice activity detection heard no speech")


class CallSpeaker(BaseModel):
    """One side of an analysed call (``crm.call.analyzed``)."""

    speaker: str
    role: Literal["rep", "customer"] | None = None
    talk_ratio: float
    words_per_minute: float
    interruptions: int
    longest_monologue_s: float
    sentiment: Sentiment | None = None


class CallAnalyzed(_Published):
    """``crm.call.analyzed``: what a dashboard shows for a voice or video call."""

    call_id: str
    kind: Literal["voice", "video"]
    account_id: UUID | None
    sentiment: Sentiment | None = None
    sentiment_score: float | None = None
    words_per_minute: float | None = None
    talk_ratio: float | None = None
    engagement: float | None = None
    attention: float | None = None
    dominant_emotion: str | None = None
    faces_found: bool | None = None
    speakers: list[CallSpeaker] | None = Field(default=None, description="voice calls: who spoke how much and how")
    aspects: list[AspectOut] | None = Field(default=None, description="voice calls: transcript sentences by aspect")


class BehaviorPatternDetected(_Published):
    """``crm.behavior.pattern.detected``: a session's journey, its nearest known journey and propensity."""

    session_id: str
    account_id: UUID | None
    journey: str
    steps: int
    converted: bool
    nearest_session_id: str | None
    similarity: float | None
    conversion_propensity: float | None = Field(description="Share of converted sessions among the nearest ones.")


class PixelAnalyzed(_Published):
    """``crm.social.pixel.analyzed``: the funnel stage an event reached and the session's furthest stage."""

    pixel_id: str
    session_id: str
    event_name: str
    funnel_stage: str
    stage_index: int
    session_furthest_stage: str
    session_events: int
    intent_score: float
    value: Decimal | None
    currency: str | None
    utm_campaign: str | None


class ChurnScored(_Published):
    """``crm.churn.scored``: published when an account's risk bucket changes."""

    account_id: UUID
    probability: float
    bucket: Bucket
    previous_bucket: Bucket | None
    model_version: str
    top_factors: list[dict[str, Any]]


class ArmSummary(_Published):
    variant: str
    recipients: int
    conversions: int
    p_best: float


class ABTestOptimized(_Published):
    """``crm.ab.test.optimized``: a campaign A/B test's decision or allocation changed."""

    campaign_id: UUID
    metric: Literal["open", "click", "conversion", "revenue"]
    decision: Literal["winner", "no_difference", "keep_running", "not_enough_data", "sample_ratio_mismatch"]
    winner: str | None
    reason: str
    allocation: dict[str, float] = Field(description="shares of the sends from now on")
    previous_allocation: dict[str, float]
    epoch: int = Field(description="the allocation's number: 0 is the planned split")
    reassigned: int = Field(description="queued recipients given a variant under the new allocation")
    arms: list[ArmSummary]


class ProspectScored(_Published):
    """``crm.linkedin.prospect.scored``: a prospect's intent crossed the threshold or rose sharply."""

    prospect_id: UUID
    contact_id: UUID | None
    lead_id: UUID | None
    account_id: UUID | None
    name: str | None
    score: float = Field(description="0-100: the intent model's conversion probability times 100, now")
    previous_score: float = Field(description="the score just before this activity (faded to now)")
    reason: Literal["crossed_threshold", "sharp_rise"]
    threshold: float
    model: Literal["prior", "learned"]
    top_signals: list[dict[str, Any]]


PUBLISHED: dict[str, type[BaseModel]] = {
    "crm.sentiment.detected": SentimentDetected,
    "crm.voice.transcribed": VoiceTranscribed,
    "crm.call.analyzed": CallAnalyzed,
    "crm.behavior.pattern.detected": BehaviorPatternDetected,
    "crm.social.pixel.analyzed": PixelAnalyzed,
    "crm.churn.scored": ChurnScored,
    "crm.ab.test.optimized": ABTestOptimized,
    "crm.pricing.adjusted": PricingAdjusted,
    "crm.linkedin.prospect.scored": ProspectScored,
}


def misnamed() -> list[str]:
    """Event types that do not follow ``<module>.<ctx>.<event>`` (empty when all do)."""
    return [name for name in [*CONSUMED, *PUBLISHED] if not EVENT_NAME.match(name)]


def json_schemas() -> dict[str, dict[str, Any]]:
    """``{event type: JSON Schema}``; the envelope's own schema is under ``"envelope"``."""
    schemas: dict[str, dict[str, Any]] = {"envelope": Envelope.model_json_schema()}
    for name, model in {**CONSUMED, **PUBLISHED}.items():
        schema = model.model_json_schema()
        schema["title"] = name
        schemas[name] = schema
    return schemas


def write_json_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        path = folder / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the JSON Schema of every event payload.")
    parser.add_argument("--out", type=Path, default=Path("schemas"), help="output folder (default: ./schemas)")
    args = parser.parse_args(argv)
    bad = misnamed()
    if bad:
        parser.error(f"event types not named <module>.<ctx>.<event>: {bad}")
    for path in write_json_schemas(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
