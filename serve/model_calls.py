"""The gateway's one call path to the model deployments, shared by its HTTP and gRPC faces.

Each method calls one deployment through its typed handle under the request's time budget, records
Prometheus metrics, and turns any failure into the engine's error (:func:`serve.errors.as_error`), so
both protocols answer a fault the same way.

Sentiment and embedding run in the gateway's own process by default (:mod:`serve.hosted_text`): no hop,
no timer, and a request that would wait past the queue budget is refused at once. Without hosted models
(``AppArgs.text_models_in_gateway=False``) single texts join a 2 ms caller-side micro-batch here
(:class:`infra.batching.MicroBatcher`), so one handle call carries up to 32 of them: every call into a
replica costs Serve's per-request work beside the model, and one text per call wasted most of it. At
most 256 texts wait; the next one is answered 503 ``at_capacity`` at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from infra.batching import MicroBatcher
from infra.errors import InvalidInput, NotFound, PayloadTooLarge, cause_of
from infra.redis import create_redis
from infra.security import Principal
from infra.settings import Settings
from models.churn.model import ChurnScore
from models.embeddings.encoder import Embedding, check_texts
from models.marketing.ab import ExperimentAnalysis, ExperimentRequest
from models.marketing.attribution import AttributionRequest, AttributionResponse
from models.marketing.budget import BudgetPlan, BudgetRequest, Pace, PaceRequest
from models.pricing.live import LivePricingRequest, LiveProposal
from models.pricing.service import PricingRequest, PricingResponse
from models.registry import SummaryRequest, SummaryResponse, VisionRequest
from models.sentiment.classifier import Sentiment
from models.text.aspects import AspectMention
from models.vision.analyzer import VisionAnalysis
from models.voice.analyzer import AnalyzeOptions, VoiceAnalysis
from models.voice.live import LiveStep
from serve.deployments.base import Batched, Handle
from serve.errors import as_error
from serve.metrics import GatewayMetrics

if TYPE_CHECKING:
    from serve.hosted_text import HostedText

MAX_TEXTS = 256
DEFAULT_TIMEOUT_S = 30.0
MAX_AUDIO_BYTES = 50 << 20  # a one-hour call as 96 kbit/s MP3 is ~43 MB
MEDIA_TIMEOUT_S = 300.0
MARKETING_TIMEOUT_S = 120.0  # a budget fit with its bootstrap, an attribution over 100k journeys

T = TypeVar("T")


@dataclass(frozen=True)
class ModelHandles:
    """The model deployments the gateway calls, as Serve binds them."""

    embedding: Handle
    sentiment: Handle
    churn: Handle
    pricing: Handle
    summary: Handle
    voice: Handle
    vision: Handle
    marketing: Handle | None = None  # absent in applications built before it existed

    def by_name(self) -> dict[str, Handle]:
        named = {
            "embedding": self.embedding,
            "sentiment": self.sentiment,
            "churn": self.churn,
            "pricing": self.pricing,
            "summary": self.summary,
            "voice": self.voice,
            "vision": self.vision,
        }
        if self.marketing is not None:
            named["marketing"] = self.marketing
        return named


def check_batch(texts: list[str]) -> list[str]:
    """A request's texts: at least one, at most :data:`MAX_TEXTS` (the models check each text)."""
    if not texts:
        raise InvalidInput("no texts given")
    if len(texts) > MAX_TEXTS:
        raise InvalidInput(f"{len(texts)} texts; at most {MAX_TEXTS} per call")
    return texts


def check_audio(audio: bytes) -> bytes:
    if not audio:
        raise InvalidInput("the audio is empty")
    if len(audio) > MAX_AUDIO_BYTES:
        raise PayloadTooLarge(f"audio over {MAX_AUDIO_BYTES >> 20} MB")
    return audio


TextCall = Callable[[list[str]], Awaitable[Batched[T]]]
"""A text model's call: texts in, one result per text (with the pass it ran in)."""


