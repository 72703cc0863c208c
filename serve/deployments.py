"""Ray Serve deployments, one per model, each loading through the model registry.

Batching: the text models (sentiment, embedding) batch at the model's pace
(continuous batching, :class:`streams.batching.MicroBatcher` with one pass in
flight): a call that finds the model idle runs at once; calls arriving while a
pass computes wait, and the next pass takes all of them (up to
``max_batch_size`` texts). ``@serve.batch`` forms a batch on its timer whether
or not the model is free, so an idle model still waited the full timeout (10 ms
on a 5 ms bfloat16 pass), and a shorter timeout split load into many small
batches that queued behind each other (``benchmarks/results/``
``serve_models_batch_wait_2ms.json``). Churn keeps ``@serve.batch``: its rows
are cheap and arrive in bulk. Passes run in the replica's own inference thread
(:mod:`models.runtime`: it carries the configured PyTorch thread count, which
Ray's ``OMP_NUM_THREADS=1`` would otherwise cut to one) so the event loop keeps
accepting calls while PyTorch/XGBoost compute (both release the GIL). Every
result carries the size of the batch it ran in, so the gateway can export
batch-size histograms.

Scaling knobs (replicas, CPUs, queue limits, batch sizes) are defaults here and
are overridden per deployment from ``cluster/serve_config.yaml`` or
:func:`serve.application.build`; the code never assumes one replica.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ray import serve

from models.errors import InvalidInput
from models.registry import ModelOptions, registry
from models.runtime import inference_executor, run_in
from streams.batching import MicroBatcher

TEXT_BATCH_TEXTS = 32  # texts per pass: ~70 ms of bfloat16 MiniLM on 2 cores; every caller in it waits that long


@dataclass(frozen=True)
class Batched:
    """One caller's share of a batched model pass."""

    value: Any
    batch_items: int  # items (texts, rows) in the whole pass


def _flatten(calls: list[list[Any]]) -> tuple[list[Any], list[int]]:
    items: list[Any] = []
    sizes = []
    for call in calls:
        items.extend(call)
        sizes.append(len(call))
    return items, sizes


def _split(values: list[Any], sizes: list[int]) -> list[Batched]:
    out, start = [], 0
    for size in sizes:
        out.append(Batched(values[start : start + size], len(values)))
        start += size
    return out


def _threads() -> int:
    return int(os.environ.get("VETTIFY_TORCH_THREADS", "1"))


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


class _Ready:
    """The readiness probe every deployment answers: its model's name and version."""

    name = "model"
    version = "?"

    async def ready(self) -> dict[str, str]:
        return {"model": self.name, "version": self.version}


class _BatchedModel(_Ready):
    """Batched models: the readiness probe, tunable batching and a health check."""

    def reconfigure(self, config: dict[str, Any]) -> None:
        """``user_config``: ``max_batch_size`` and ``batch_wait_timeout_s`` change without a restart."""
        method = self._run_batch  # type: ignore[attr-defined]
        if "max_batch_size" in config:
            method.set_max_batch_size(int(config["max_batch_size"]))
        if "batch_wait_timeout_s" in config:
            method.set_batch_wait_timeout_s(float(config["batch_wait_timeout_s"]))

    def check_health(self) -> None:
        if getattr(self, "model", None) is None:
            raise RuntimeError(f"{self.name}: model not loaded")


class _TextModel(_BatchedModel):
    """A text model batched at its own pace: one pass in flight, the next takes every call that waited."""

    def _start_batching(self) -> None:
        self.batcher: MicroBatcher[list[Any], Batched] = MicroBatcher(
            self._run_batch, max_size=TEXT_BATCH_TEXTS, max_wait_s=0.0, max_in_flight=1, size=len
        )

    async def _run_batch(self, calls: list[list[str]]) -> list[Batched]:
        raise NotImplementedError

    def reconfigure(self, config: dict[str, Any]) -> None:
        """``user_config``: ``max_batch_size`` (texts per pass) and ``batch_wait_timeout_s`` (how long a call
        that finds the model idle waits for company; 0 by default) change without a restart."""
        if "max_batch_size" in config:
            self.batcher.max_size = int(config["max_batch_size"])
        if "batch_wait_timeout_s" in config:
            self.batcher.max_wait_s = float(config["batch_wait_timeout_s"])


