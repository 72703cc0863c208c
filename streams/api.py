"""HTTP routes of the streams: ``POST /v1/events`` and ``/v1/insights/*``.

The routes call the :class:`~streams.service.Streams` kept in ``app.state.streams`` (in-process, or the
Streams deployment through its handle under ``vettify up``). Callers authenticate with a bearer token:
``events:write`` to send events, which must belong to the token's tenant (an event for another tenant is
dead-lettered, not stored), and ``insights:read`` for queries, which run inside it (RLS). Errors follow the
engine's one contract (:mod:`infra.http.problems`).

``POST /v1/events`` takes one envelope or a JSON array of them (at most :data:`MAX_BATCH` and
:data:`MAX_BODY_BYTES`) and answers ``202`` with one result per event: ``stored``, ``duplicate`` or
``dead_lettered`` with the reason. A body that is not JSON is dead-lettered whole and answered 400
``malformed_request``, with that dead letter's ``result``.
"""

# No ``from __future__ import annotations``: FastAPI resolves the route annotations at definition time.
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from infra.errors import InvalidInput, MalformedRequest, PayloadTooLarge
from infra.http.auth import RequireScopes
from infra.http.problems import problem_responses
from infra.security import Principal
from streams.brand_watch import WatchList
from streams.core import Result
from streams.insights import MAX_DEAD_LETTER_PAGE
from streams.prospects import ProspectMatch, ProspectQuery, ProspectUpkeep
from streams.recommendations import CatalogUpsert, InteractionBatch, RecommendationRequest, Recommendations
from streams.schemas import MAX_TEXT_CHARS, ReachOut
from streams.service import Streams

EVENTS_SCOPE = "events:write"
INSIGHTS_SCOPE = "insights:read"
MAX_BODY_BYTES = 8 << 20
MAX_BATCH = 500

Writer = Annotated[Principal, Depends(RequireScopes(EVENTS_SCOPE))]
Reader = Annotated[Principal, Depends(RequireScopes(INSIGHTS_SCOPE))]
Admin = Annotated[Principal, Depends(RequireScopes(INSIGHTS_SCOPE, "crm:admin"))]

router = APIRouter(responses=problem_responses(503, 504))


async def streams_of(request: Request) -> Streams:
    # async: FastAPI runs a plain ``def`` dependency in a worker thread, a thread hop on every request
    streams: Streams = request.app.state.streams
    return streams


StreamsDep = Annotated[Streams, Depends(streams_of)]


class EventResult(BaseModel):
    id: str | None
    type: str | None
    outcome: Literal["stored", "duplicate", "dead_lettered"]
    reason: str | None

    @classmethod
    def of(cls, result: Result) -> "EventResult":
        return cls.model_validate(result.as_dict())


class IngestResponse(BaseModel):
    stored: int
    duplicate: int
    dead_lettered: int
    results: list[EventResult]


class NearestRequest(BaseModel):
    """A text to embed, or a 384-d vector: exactly one."""

    text: str | None = Field(default=None, min_length=1, max_length=10_000)
    vector: list[float] | None = Field(default=None, min_length=384, max_length=384)
    k: int = Field(default=10, ge=1, le=100)


class SimilarRequest(NearestRequest):
    brand: str | None = Field(default=None, max_length=200)


def split_body(raw: bytes) -> list[bytes]:
    """One envelope, or a JSON array of them, as one serialized body per event."""
    data = json.loads(raw)  # ValueError → the caller dead-letters the whole body
    if isinstance(data, list):
        return [json.dumps(item, separators=(",", ":")).encode() for item in data]
    return [raw]


@router.post("/v1/events", response_model=IngestResponse, status_code=202, tags=["streams"])
async def ingest(request: Request, principal: Writer, streams: StreamsDep) -> IngestResponse:
    """Ingest one event envelope or a JSON array of them (see the envelope's JSON Schema: ``streams.schemas``)."""
    declared = int(request.headers.get("content-length") or 0)
    if declared > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is {declared} bytes; the limit is {MAX_BODY_BYTES}")
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}")
    try:
        bodies = split_body(raw)
    except ValueError as exc:
        dead = (await streams.ingest([raw], "http", principal.tenant))[0]
        raise MalformedRequest(f"the body is not JSON: {exc}", result=dead.as_dict()) from exc
    if len(bodies) > MAX_BATCH:
        raise PayloadTooLarge(f"{len(bodies)} events in one request; the limit is {MAX_BATCH}")
    results = [EventResult.of(r) for r in await streams.ingest(bodies, "http", principal.tenant)]
    counts = {k: sum(1 for r in results if r.outcome == k) for k in ("stored", "duplicate", "dead_lettered")}
    return IngestResponse(**counts, results=results)


