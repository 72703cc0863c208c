"""The gateway: one Serve ingress for HTTP (FastAPI) and gRPC, in front of the model deployments.

HTTP: ``/v1/sentiment``, ``/v1/embed``, ``/v1/churn/score``, ``/v1/pricing/optimize``,
``/v1/summary``, ``/v1/voice/analyze``, ``/v1/vision/analyze``, ``/healthz``, ``/readyz``,
``/metrics``. The CRM core is its own Serve application under ``/v1/crm`` on the same
proxies (:mod:`serve.crm_app`), so a model outage never takes the CRM down.
gRPC: the methods of ``vettify.analytics.v1.Analytics`` (``protos/inference.proto``)
are methods of this class; Serve's gRPC proxy calls them by name.

Errors map the same way on both protocols: invalid input → 400 /
INVALID_ARGUMENT, a full queue (``max_queued_requests``) → 503 with
``Retry-After`` / RESOURCE_EXHAUSTED, a deployment that is down → 503 /
UNAVAILABLE, a request over its time budget → 504 / DEADLINE_EXCEEDED.

Single-text sentiment and embedding requests (both protocols) join a 2 ms
caller-side micro-batch here (:class:`streams.batching.MicroBatcher`), so one
handle call carries up to 32 of them: every call into a replica costs Serve's
per-request work beside the model, and one text per call wasted most of it. At
most 256 texts wait; the next one is answered 503 / RESOURCE_EXHAUSTED at once.
"""

# No ``from __future__ import annotations`` here: Serve pickles this ingress class by value, and the
# route functions' annotations must be real objects, not names to look up in a module that is not there.
import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator
from ray import serve
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError

from models.churn.model import BUCKET_EDGES
from models.embeddings.encoder import check_texts
from models.errors import InvalidInput as ModelInvalidInput
from models.pricing.service import PricingRequest, PricingResponse
from models.registry import (
    EmbedResponse,
    SentimentResponse,
    SentimentResult,
    SummaryRequest,
    SummaryResponse,
    VisionResponse,
    VoiceResponse,
)
from protos import inference_pb2 as pb
from serve.deployments import Batched
from serve.metrics import GatewayMetrics
from streams.batching import BatcherFull, MicroBatcher

MAX_TEXTS = 256
TEXT_METHODS = {"sentiment": "classify", "embedding": "embed"}  # model (= handle) → its batched method
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_BODY_BYTES = 2 << 20  # 256 texts of ~8k characters
MAX_AUDIO_BYTES = 50 << 20  # a one-hour call as 96 kbit/s MP3 is ~43 MB
EVENTS_MAX_BODY = 8 << 20  # a batch of up to 500 event envelopes
VOICE_TIMEOUT_S = 300.0
AUDIO_TYPES = ("audio/", "application/octet-stream", "video/ogg")


