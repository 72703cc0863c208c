"""HTTP routes of the model gateway: one module-level router over :class:`~serve.model_calls.ModelCalls`.

The gateway keeps its calls in ``app.state.models`` (the vLLM routers' pattern: the handler takes what it
needs from the app). Errors follow the engine's one contract (:mod:`infra.http.problems`).
"""

# No ``from __future__ import annotations``: FastAPI resolves the route annotations at definition time.
import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, ORJSONResponse
from pydantic import BaseModel, Field, model_validator

from infra.errors import InvalidInput, UnsupportedMediaType
from infra.http.problems import problem_responses
from infra.security import authenticate
from models.churn.features import features_help
from models.churn.model import BUCKET_EDGES, ChurnScore
from models.marketing.ab import ExperimentAnalysis, ExperimentRequest
from models.marketing.attribution import AttributionRequest, AttributionResponse
from models.marketing.budget import BudgetPlan, BudgetRequest, Pace, PaceRequest
from models.pricing.live import LivePricingRequest, LiveProposal
from models.pricing.service import PricingRequest, PricingResponse
from models.registry import (
    EmbedResponse,
    SentimentResponse,
    SummaryRequest,
    SummaryResponse,
    VisionRequest,
    VisionResponse,
    VoiceResponse,
)
from models.voice.analyzer import AnalyzeOptions
from serve.errors import as_error, validated
from serve.live_voice import live_updates
from serve.model_calls import MAX_TEXTS, ModelCalls

AUDIO_TYPES = ("audio/", "application/octet-stream", "video/ogg")
AUDIO_BODY = ("audio/wav", "audio/flac", "audio/ogg", "audio/mpeg", "application/octet-stream")
MEDIA_BODY = ("image/jpeg", "image/png", "image/webp", "video/mp4", "video/webm", "video/x-msvideo")

FPS_HELP = f"frames per second sampled from a video (default {VisionRequest.model_fields['fps'].default})"

router = APIRouter(tags=["models"], responses=problem_responses(503, 504))
operations = APIRouter(tags=["operations"])
marketing = APIRouter(tags=["marketing"], responses=problem_responses(503, 504))
MAX_ATTRIBUTION_BODY_BYTES = 8 << 20  # 100k journeys of a few touches; bigger sets belong to a batch job


async def models_of(request: Request) -> ModelCalls:
    # async: FastAPI runs a plain ``def`` dependency in a worker thread, a thread hop on every request
    models: ModelCalls = request.app.state.models
    return models


Models = Annotated[ModelCalls, Depends(models_of)]


class TextsRequest(BaseModel):
    """One text (``text``) or a batch (``texts``)."""

    text: str | None = Field(default=None, min_length=1, max_length=100_000)
    texts: list[str] | None = Field(default=None, min_length=1, max_length=MAX_TEXTS)

    @model_validator(mode="after")
    def _one_of(self) -> "TextsRequest":
        if (self.text is None) == (self.texts is None):
            raise ValueError("give exactly one of 'text' or 'texts'")
        return self

    def items(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


CHURN_FEATURES_HELP = (
    "One account's features by name; an optional one may be null or left out (unknown). Values out of "
    "range, unknown names and missing required features are refused (422 naming each).\n\n" + features_help()
)


class ChurnScoreRequest(BaseModel):
    features: dict[str, float | None] | None = Field(default=None, description=CHURN_FEATURES_HELP)
    rows: list[dict[str, float | None]] | None = Field(
        default=None, min_length=1, max_length=10_000, description="several accounts' features, as `features`"
    )
    account_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="score from the online feature store; needs a bearer token (crm:read) naming the tenant",
    )

    @model_validator(mode="after")
    def _one_of(self) -> "ChurnScoreRequest":
        if sum(x is not None for x in (self.features, self.rows, self.account_id)) != 1:
            raise ValueError("give exactly one of 'features', 'rows' or 'account_id'")
        return self


class ChurnScoreResponse(BaseModel):
    scores: list[ChurnScore]
    model_version: str
    bucket_edges: tuple[float, float] = BUCKET_EDGES


def _binary_body(*content_types: str) -> dict[str, Any]:
    schema = {"schema": {"type": "string", "format": "binary"}}
    return {"requestBody": {"required": True, "content": dict.fromkeys(content_types, schema)}}