class DeadLetter(BaseModel):
    seq: int = Field(description="Position in the dead-letter log; newer letters have larger numbers.")
    received_at: datetime
    source: str = Field(description="Where the event came from: http, rabbitmq:<queue>, kafka:<topic>.")
    reason: str = Field(description="Why it could not be processed as it was.")
    event_id: UUID | None
    event_type: str | None
    body_bytes: int
    body_preview: str = Field(description="The start of the body as received (UTF-8, undecodable bytes replaced).")


class DeadLetterPage(BaseModel):
    items: list[DeadLetter]
    next_cursor: str | None = Field(description="Pass as `cursor` for older letters; null on the last page.")


@router.get("/v1/events/dead-letters", response_model=DeadLetterPage, tags=["streams"])
async def dead_letters(
    principal: Reader,
    streams: StreamsDep,
    limit: Annotated[int, Query(ge=1, le=MAX_DEAD_LETTER_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> dict[str, Any]:
    """The caller's tenant's dead letters, newest first: events refused with the reason, and their body."""
    return await streams.dead_letters(principal.tenant, limit=limit, cursor=cursor)


@router.post("/v1/insights/mentions/similar", tags=["insights"])
async def similar_mentions(body: SimilarRequest, principal: Reader, streams: StreamsDep) -> list[dict[str, Any]]:
    """Mentions nearest to a text or a 384-d vector (cosine, pgvector HNSW), optionally for one brand."""
    return await streams.similar_mentions(
        principal.tenant, text=body.text, vector=body.vector, k=body.k, brand=body.brand
    )


@router.post("/v1/insights/patterns/similar", tags=["insights"])
async def similar_patterns(body: SimilarRequest, principal: Reader, streams: StreamsDep) -> list[dict[str, Any]]:
    """Web sessions whose journey is nearest to a text (e.g. ``page_view:/pricing > click:demo``) or vector."""
    return await streams.similar_patterns(principal.tenant, text=body.text, vector=body.vector, k=body.k)


class SimilarCallsRequest(NearestRequest):
    account_id: UUID | None = None


@router.post("/v1/insights/calls/similar", tags=["insights"])
async def similar_calls(body: SimilarCallsRequest, principal: Reader, streams: StreamsDep) -> list[dict[str, Any]]:
    """Calls with a transcript passage nearest to a text or vector (one row per call, its best passage first)."""
    return await streams.similar_calls(
        principal.tenant, text=body.text, vector=body.vector, k=body.k, account_id=body.account_id
    )


@router.get("/v1/insights/sentiment", tags=["insights"])
async def sentiment_timeline(
    principal: Reader,
    streams: StreamsDep,
    brand: str | None = None,
    account_id: UUID | None = None,
    bucket: Literal["hour", "day", "week"] = "day",
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> list[dict[str, Any]]:
    """Mentions per sentiment and mean score over time, for a brand, an account, or the whole tenant."""
    until = datetime.now(UTC) + timedelta(minutes=1)
    return await streams.sentiment_timeline(
        principal.tenant,
        since=until - timedelta(days=days),
        until=until,
        bucket=bucket,
        brand=brand,
        account_id=account_id,
    )


class DraftPost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: Literal["twitter", "linkedin", "tiktok"]
    author: str | None = Field(default=None, max_length=200, description="the handle whose stored posts are history")
    text: str = Field(default="", max_length=MAX_TEXT_CHARS, description="empty: scored on history and timing")
    publish_at: datetime | None = Field(default=None, description="when it would go out (default: now)")


@router.post("/v1/insights/reach", tags=["insights"], response_model=ReachOut)
async def draft_reach(body: DraftPost, principal: Reader, streams: StreamsDep) -> dict[str, Any]:
    """A draft post's reach score before it is published: the same model and author history as the score every
    stored post gets, at the planned time. Nothing is stored."""
    when = body.publish_at or datetime.now(UTC)
    if when.tzinfo is None:
        raise InvalidInput("publish_at needs a time zone (e.g. 2026-12-03T18:00:00+02:00)")
    return await streams.draft_reach(
        principal.tenant, platform=body.platform, author=body.author, text=body.text, publish_at=when
    )


@router.get("/v1/insights/brands", tags=["insights"])
async def brands(
    principal: Reader, streams: StreamsDep, hours: Annotated[int, Query(ge=1, le=24 * 90)] = 24
) -> list[dict[str, Any]]:
    """Each brand's mentions in the last ``hours`` by sentiment, its mean score and latest mention, and
    whether a negative spike is on now; busiest first (at most 50)."""
    return await streams.brands(principal.tenant, since=datetime.now(UTC) - timedelta(hours=hours))


@router.get("/v1/insights/topics", tags=["insights"])
async def brand_topics(
    principal: Reader,
    streams: StreamsDep,
    brand: Annotated[str, Query(min_length=1, max_length=200)],
    hours: Annotated[float, Query(ge=1, le=24 * 31)] = 24,
    baseline_days: Annotated[float, Query(ge=1, le=90)] = 7,
    min_size: Annotated[int, Query(ge=1, le=10_000)] = 3,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    until: datetime | None = None,
) -> dict[str, Any]:
    """The brand's topics (online clusters of its mentions) with readable labels, emerging ones first: each
    topic's mentions in the last ``hours`` against what its own rate over the ``baseline_days`` before
    predicts, its recent sentiment and latest mention. Topics under ``min_size`` mentions are left out."""
    end = _aware(until) or datetime.now(UTC)
    return await streams.brand_topics(
        principal.tenant, brand, until=end, hours=hours, baseline_days=baseline_days, min_size=min_size, limit=limit
    )


@router.get("/v1/insights/watched-brands", tags=["insights"])
async def watch_list(principal: Reader, streams: StreamsDep) -> list[dict[str, Any]]:
    """The tenant's watched brands: its own and its competitors, with their aliases."""
    return await streams.watch_list(principal.tenant)


@router.put("/v1/insights/watched-brands", tags=["insights"], responses=problem_responses(403, 422))
async def replace_watch_list(body: WatchList, principal: Admin, streams: StreamsDep) -> dict[str, Any]:
    """Replace the watched brands (``crm:admin``) and re-match the mentions of the last ``rematch_days``
    against them; a name or alias matches as a whole word, ignoring case and diacritics."""
    return await streams.replace_watch_list(principal.tenant, body)


@router.get("/v1/insights/share-of-voice", tags=["insights"])
async def share_of_voice(
    principal: Reader,
    streams: StreamsDep,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    bucket: Literal["hour", "day", "week"] = "day",
    until: datetime | None = None,
) -> dict[str, Any]:
    """Per watched brand over the last ``days``: the mentions naming it, its share of the watched brands'
    mentions, its sentiment, and the same per ``bucket``."""
    end = _aware(until) or datetime.now(UTC)
    return await streams.share_of_voice(principal.tenant, since=end - timedelta(days=days), until=end, bucket=bucket)


@router.get("/v1/insights/crises", tags=["insights"])
async def crises(
    principal: Reader, streams: StreamsDep, hours: Annotated[int, Query(ge=1, le=24 * 90)] = 72
) -> list[dict[str, Any]]:
    """Brands in crisis now (unusual volume, mostly negative, reaching far: all three at once), then brands
    whose crisis began or ended in the last ``hours``, with which of the three held at their latest mention."""
    return await streams.crises(principal.tenant, since=datetime.now(UTC) - timedelta(hours=hours))


@router.get("/v1/insights/prospects", tags=["insights"])
async def prospects(principal: Reader, streams: StreamsDep, query: Annotated[ProspectQuery, Query()]) -> dict[str, Any]:
    """LinkedIn prospects by intent now (highest first), with their CRM match and top signals, and which weights
    score them: the prior, or the tenant's own learned from its leads' outcomes (with the reason)."""
    return await streams.prospects(principal.tenant, query)


@router.get("/v1/insights/prospects/{prospect_id}", tags=["insights"], responses=problem_responses(404))
async def prospect(prospect_id: UUID, principal: Reader, streams: StreamsDep) -> dict[str, Any]:
    """One prospect: score, top signals, activities, match (or the conflicting candidates) and relationships."""
    return await streams.prospect(principal.tenant, prospect_id)


@router.post(
    "/v1/insights/prospects/{prospect_id}/match", tags=["insights"], responses=problem_responses(403, 404, 422)
)
async def confirm_prospect(
    prospect_id: UUID, body: ProspectMatch, principal: Admin, streams: StreamsDep
) -> dict[str, Any]:
    """Say which contact or lead a prospect is (``crm:admin``): resolves a conflict; never re-matched after."""
    return await streams.confirm_prospect(principal.tenant, prospect_id, body)


@router.post("/v1/insights/prospects/{action}", tags=["insights"], responses=problem_responses(403))
async def prospect_upkeep(action: ProspectUpkeep, principal: Admin, streams: StreamsDep) -> dict[str, Any]:
    """``rematch``: match every unmatched or conflicting prospect again (after importing contacts or leads);
    ``retrain``: learn the intent weights from the leads' outcomes now and rescore every prospect."""
    return await streams.prospect_upkeep(principal.tenant, action)


@router.get("/v1/insights/relationships", tags=["insights"])
async def relationships(
    principal: Reader,
    streams: StreamsDep,
    account_id: UUID | None = None,
    user: Annotated[str | None, Query(max_length=200)] = None,
    days: Annotated[int, Query(ge=1, le=366)] = 180,
) -> list[dict[str, Any]]:
    """The relationship map: which of our users each prospect interacted with, how strongly lately (recent
    interactions weigh more; a reply three times a view) and whether it is rising or cooling."""
    return await streams.relationships(principal.tenant, account_id=account_id, user=user, days=days)


def _aware(when: datetime | None) -> datetime | None:
    if when is not None and when.tzinfo is None:
        raise InvalidInput("until needs a time zone (e.g. 2026-12-03T18:00:00+02:00)")
    return when


@router.get("/v1/insights/stream-lag", tags=["insights"])
async def stream_lag(
    principal: Reader, streams: StreamsDep, minutes: Annotated[int, Query(ge=1, le=24 * 60)] = 15
) -> list[dict[str, Any]]:
    """Per source and event type, the tenant's events stored in the last ``minutes`` and their lag (seconds
    from the event's own time to when it was stored: p50, p95, max), and when the latest one was stored.
    Events a producer sends late (a replay, an import) show their age here too."""
    return await streams.stream_lag(principal.tenant, since=datetime.now(UTC) - timedelta(minutes=minutes))


@router.get("/v1/insights/funnel", tags=["insights"])
async def pixel_funnel(
    principal: Reader, streams: StreamsDep, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> list[dict[str, Any]]:
    """Pixel sessions of the last ``days`` through the funnel (awareness → conversion): per stage, the sessions
    that reached at least that stage, their share, and the pixel events that count as it."""
    return await streams.pixel_funnel(principal.tenant, since=datetime.now(UTC) - timedelta(days=days))


@router.get("/v1/insights/calls", tags=["insights"])
async def latest_calls(
    principal: Reader,
    streams: StreamsDep,
    account_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[dict[str, Any]]:
    """The latest analysed calls, newest first."""
    return await streams.latest_calls(principal.tenant, account_id=account_id, limit=limit)


@router.get("/v1/insights/calls/{call_analysis_id}", tags=["insights"], responses=problem_responses(404))
async def call_detail(call_analysis_id: UUID, principal: Reader, streams: StreamsDep) -> dict[str, Any]:
    """One analysed call (``id`` from ``/v1/insights/calls``): the whole transcript and its analysis — voice:
    segments with their sentiment and speaker, speakers, speech and silence ratios; video: the per-frame
    timeline (presence, attention, engagement, emotions). 404 for an unknown id or another tenant's call."""
    return await streams.call_detail(principal.tenant, call_analysis_id)


@router.get("/v1/insights/decisions/{decision_id}", tags=["insights"], responses=problem_responses(404))
async def decision(decision_id: UUID, principal: Reader, streams: StreamsDep) -> dict[str, Any]:
    """One automated decision (Art. 22 GDPR): which model and version decided, the SHA-256 of what it read,
    what it decided, and its explanation where it has one — churn contributions and features, the price
    guard-rails and reason of a price change, why a recommendation was personal or not, a sentiment's class
    probabilities and aspects. 404 for an unknown id or another tenant's decision."""
    return await streams.decision(principal.tenant, decision_id)


@router.get("/v1/insights/decisions", tags=["insights"])
async def decisions_for(ref_id: UUID, principal: Reader, streams: StreamsDep) -> list[dict[str, Any]]:
    """Every decision about one stored output, oldest first: a mention or call (its id), an account (churn
    scores), a price change. Empty for an unknown id."""
    return await streams.decisions_for(principal.tenant, ref_id)


@router.get("/v1/insights/campaigns/{campaign_id}/experiment", tags=["insights"], responses=problem_responses(404))
async def campaign_experiment(campaign_id: UUID, principal: Reader, streams: StreamsDep) -> dict[str, Any]:
    """A campaign's A/B test: its metric and state, every allocation so far (the planned split is epoch 0),
    and the analysis of the counts as they are now (posteriors, P(best), the always-valid decision, the
    sample-ratio check). 404 when the campaign was not sent with two or more variants."""
    return await streams.campaign_experiment(principal.tenant, campaign_id)


@router.put("/v1/catalog/items", tags=["recommendations"])
async def catalog_upsert(body: CatalogUpsert, principal: Writer, streams: StreamsDep) -> dict[str, int]:
    """Store content items (articles, offers, products, e-mail blocks) by your ``external_id``; each new or
    changed text is embedded for similarity. Needs ``events:write``."""
    return await streams.catalog_upsert(principal.tenant, body)


@router.post("/v1/catalog/interactions", tags=["recommendations"])
async def catalog_interactions(body: InteractionBatch, principal: Writer, streams: StreamsDep) -> dict[str, int]:
    """Who viewed, clicked or bought which item (a contact, or an anonymous session). An item not in the
    catalogue is refused by name (nothing is stored). Needs ``events:write``."""
    return await streams.catalog_interactions(principal.tenant, body)


@router.post("/v1/catalog/neighbours/refresh", tags=["recommendations"])
async def refresh_neighbours(principal: Writer, streams: StreamsDep) -> dict[str, int]:
    """Recompute the items' neighbours (who interacted with what) now; new interactions also schedule it in
    the background, at most every 5 minutes. Needs ``events:write``."""
    return await streams.refresh_neighbours(principal.tenant)


@router.post("/v1/recommendations", tags=["recommendations"], response_model=Recommendations)
async def recommendations(body: RecommendationRequest, principal: Reader, streams: StreamsDep) -> Recommendations:
    """The ``k`` items to show a contact or a session: collaborative signal, content similarity to their recent
    items and popularity, blended; filters for seen, stock, kinds and exclusions; optional Thompson
    exploration. No person, no history or no profiling consent: the most popular items (``personalised``
    false, with the reason). The showing is recorded (``record``). Needs ``insights:read``."""
    return await streams.recommend(principal.tenant, body)


Currency = Annotated[str, Query(pattern=r"^[A-Z]{3}$", description="spend and revenue in this currency")]


@router.get("/v1/insights/attribution", tags=["insights"])
async def attribution(
    principal: Reader,
    streams: StreamsDep,
    since: datetime | None = None,
    until: datetime | None = None,
    lookback_days: Annotated[int, Query(ge=1, le=365, description="touches this long before an order count")] = 30,
    currency: Currency = "RON",
    markov_order: Annotated[int, Query(ge=1, le=3)] = 1,
) -> dict[str, Any]:
    """Orders and revenue credited to channels under seven models, from the tenant's own touchpoints (e-mail
    opens and clicks, web and pixel sessions) and orders, with ROAS and CPA from the imported channel spend.
    Default period: the last 90 days. ``state: not_enough_data`` when no order had a touch before it."""
    until = until or datetime.now(UTC)
    since = since or until - timedelta(days=90)
    if since >= until:
        raise InvalidInput("since must be before until")
    return await streams.attribution(
        principal.tenant,
        since=since,
        until=until,
        lookback_days=lookback_days,
        currency=currency,
        markov_order=markov_order,
    )


@router.get("/v1/insights/budget", tags=["insights"])
async def budget_plan(
    principal: Reader,
    streams: StreamsDep,
    budget: Annotated[float, Query(gt=0, description="spend per week to split between the channels")],
    weeks: Annotated[int, Query(ge=8, le=260, description="weeks of history to fit on")] = 104,
    currency: Currency = "RON",
) -> dict[str, Any]:
    """Response curves fitted on weekly channel spend against weekly revenue, and the split of ``budget`` that
    maximises revenue, with the expected gain over the latest week's split and its interval."""
    return await streams.budget_plan(
        principal.tenant, budget=budget, weeks=weeks, currency=currency, until=datetime.now(UTC).date()
    )


@router.get("/v1/insights/accounts/{account_id}", tags=["insights"], responses=problem_responses(404))
async def account_summary(
    account_id: UUID, principal: Reader, streams: StreamsDep, days: Annotated[int, Query(ge=1, le=366)] = 90
) -> dict[str, Any]:
    """One account's insight summary: mentions and sentiment, calls, web sessions, churn risk."""
    since = datetime.now(UTC) - timedelta(days=days)
    return await streams.account_summary(principal.tenant, account_id, since=since)