def _coalescing(remote: TextCall[T]) -> MicroBatcher[str, Batched[T]]:
    """A micro-batch of single texts sent as one handle call, answered per text as if each had gone alone."""

    async def per_text(texts: list[str]) -> list[Batched[T]]:
        result = await remote(texts)
        return [Batched([value], result.batch_items, result.model_version) for value in result.value]

    return MicroBatcher(per_text, max_size=32, max_wait_s=0.002, max_pending=256, trace_name="coalesced text call")


def _through_deployment(remote: TextCall[T]) -> TextCall[T]:
    """A text model's deployment as one call: one text joins the caller-side micro-batch, several go as
    they are."""
    single = _coalescing(remote)

    async def call(texts: list[str]) -> Batched[T]:
        if len(texts) == 1:
            check_texts(texts)  # before joining the micro-batch: a bad text must not fail the others
            return await single.submit(texts[0])
        return await remote(texts)

    return call


class ModelCalls:
    """Typed calls to the model deployments with time budgets, metrics and the engine's errors."""

    def __init__(
        self,
        handles: ModelHandles,
        settings: Settings,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        streams: Handle | None = None,
        hosted: HostedText | None = None,
    ) -> None:
        self.handles = handles
        self.hosted = hosted  # the text models in this process; None: through their deployments
        self.streams = streams  # for readiness only: the events and insight routes call it (streams.api)
        self.settings = settings
        self.timeout_s = timeout_s
        self.metrics = GatewayMetrics()
        self._feature_store: Any = None
        # The text models: in this process (they check, batch and admit), or through their deployments.
        self._classify: TextCall[Sentiment] = (
            hosted.sentiment.classify if hosted else _through_deployment(handles.sentiment.classify.remote)
        )
        self._embed: TextCall[Embedding] = (
            hosted.embedding.embed if hosted else _through_deployment(handles.embedding.embed.remote)
        )
        self._aspects: TextCall[list[AspectMention]] = (
            hosted.sentiment.aspects if hosted else _through_deployment(handles.sentiment.aspects.remote)
        )

    async def _call(
        self, model: str, call: Callable[[], Awaitable[T]], items: int = 1, timeout_s: float | None = None
    ) -> T:
        started = time.perf_counter()
        self.metrics.inflight.labels(model).inc()
        outcome = "ok"
        try:
            return await asyncio.wait_for(call(), timeout=timeout_s or self.timeout_s)
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except Exception as exc:
            error = as_error(exc)
            outcome = error.grpc_code.lower()
            raise error from exc
        finally:
            self.metrics.inflight.labels(model).dec()
            self.metrics.requests.labels(model, outcome).inc()
            self.metrics.latency.labels(model).observe(time.perf_counter() - started)
            self.metrics.items.labels(model).inc(items)

    async def _batched(self, model: str, call: Callable[[], Awaitable[Batched[T]]], items: int) -> Batched[T]:
        result = await self._call(model, call, items)
        self.metrics.batch_items.labels(model).observe(result.batch_items)
        return result

    async def sentiment(self, texts: list[str]) -> Batched[Sentiment]:
        check_batch(texts)
        return await self._batched("sentiment", lambda: self._classify(texts), len(texts))

    async def aspects(self, texts: list[str]) -> Batched[list[AspectMention]]:
        """Per text, its sentences about an aspect (price, support, delivery, …) with their sentiment."""
        check_batch(texts)
        return await self._call("aspects", lambda: self._aspects(texts), len(texts))

    async def embed(self, texts: list[str]) -> Batched[Embedding]:
        check_batch(texts)
        return await self._batched("embedding", lambda: self._embed(texts), len(texts))

    async def churn(self, rows: list[dict[str, float | None]]) -> Batched[ChurnScore]:
        return await self._batched("churn", lambda: self.handles.churn.score.remote(rows), len(rows))

    async def account_features(self, principal: Principal, account_id: str) -> dict[str, float]:
        """The account's features from the Redis feature store, in the caller's tenant."""
        from models.churn.store import RedisFeatureStore, account_key

        if self._feature_store is None:
            self._feature_store = RedisFeatureStore(create_redis(self.settings))
        key = account_key(principal.tenant.tid, principal.tenant.mid, account_id)
        if not await self._feature_store.orders(key):
            raise NotFound(f"no order history for account {account_id!r}")
        features: dict[str, float] = await self._feature_store.features(key, datetime.now(UTC).date())
        return features

    async def pricing(self, request: PricingRequest) -> PricingResponse:
        return await self._call("pricing", lambda: self.handles.pricing.optimize.remote(request))

    async def pricing_live(self, request: LivePricingRequest) -> LiveProposal:
        return await self._call("pricing", lambda: self.handles.pricing.propose.remote(request))

    def _marketing(self) -> Handle:
        if self.handles.marketing is None:
            raise NotFound("this application was built without the marketing deployment")
        return self.handles.marketing

    async def experiment(self, request: ExperimentRequest) -> ExperimentAnalysis:
        return await self._call("ab", lambda: self._marketing().analyze_experiment.remote(request), len(request.arms))

    async def attribution(self, request: AttributionRequest) -> AttributionResponse:
        return await self._call(
            "attribution",
            lambda: self._marketing().attribute.remote(request),
            len(request.journeys),
            timeout_s=MARKETING_TIMEOUT_S,
        )

    async def budget(self, request: BudgetRequest) -> BudgetPlan:
        return await self._call(
            "budget", lambda: self._marketing().plan_budget.remote(request), timeout_s=MARKETING_TIMEOUT_S
        )

    async def pace(self, request: PaceRequest) -> Pace:
        return await self._call("pacing", lambda: self._marketing().pace.remote(request))

    async def summary(self, request: SummaryRequest) -> SummaryResponse:
        return await self._call("summary", lambda: self.handles.summary.summarize.remote(request))

    async def voice(
        self, audio: bytes, options: AnalyzeOptions | None = None, *, limit_bytes: bool = True
    ) -> VoiceAnalysis:
        """An uploaded recording (at most MAX_AUDIO_BYTES), or a live call's whole audio (``limit_bytes=False``:
        bounded by duration as it arrived, and it never crosses a client connection again)."""
        if limit_bytes:
            check_audio(audio)
        return await self._call(
            "voice", lambda: self.handles.voice.analyze.remote(audio, options), timeout_s=MEDIA_TIMEOUT_S
        )

    async def voice_live_step(self, samples: NDArray[np.float32], options: AnalyzeOptions, flush: bool) -> LiveStep:
        return await self._call(
            "voice_live",
            lambda: self.handles.voice.live_step.remote(samples, options, flush),
            timeout_s=MEDIA_TIMEOUT_S,
        )

    async def vision(self, request: VisionRequest, kind: str) -> VisionAnalysis:
        """An image, or a video sampled at ``request.fps`` (validated on the request, for images too)."""
        return await self._call(
            "vision",
            lambda: self.handles.vision.analyze.remote(request.media, kind, request.fps),
            timeout_s=MEDIA_TIMEOUT_S,
        )

    async def readiness(self) -> dict[str, Any]:
        """Each deployment's ``ready()`` (model name and version), or the error that stands in for it."""
        handles = self.handles.by_name()
        if self.streams is not None:
            handles["streams"] = self.streams
        checks: dict[str, Any] = {}
        if self.hosted is not None:
            checks["gateway"] = await self.hosted.ready()  # the text models HTTP and gRPC calls reach
        for name, handle in handles.items():
            try:
                checks[name] = await asyncio.wait_for(handle.ready.remote(), timeout=2.0)
            except Exception as exc:
                cause = cause_of(exc)
                checks[name] = {"error": f"{type(cause).__name__}: {cause}"[:200]}
        return checks