@serve.deployment(
    name="Embedding",
    ray_actor_options={"num_cpus": 0.4},
    max_ongoing_requests=64,
    max_queued_requests=128,
    autoscaling_config={"min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 24},
    health_check_period_s=10,
    graceful_shutdown_timeout_s=20,
)
class EmbeddingDeployment(_TextModel):
    name = "embedding"

    def __init__(self, model_path: str | None = None) -> None:
        self.model = registry.load("embedding", ModelOptions(model_path=_path(model_path), threads=_threads()))
        self.version = registry.spec("embedding").version
        self.pool = inference_executor(_threads(), self.name)
        self._start_batching()

    async def _run_batch(self, calls: list[list[str]]) -> list[Batched]:
        texts, sizes = _flatten(calls)
        result = await run_in(self.pool, self.model.encode, texts)
        rows = [
            (vector.tolist(), truncated) for vector, truncated in zip(result.vectors, result.truncated, strict=True)
        ]
        return _split(rows, sizes)

    async def embed(self, texts: list[str]) -> Batched:
        return await self.batcher.submit(texts)


@serve.deployment(
    name="Sentiment",
    ray_actor_options={"num_cpus": 0.4},
    max_ongoing_requests=64,
    max_queued_requests=128,
    autoscaling_config={"min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 24},
    health_check_period_s=10,
    graceful_shutdown_timeout_s=20,
)
class SentimentDeployment(_TextModel):
    name = "sentiment"

    def __init__(self, model_path: str | None = None) -> None:
        self.model = registry.load("sentiment", ModelOptions(model_path=_path(model_path), threads=_threads()))
        self.version = self.model.version
        self.pool = inference_executor(_threads(), self.name)
        self._start_batching()

    async def _run_batch(self, calls: list[list[str]]) -> list[Batched]:
        from models.sentiment.classifier import to_sentiments

        texts, sizes = _flatten(calls)
        probabilities, truncated = await run_in(self.pool, self.model.score, texts)
        return _split([asdict(s) for s in to_sentiments(probabilities, truncated)], sizes)

    async def classify(self, texts: list[str]) -> Batched:
        from models.embeddings.encoder import check_texts

        check_texts(texts)  # a bad text fails its own call, not the batch it would have joined
        return await self.batcher.submit(texts)


@serve.deployment(
    name="Churn",
    ray_actor_options={"num_cpus": 0.05},
    max_ongoing_requests=128,
    max_queued_requests=256,
    autoscaling_config={"min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 64},
    health_check_period_s=10,
)
class ChurnDeployment(_BatchedModel):
    name = "churn"

    def __init__(self, artifacts_dir: str) -> None:
        from models.churn.train import ensure_artifact

        folder = ensure_artifact(Path(artifacts_dir))
        self.model = registry.load("churn", ModelOptions(model_path=folder))
        self.version = f"{registry.spec('churn').version}:{folder.name}"

    @serve.batch(max_batch_size=256, batch_wait_timeout_s=0.005)
    async def _run_batch(self, calls: list[list[dict[str, float]]]) -> list[Batched]:
        rows, sizes = _flatten(calls)
        scores = await asyncio.to_thread(self.model.score_batch, rows)
        return _split([asdict(score) for score in scores], sizes)

    async def score(self, rows: list[dict[str, float]]) -> Batched:
        from models.churn.features import as_row

        for row in rows:
            as_row(row)  # raises InvalidInput naming the missing/invalid feature
        return await self._run_batch(rows)


@serve.deployment(
    name="Voice",
    ray_actor_options={"num_cpus": 0.25},
    max_ongoing_requests=2,
    max_queued_requests=8,
    health_check_period_s=10,
    graceful_shutdown_timeout_s=60,
)
class VoiceDeployment(_Ready):
    """Transcription (CPU-bound, no batching: one call at a time per replica), sentiment via the batched handle."""

    name = "voice"

    def __init__(self, sentiment: Any, model_path: str | None = None, max_audio_s: float = 7200.0) -> None:
        self.sentiment = sentiment
        self.model = registry.load("voice", ModelOptions(model_path=_path(model_path), threads=_threads()))
        self.model.max_seconds = max_audio_s
        self.version = self.model.version
        self.pool = inference_executor(_threads(), self.name)

    async def analyze(self, audio: bytes) -> dict[str, Any]:
        analysis = await run_in(self.pool, self.model.analyze, audio)
        texts = [s.text for s in analysis.segments if s.text.strip()]
        if texts:
            scored = await self.sentiment.classify.remote([*texts, analysis.transcript])
            results = iter(scored.value)
            for segment in analysis.segments:
                if segment.text.strip():
                    segment.sentiment = next(results)
            analysis.overall_sentiment = scored.value[-1]
        result = asdict(analysis)
        result.pop("language", None)
        result.pop("processing_s", None)
        return result


@serve.deployment(
    name="Vision",
    ray_actor_options={"num_cpus": 0.25},
    max_ongoing_requests=2,
    max_queued_requests=8,
    health_check_period_s=10,
    graceful_shutdown_timeout_s=60,
)
class VisionDeployment(_Ready):
    """Face mesh + emotions per frame; one image or video at a time per replica (CPU-bound)."""

    name = "vision"

    def __init__(self) -> None:
        self.model = registry.load("vision")
        self.version = self.model.version
        self.pool = inference_executor(_threads(), self.name)

    async def analyze(self, media: bytes, kind: str, fps: float) -> dict[str, Any]:
        if kind == "image":
            analysis = await run_in(self.pool, self.model.analyze_image, media)
        else:
            analysis = await run_in(self.pool, self.model.analyze_video, media, fps)
        result: dict[str, Any] = analysis.as_dict()
        return result


@serve.deployment(
    name="Pricing",
    ray_actor_options={"num_cpus": 0.05},
    max_ongoing_requests=32,
    max_queued_requests=128,
    health_check_period_s=10,
)
class PricingDeployment(_Ready):
    name = "pricing"

    def __init__(self) -> None:
        self.model = registry.load("pricing")
        self.version = self.model.version

    async def optimize(self, request: dict[str, Any]) -> dict[str, Any]:
        from models.pricing.service import PricingRequest

        return self.model.recommend(PricingRequest.model_validate(request)).model_dump()  # type: ignore[no-any-return]


@serve.deployment(
    name="Summary",
    ray_actor_options={"num_cpus": 0.05},
    max_ongoing_requests=16,
    max_queued_requests=64,
    health_check_period_s=10,
)
class SummaryDeployment(_Ready):
    """Extractive summaries; sentence vectors come from the (batched) embedding deployment."""

    name = "summary"

    def __init__(self, embedding: Any, llm_url: str | None = None, llm_model: str = "default") -> None:
        self.embedding = embedding
        self.llm_url = llm_url
        self.llm_model = llm_model
        self.version = "extractive-lexrank-mmr-v1"

    async def summarize(self, document: str, max_sentences: int = 3, diversity: float = 0.3) -> dict[str, Any]:
        import numpy as np

        from models.summary.extractive import split_sentences, summarize

        sentences = split_sentences(document) if isinstance(document, str) else []
        vectors: dict[str, Any] = {}
        if len(sentences) > max_sentences:
            embedded = await self.embedding.embed.remote(sentences)
            vectors = {s: row[0] for s, row in zip(sentences, embedded.value, strict=True)}

        def embed(texts: list[str]) -> Any:
            return np.asarray([vectors[t] for t in texts], dtype=np.float32)

        summary = summarize(document, embed, max_sentences=max_sentences, diversity=diversity)
        result = {
            "summary": summary.text,
            "sentences": [asdict(s) for s in summary.sentences],
            "total_sentences": summary.total_sentences,
            "method": self.version,
        }
        if self.llm_url:
            from models.summary.llm import LLMSummarizer, LLMUnavailable

            try:
                llm = LLMSummarizer(self.llm_url, self.llm_model)
                result["summary"] = await asyncio.to_thread(llm.summarize, document, max_sentences)
                result["method"] = f"llm:{self.llm_model}"
            except LLMUnavailable as exc:
                result["method"] = f"{self.version} (LLM unavailable: {exc})"
        return result


__all__ = [
    "Batched",
    "ChurnDeployment",
    "EmbeddingDeployment",
    "InvalidInput",
    "PricingDeployment",
    "SentimentDeployment",
    "SummaryDeployment",
    "VisionDeployment",
    "VoiceDeployment",
]