# The two hot routes answer with orjson straight from the models' dataclasses: the response models document
# the shape (and the tests check it), but a per-request pydantic round trip cost more than the JSON itself.
@router.post("/v1/sentiment", response_model=SentimentResponse, response_class=ORJSONResponse)
async def sentiment(
    body: TextsRequest,
    models: Models,
    aspects: Annotated[
        bool, Query(description="also say which sentences are about price, support, delivery, … (slower)")
    ] = False,
) -> ORJSONResponse:
    texts = body.items()
    if not aspects:
        scored = await models.sentiment(texts)
        return ORJSONResponse({"results": scored.value, "model_version": scored.model_version})
    scored, found = await asyncio.gather(models.sentiment(texts), models.aspects(texts))
    results = [{**asdict(s), "aspects": a} for s, a in zip(scored.value, found.value, strict=True)]
    return ORJSONResponse({"results": results, "model_version": scored.model_version})


@router.post("/v1/embed", response_model=EmbedResponse, response_class=ORJSONResponse)
async def embed(body: TextsRequest, models: Models) -> ORJSONResponse:
    embedded = await models.embed(body.items())
    rows = embedded.value
    return ORJSONResponse(
        {
            "model_version": embedded.model_version,
            "vectors": [row.vector for row in rows],
            "dimensions": len(rows[0].vector) if rows else 0,
            "truncated": [row.truncated for row in rows],
            "chunks": [row.chunks for row in rows],
        }
    )


@router.post("/v1/churn/score", response_model=ChurnScoreResponse, responses=problem_responses(404))
async def churn(body: ChurnScoreRequest, request: Request, models: Models) -> ChurnScoreResponse:
    if body.account_id is not None:  # the tenant's feature store: a token with crm:read names the tenant
        reader = authenticate(request.app.state.settings, request.headers.get("authorization"), "crm:read")
        rows: list[dict[str, float | None]] = [dict(await models.account_features(reader, body.account_id))]
    else:
        rows = [body.features] if body.features is not None else list(body.rows or [])
    scored = await models.churn(rows)
    return ChurnScoreResponse(scores=scored.value, model_version=scored.model_version)


@router.post("/v1/pricing/optimize", response_model=PricingResponse)
async def pricing(body: PricingRequest, models: Models) -> PricingResponse:
    return await models.pricing(body)


@router.post("/v1/pricing/propose", response_model=LiveProposal)
async def pricing_live(body: LivePricingRequest, models: Models) -> LiveProposal:
    """Live repricing: a product's next price within its guard rails, from its sales (the price book's repricer
    runs the same model on the tenant's products: ``/v1/crm/price-book``)."""
    return await models.pricing_live(body)


@marketing.post("/v1/ab/analyze", response_model=ExperimentAnalysis)
async def ab_analyze(body: ExperimentRequest, models: Models) -> ExperimentAnalysis:
    """An experiment's counts as they stand: posteriors, P(best), expected loss, an always-valid decision
    (safe to call at every peek), the sample-ratio check and the Thompson allocation of the next sends.
    Too little data is ``decision: not_enough_data`` with what is ``missing``, never a confident number."""
    return await models.experiment(body)


@marketing.post("/v1/attribution", response_model=AttributionResponse)
async def attribution(body: AttributionRequest, models: Models) -> AttributionResponse:
    """Conversions and revenue per channel under first/last touch, linear, time-decay, position-based,
    Markov removal effect and Shapley; with ``spend``, ROAS and CPA per channel and model."""
    return await models.attribution(body)


@marketing.post("/v1/budget/plan", response_model=BudgetPlan)
async def budget_plan(body: BudgetRequest, models: Models) -> BudgetPlan:
    """Response curves (adstock + saturation) fitted on the spend/outcome history and the split of
    ``budget`` that maximises the outcome within each channel's bounds, with the gain's interval."""
    return await models.budget(body)


@marketing.post("/v1/budget/pace", response_model=Pace)
async def budget_pace(body: PaceRequest, models: Models) -> Pace:
    """How much of a day's budget to spend in the coming hour, following the day's traffic profile."""
    return await models.pace(body)


@router.post("/v1/summary", response_model=SummaryResponse)
async def summary(body: SummaryRequest, models: Models) -> SummaryResponse:
    return await models.summary(body)