class ServiceError(Exception):
    """An error with both an HTTP status and a gRPC code."""

    def __init__(self, status: int, code: grpc.StatusCode, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers = status, code, detail, headers or {}


def _cause(exc: BaseException) -> BaseException:
    """The user exception behind Ray's wrapper, if any."""
    return getattr(exc, "cause", None) or exc


def classify_error(exc: BaseException) -> ServiceError:
    cause = _cause(exc)
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(cause, ModelInvalidInput | ValueError):
        return ServiceError(400, grpc.StatusCode.INVALID_ARGUMENT, str(cause).splitlines()[0] or "invalid input")
    if isinstance(cause, BackPressureError | BatcherFull):
        return ServiceError(
            503, grpc.StatusCode.RESOURCE_EXHAUSTED, "the model is at capacity; retry shortly", {"Retry-After": "1"}
        )
    if isinstance(cause, DeploymentUnavailableError):
        return ServiceError(503, grpc.StatusCode.UNAVAILABLE, "the model deployment is unavailable")
    if isinstance(cause, TimeoutError):
        return ServiceError(504, grpc.StatusCode.DEADLINE_EXCEEDED, "the model did not answer within the time budget")
    return ServiceError(500, grpc.StatusCode.INTERNAL, f"internal error: {type(cause).__name__}")


# ---------------------------------------------------------------------------- HTTP schemas
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


class ChurnScoreRequest(BaseModel):
    features: dict[str, float] | None = Field(default=None, description="one account's features")
    rows: list[dict[str, float]] | None = Field(default=None, min_length=1, max_length=10_000)
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
    scores: list[dict[str, Any]]
    bucket_edges: tuple[float, float] = BUCKET_EDGES


class Handles(BaseModel):
    model_config = {"arbitrary_types_allowed": True}
    embedding: Any
    sentiment: Any
    churn: Any
    pricing: Any
    summary: Any
    voice: Any
    vision: Any


@serve.deployment(
    name="Gateway",
    ray_actor_options={"num_cpus": 0.15},
    max_ongoing_requests=256,
    autoscaling_config={"min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 64},
    health_check_period_s=10,
    graceful_shutdown_timeout_s=20,
)
@serve.ingress()
class Gateway:
    def __init__(
        self,
        embedding: Any,
        sentiment: Any,
        churn: Any,
        pricing: Any,
        summary: Any,
        voice: Any,
        vision: Any,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        redis_url: str | None = None,
        streams: Any = None,
    ) -> None:
        self.handles = Handles(
            embedding=embedding,
            sentiment=sentiment,
            churn=churn,
            pricing=pricing,
            summary=summary,
            voice=voice,
            vision=vision,
        )
        self.timeout_s = timeout_s
        self.max_body_bytes = max_body_bytes
        self.redis_url = redis_url
        self.streams = streams  # the Streams deployment: POST /v1/events and /v1/insights/*
        self._feature_store: Any = None
        self._settings: Any = None
        self.metrics = GatewayMetrics()
        # Single-text calls coalesce here into one handle call per batch: each call to a
        # replica costs Serve's per-request work beside the model (benchmarks/serve_models.py:
        # one text per handle call stays near 100 calls/s; coalesced, gRPC reached 117 req/s).
        self._single = {
            model: MicroBatcher(
                functools.partial(self._one_per_text, model), max_size=32, max_wait_s=0.002, max_pending=256
            )
            for model in TEXT_METHODS
        }

    def _texts_remote(self, model: str, texts: list[str]) -> Awaitable[Any]:
        """The text model's handle method (``TEXT_METHODS``) called on ``texts``."""
        return getattr(getattr(self.handles, model), TEXT_METHODS[model]).remote(texts)  # type: ignore[no-any-return]

    async def _one_per_text(self, model: str, texts: list[str]) -> list[Batched]:
        """One handle call for a micro-batch, answered per text as if each had gone alone."""
        result = await self._texts_remote(model, texts)
        return [Batched([value], result.batch_items) for value in result.value]

    def _text_call(self, model: str, texts: list[str]) -> Awaitable[Any]:
        """One text joins the micro-batch (checked first: it cannot fail the others); several go as they are."""
        if len(texts) != 1:
            return self._texts_remote(model, texts)
        check_texts(texts)
        return self._single[model].submit(texts[0])

    # ------------------------------------------------------------------ shared call path
    async def _call(
        self, model: str, call: Callable[[], Awaitable[Any]], items: int = 1, timeout_s: float | None = None
    ) -> Any:
        started = time.perf_counter()
        self.metrics.inflight.labels(model).inc()
        outcome = "ok"
        try:
            result = await asyncio.wait_for(call(), timeout=timeout_s or self.timeout_s)
            batch_items = getattr(result, "batch_items", None)
            if batch_items is not None:
                self.metrics.batch_items.labels(model).observe(batch_items)
            return getattr(result, "value", result)
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except Exception as exc:
            error = classify_error(exc)
            outcome = error.code.name.lower()
            raise error from exc
        finally:
            self.metrics.inflight.labels(model).dec()
            self.metrics.requests.labels(model, outcome).inc()
            self.metrics.latency.labels(model).observe(time.perf_counter() - started)
            self.metrics.items.labels(model).inc(items)

    async def sentiment(self, texts: list[str]) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call(
            "sentiment", lambda: self._text_call("sentiment", texts), len(texts)
        )
        return result

    async def embed(self, texts: list[str]) -> list[tuple[list[float], bool]]:
        result: list[tuple[list[float], bool]] = await self._call(
            "embedding", lambda: self._text_call("embedding", texts), len(texts)
        )
        return result

    async def churn(self, rows: list[dict[str, float]]) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call(
            "churn", lambda: self.handles.churn.score.remote(rows), len(rows)
        )
        return result

    async def account_features(self, authorization: str | None, account_id: str) -> dict[str, float]:
        """The account's features from the Redis feature store, in the caller's tenant (from its JWT)."""
        from datetime import UTC, datetime

        from crm_core.core.config import Settings
        from crm_core.core.security import Unauthorized, verify_token
        from models.churn.store import RedisFeatureStore, account_key

        if self._settings is None:  # read the environment once, not on every request
            self._settings = Settings()
        settings = self._settings
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ServiceError(401, grpc.StatusCode.UNAUTHENTICATED, "scoring by account_id needs a bearer token")
        try:
            principal = verify_token(settings, token)
        except Unauthorized as exc:
            raise ServiceError(401, grpc.StatusCode.UNAUTHENTICATED, exc.detail) from exc
        if not principal.has("crm:read"):
            raise ServiceError(403, grpc.StatusCode.PERMISSION_DENIED, "the token lacks the crm:read scope")
        if self._feature_store is None:
            from crm_core.core.redis import create_redis

            redis_settings = settings.model_copy(update={"redis_url": self.redis_url or settings.redis_url})
            self._feature_store = RedisFeatureStore(create_redis(redis_settings))
        key = account_key(principal.tenant.tid, principal.tenant.mid, account_id)
        if not await self._feature_store.orders(key):
            raise ServiceError(404, grpc.StatusCode.NOT_FOUND, f"no order history for account {account_id!r}")
        features: dict[str, float] = await self._feature_store.features(key, datetime.now(UTC).date())
        return features

    async def pricing(self, request: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("pricing", lambda: self.handles.pricing.optimize.remote(request))
        return result

    async def summary(self, document: str, max_sentences: int, diversity: float) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "summary", lambda: self.handles.summary.summarize.remote(document, max_sentences, diversity)
        )
        return result

    async def voice(self, audio: bytes) -> dict[str, Any]:
        if not audio:
            raise classify_error(ModelInvalidInput("the audio is empty"))
        if len(audio) > MAX_AUDIO_BYTES:
            raise _audio_too_large()
        result: dict[str, Any] = await self._call(
            "voice", lambda: self.handles.voice.analyze.remote(audio), timeout_s=VOICE_TIMEOUT_S
        )
        return result

    async def vision(self, media: bytes, kind: str, fps: float) -> dict[str, Any]:
        if not media:
            raise classify_error(ModelInvalidInput("the image or video is empty"))
        if not 0.1 <= fps <= 30:  # checked here too so that an image request with a bad fps is refused
            raise classify_error(ModelInvalidInput("fps must be between 0.1 and 30"))
        result: dict[str, Any] = await self._call(
            "vision", lambda: self.handles.vision.analyze.remote(media, kind, fps), timeout_s=VOICE_TIMEOUT_S
        )
        return result

    async def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        handles = {name: getattr(self.handles, name) for name in Handles.model_fields}
        if self.streams is not None:
            handles["streams"] = self.streams
        for name, handle in handles.items():
            try:
                checks[name] = await asyncio.wait_for(handle.ready.remote(), timeout=2.0)
            except Exception as exc:
                checks[name] = {"error": f"{type(_cause(exc)).__name__}: {_cause(exc)}"[:200]}
        return checks

    # ------------------------------------------------------------------ HTTP
    def __serve_build_asgi_app__(self) -> FastAPI:
        from crm_core.api.errors import install_error_handlers, problem
        from crm_core.api.limits import BodySizeLimitMiddleware
        from crm_core.core.context import CorrelationIdMiddleware

        app = FastAPI(
            title="Vettify Engine models",
            description="Sentiment, embeddings, churn, pricing and summaries over Ray Serve (gRPC: protos/).",
        )
        install_error_handlers(app)
        app.add_middleware(
            BodySizeLimitMiddleware,
            max_bytes=self.max_body_bytes,
            overrides={"/v1/voice/": MAX_AUDIO_BYTES, "/v1/vision/": MAX_AUDIO_BYTES, "/v1/events": EVENTS_MAX_BODY},
        )
        app.add_middleware(CorrelationIdMiddleware)

        async def validation_error(request: Request, exc: Exception) -> Response:
            errors = [
                {"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "message": e.get("msg", "")}
                for e in getattr(exc, "errors", list)()
            ]
            return problem(
                400,
                "Malformed request",
                "the payload does not match the schema; see 'errors'",
                code="malformed_request",
                instance=request.url.path,
                errors=errors,
            )

        async def service_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, ServiceError)
            response = problem(
                exc.status,
                exc.code.name.replace("_", " ").capitalize(),
                exc.detail,
                code=exc.code.name.lower(),
                instance=request.url.path,
            )
            response.headers.update(exc.headers)
            return response

        app.add_exception_handler(RequestValidationError, validation_error)
        app.add_exception_handler(ServiceError, service_error)
        app.include_router(self._router())
        if self.streams is not None:
            from crm_core.core.config import Settings
            from serve.streams_deployment import HandleBackend
            from streams.sources.http import events_router

            backend = HandleBackend(self.streams)
            app.include_router(events_router(lambda: backend, Settings(), max_body_bytes=EVENTS_MAX_BODY))
        return app

    def _router(self) -> APIRouter:
        router = APIRouter()

        @router.post("/v1/sentiment", response_model=SentimentResponse, tags=["models"])
        async def sentiment(body: TextsRequest) -> SentimentResponse:
            results = await self.sentiment(body.items())
            return SentimentResponse(results=[SentimentResult(**r) for r in results])

        @router.post("/v1/embed", response_model=EmbedResponse, tags=["models"])
        async def embed(body: TextsRequest) -> EmbedResponse:
            rows = await self.embed(body.items())
            return EmbedResponse(
                vectors=[vector for vector, _ in rows],
                dimensions=len(rows[0][0]) if rows else 0,
                truncated=[truncated for _, truncated in rows],
            )

        @router.post("/v1/churn/score", response_model=ChurnScoreResponse, tags=["models"])
        async def churn(body: ChurnScoreRequest, request: Request) -> ChurnScoreResponse:
            if body.account_id is not None:
                rows = [await self.account_features(request.headers.get("authorization"), body.account_id)]
            else:
                rows = [body.features] if body.features is not None else list(body.rows or [])
            return ChurnScoreResponse(scores=await self.churn(rows))

        @router.post("/v1/pricing/optimize", response_model=PricingResponse, tags=["models"])
        async def pricing(body: PricingRequest) -> PricingResponse:
            return PricingResponse.model_validate(await self.pricing(body.model_dump()))

        @router.post("/v1/summary", response_model=SummaryResponse, tags=["models"])
        async def summary(body: SummaryRequest) -> SummaryResponse:
            return SummaryResponse.model_validate(await self.summary(body.document, body.max_sentences, body.diversity))

        @router.post(
            "/v1/voice/analyze",
            response_model=VoiceResponse,
            tags=["models"],
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {
                        t: {"schema": {"type": "string", "format": "binary"}}
                        for t in ("audio/wav", "audio/flac", "audio/ogg", "audio/mpeg", "application/octet-stream")
                    },
                }
            },
        )
        async def voice(request: Request) -> VoiceResponse:
            """The recording as the request body (``curl --data-binary @call.wav -H 'Content-Type: audio/wav'``)."""
            content_type = request.headers.get("content-type", "")
            if not content_type.startswith(AUDIO_TYPES):
                raise classify_error(
                    ModelInvalidInput(f"send the audio as the body with an audio/* content type, not {content_type!r}")
                )
            return VoiceResponse.model_validate(await self.voice(await request.body()))

        @router.post(
            "/v1/vision/analyze",
            response_model=VisionResponse,
            tags=["models"],
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {
                        t: {"schema": {"type": "string", "format": "binary"}}
                        for t in ("image/jpeg", "image/png", "image/webp", "video/mp4", "video/webm", "video/x-msvideo")
                    },
                }
            },
        )
        async def vision(request: Request, fps: float = 2.0) -> VisionResponse:
            """An image or a short video as the body; videos are sampled at ``fps`` frames per second."""
            content_type = request.headers.get("content-type", "")
            if not content_type.startswith(("image/", "video/")):
                raise classify_error(ModelInvalidInput(f"send an image/* or video/* body, not {content_type!r}"))
            kind = "image" if content_type.startswith("image/") else "video"
            return VisionResponse.model_validate(await self.vision(await request.body(), kind, fps))

        @router.get("/healthz", tags=["operations"])
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @router.get("/readyz", tags=["operations"])
        async def readyz() -> JSONResponse:
            checks = await self.readiness()
            ready = all("error" not in c for c in checks.values())
            return JSONResponse({"ready": ready, "models": checks}, status_code=200 if ready else 503)

        @router.get("/metrics", tags=["operations"])
        async def metrics() -> Response:
            body, content_type = self.metrics.render()
            return Response(body, media_type=content_type)

        return router

    # ------------------------------------------------------------------ gRPC (vettify.analytics.v1.Analytics)
    async def _grpc(self, context: Any, empty: Any, work: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await work()
        except ServiceError as error:
            if context is not None:
                context.set_code(error.code)
                context.set_details(error.detail)
            return empty

    async def Sentiment(self, request: pb.SentimentRequest, grpc_context: Any = None) -> pb.SentimentResponse:
        async def work() -> pb.SentimentResponse:
            texts = _texts(request.texts)
            results = await self.sentiment(texts)
            return pb.SentimentResponse(results=[_sentiment_pb(r) for r in results])

        return await self._grpc(grpc_context, pb.SentimentResponse(), work)  # type: ignore[no-any-return]

    async def Embed(self, request: pb.EmbedRequest, grpc_context: Any = None) -> pb.EmbedResponse:
        async def work() -> pb.EmbedResponse:
            rows = await self.embed(_texts(request.texts))
            return pb.EmbedResponse(
                vectors=[pb.Vector(values=v, truncated=t) for v, t in rows], dimensions=len(rows[0][0])
            )

        return await self._grpc(grpc_context, pb.EmbedResponse(), work)  # type: ignore[no-any-return]

    async def ScoreChurn(self, request: pb.ChurnRequest, grpc_context: Any = None) -> pb.ChurnResponse:
        async def work() -> pb.ChurnResponse:
            score = (await self.churn([dict(request.features)]))[0]
            return pb.ChurnResponse(
                probability=score["probability"],
                bucket=score["bucket"],
                top_contributions=[pb.Contribution(**c) for c in score["top_contributions"]],
            )

        return await self._grpc(grpc_context, pb.ChurnResponse(), work)  # type: ignore[no-any-return]

    async def OptimizePrice(self, request: pb.PricingRequest, grpc_context: Any = None) -> pb.PricingResponse:
        async def work() -> pb.PricingResponse:
            fields = {f.name: v for f, v in request.ListFields()}
            fields.setdefault("objective", "profit")
            fields["objective"] = fields["objective"] or "profit"
            try:
                body = PricingRequest.model_validate(fields).model_dump()
            except ValueError as exc:
                raise classify_error(ModelInvalidInput(_first_line(exc))) from exc
            r = await self.pricing(body)
            low, high = r["quantity_interval"]
            return pb.PricingResponse(
                price=r["price"],
                expected_quantity=r["expected_quantity"],
                expected_profit=r["expected_profit"],
                expected_revenue=r["expected_revenue"],
                quantity_low=low,
                quantity_high=high,
                bound_hit=r["bound_hit"] or "",
                elasticity=r["elasticity"],
                elasticity_source=r["elasticity_source"],
                reason=r["reason"],
            )

        return await self._grpc(grpc_context, pb.PricingResponse(), work)  # type: ignore[no-any-return]

    async def Summarize(self, request: pb.SummaryRequest, grpc_context: Any = None) -> pb.SummaryResponse:
        async def work() -> pb.SummaryResponse:
            diversity = request.diversity if request.HasField("diversity") else 0.3
            try:
                body = SummaryRequest(
                    document=request.document, max_sentences=request.max_sentences or 3, diversity=diversity
                )
            except ValueError as exc:
                raise classify_error(ModelInvalidInput(_first_line(exc))) from exc
            r = await self.summary(body.document, body.max_sentences, body.diversity)
            return pb.SummaryResponse(
                summary=r["summary"],
                sentences=[s["text"] for s in r["sentences"]],
                total_sentences=r["total_sentences"],
                method=r["method"],
            )

        return await self._grpc(grpc_context, pb.SummaryResponse(), work)  # type: ignore[no-any-return]

    async def AnalyzeTranscript(self, request_stream: Any, grpc_context: Any = None) -> pb.TranscriptAnalysis:
        """Client streaming: sentiment per chunk (one batched call) plus a summary of the whole call."""

        async def work() -> pb.TranscriptAnalysis:
            chunks: list[pb.TranscriptChunk] = [chunk async for chunk in request_stream]
            texts = _texts([c.text for c in chunks])
            results = await self.sentiment(texts)
            mean = sum(r["score"] for r in results) / len(results)
            document = "\n".join(f"{c.speaker}: {c.text}" if c.speaker else c.text for c in chunks)
            summary = await self.summary(document, 3, 0.3)
            overall = "positive" if mean > 0.2 else "negative" if mean < -0.2 else "neutral"
            return pb.TranscriptAnalysis(
                segments=[_sentiment_pb(r) for r in results],
                mean_score=mean,
                overall_label=overall,
                summary=summary["summary"],
                chunks=len(chunks),
            )

        return await self._grpc(grpc_context, pb.TranscriptAnalysis(), work)  # type: ignore[no-any-return]

    async def AnalyzeVoice(self, request_stream: Any, grpc_context: Any = None) -> pb.VoiceAnalysisResponse:
        """Client streaming: the audio file in chunks, analysed once the stream ends."""

        async def work() -> pb.VoiceAnalysisResponse:
            audio = bytearray()
            async for chunk in request_stream:
                audio.extend(chunk.data)
                if len(audio) > MAX_AUDIO_BYTES:  # stop buffering a stream as soon as it is over the limit
                    raise _audio_too_large()
            r = await self.voice(bytes(audio))
            segments = [
                pb.VoiceSegment(
                    start=s["start"],
                    end=s["end"],
                    text=s["text"],
                    label=(s.get("sentiment") or {}).get("label", ""),
                    score=(s.get("sentiment") or {}).get("score", 0.0),
                )
                for s in r["segments"]
            ]
            return pb.VoiceAnalysisResponse(
                transcript=r["transcript"],
                duration_s=r["duration_s"],
                speaking_ratio=r["speaking_ratio"],
                silence_ratio=r["silence_ratio"],
                words_per_minute=r["words_per_minute"],
                keywords=r["keywords"],
                segments=segments,
                real_time_factor=r["real_time_factor"],
                overall_label=(r.get("overall_sentiment") or {}).get("label", ""),
            )

        return await self._grpc(grpc_context, pb.VoiceAnalysisResponse(), work)  # type: ignore[no-any-return]

    async def AnalyzeVision(self, request: pb.VisionRequest, grpc_context: Any = None) -> pb.VisionResponse:
        async def work() -> pb.VisionResponse:
            fps = request.fps if request.HasField("fps") else 2.0
            r = await self.vision(request.media, "video" if request.is_video else "image", fps)
            summary = r["summary"]
            timeline = []
            for frame in r["timeline"]:
                best = max(frame["faces"], key=lambda f: f["engagement"], default=None)
                timeline.append(
                    pb.VisionFrame(
                        timestamp_s=frame["timestamp_s"],
                        face_present=frame["face_present"],
                        attention=frame["attention"],
                        engagement=frame["engagement"],
                        emotion=best["emotion"] if best else "",
                    )
                )
            return pb.VisionResponse(
                frames=summary["frames"],
                duration_s=summary["duration_s"],
                face_presence_ratio=summary["face_presence_ratio"],
                mean_attention=summary["mean_attention"],
                mean_engagement=summary["mean_engagement"],
                emotion_mix=summary["emotion_mix"],
                dominant_emotion=summary["dominant_emotion"] or "",
                ms_per_frame=summary["ms_per_frame"],
                timeline=timeline,
            )

        return await self._grpc(grpc_context, pb.VisionResponse(), work)  # type: ignore[no-any-return]


def _audio_too_large() -> ServiceError:
    return ServiceError(413, grpc.StatusCode.RESOURCE_EXHAUSTED, f"audio over {MAX_AUDIO_BYTES >> 20} MB")


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _texts(texts: Any) -> list[str]:
    items = list(texts)
    if not items:
        raise classify_error(ModelInvalidInput("no texts given"))
    if len(items) > MAX_TEXTS:
        raise classify_error(ModelInvalidInput(f"{len(items)} texts; at most {MAX_TEXTS} per call"))
    return items


def _sentiment_pb(result: dict[str, Any]) -> pb.SentimentResult:
    return pb.SentimentResult(
        label=result["label"],
        score=result["score"],
        probabilities=result["probabilities"],
        truncated=result.get("truncated", False),
    )