@router.post(
    "/v1/voice/analyze",
    response_model=VoiceResponse,
    openapi_extra=_binary_body(*AUDIO_BODY),
    responses=problem_responses(415),
)
async def voice(
    request: Request,
    models: Models,
    profile: Annotated[
        Literal["fast", "accurate"] | None,
        Query(description="Whisper profile: accurate (base) or fast (tiny.en); absent: VETTIFY_VOICE_PROFILE"),
    ] = None,
    language: Annotated[
        str, Query(max_length=8, description="spoken language code (en, ro, de, …) or auto; fast: English only")
    ] = "en",
    speakers: Annotated[int | None, Query(ge=1, le=10, description="exact number of speakers, when known")] = None,
    rep: Annotated[
        str | None,
        Query(max_length=10, description="the rep's side: left/right channel of a stereo call, or S1 (first to speak)"),
    ] = None,
) -> VoiceResponse:
    """The recording as the request body (``curl --data-binary @call.wav -H 'Content-Type: audio/wav'``).

    Speech is found by voice activity detection first: silence and noise give no words (``no_speech``), and
    talk/silence ratios come from it. A stereo recording with a different side on each channel gives one
    speaker per channel; a mono one is split into speakers by their voices.
    """
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(AUDIO_TYPES):
        raise UnsupportedMediaType(f"send the audio as the body with an audio/* content type, not {content_type!r}")
    options = AnalyzeOptions(profile=profile, language=language, speakers=speakers, rep=rep)
    return VoiceResponse.model_validate((await models.voice(await request.body(), options)).as_dict())


def _is_end(text: str) -> bool:
    try:
        control = orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return isinstance(control, dict) and control.get("type") == "end"


@router.websocket("/v1/voice/live")
async def voice_live(
    websocket: WebSocket,
    profile: Annotated[Literal["fast", "accurate"] | None, Query()] = None,
    language: Annotated[str, Query(max_length=8)] = "en",
    encoding: Annotated[str, Query(max_length=8)] = "pcm16",
) -> None:
    """A live call: binary frames of audio in (``encoding``: 16 kHz 16-bit PCM, or one Opus packet per frame),
    a text frame ``{"type": "end"}`` when the call ends; JSON text frames out, one per update (``partial``,
    ``final`` with sentiment, ``summary``, ``notice``, and last ``analysis``), then a normal close. A bad
    option or bad audio: one ``{"type": "error", "status", "code", "detail"}`` frame, then close 1008."""
    await websocket.accept()
    models: ModelCalls = websocket.app.state.models

    async def audio() -> AsyncIterator[bytes]:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))  # gone mid-call: stop, analyse nothing
            if message.get("bytes") is not None:
                yield message["bytes"]
            elif message.get("text") is not None:
                if _is_end(message["text"]):
                    return
                raise InvalidInput('text frames carry control messages only: {"type": "end"}')

    try:
        options = AnalyzeOptions(profile=profile, language=language)
        max_seconds = models.settings.voice_max_audio_s
        updates = live_updates(models, audio(), options, encoding, max_seconds)
        try:
            async for update in updates:
                await websocket.send_text(orjson.dumps(update.as_dict(), option=orjson.OPT_SERIALIZE_NUMPY).decode())
        finally:
            await updates.aclose()  # now, not at garbage collection: the reader stops with it
    except WebSocketDisconnect:
        return  # the client went away: run_live's reader is cancelled with the generator
    except Exception as exc:
        error = as_error(exc)
        with contextlib.suppress(Exception):
            await websocket.send_text(
                orjson.dumps(
                    {"type": "error", "status": error.status, "code": error.code, "detail": error.detail}
                ).decode()
            )
            await websocket.close(code=1008 if error.status < 500 else 1011)
        return
    with contextlib.suppress(Exception):
        await websocket.close(code=1000)


@router.post(
    "/v1/vision/analyze",
    response_model=VisionResponse,
    openapi_extra=_binary_body(*MEDIA_BODY),
    responses=problem_responses(415),
)
async def vision(
    request: Request,
    models: Models,
    fps: Annotated[float | None, Query(description=FPS_HELP)] = None,
) -> VisionResponse:
    """An image or a short video as the body; videos are sampled at ``fps`` frames per second."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("image/", "video/")):
        raise UnsupportedMediaType(f"send an image/* or video/* body, not {content_type!r}")
    kind = "image" if content_type.startswith("image/") else "video"
    media = validated(VisionRequest, media=await request.body(), **({} if fps is None else {"fps": fps}))
    return VisionResponse.model_validate((await models.vision(media, kind)).as_dict())


@operations.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@operations.get("/metrics")
async def metrics(models: Models) -> Response:
    body, content_type = models.metrics.render()
    return Response(body, media_type=content_type)


@operations.get("/readyz")
async def readyz(models: Models) -> JSONResponse:
    """Every deployment's readiness: 503 naming the ones that are down."""
    checks = await models.readiness()
    ready = all("error" not in c for c in checks.values())
    return JSONResponse({"ready": ready, "models": checks}, status_code=200 if ready else 503)
