"""The voice deployment: faster-whisper transcription, then sentiment per segment from the sentiment deployment."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from ray import serve

from models.registry import ModelOptions, registry
from models.runtime import inference_executor, run_in
from models.voice.analyzer import AnalyzeOptions, VoiceAnalysis, attach_sentiment, texts_to_score
from models.voice.live import LiveStep, live_step
from serve.deployments.base import Handle, ReadyProbe, as_path


@serve.deployment(
    name="Voice",
    ray_actor_options={"num_cpus": 0.25},
    max_ongoing_requests=2,
    max_queued_requests=8,
    health_check_period_s=10,
    graceful_shutdown_timeout_s=60,
)
class VoiceDeployment(ReadyProbe):
    """Transcription (CPU-bound, no batching: one call at a time per replica), sentiment via the batched handle."""

    name = "voice"

    def __init__(
        self,
        sentiment: Handle,
        model_path: str | None = None,
        max_audio_s: float = 7200.0,
        threads: int = 1,
        artifacts_dir: str | None = None,
        profile: str | None = None,
    ) -> None:
        self.sentiment = sentiment
        options = ModelOptions(
            model_path=as_path(model_path), threads=threads, artifacts_dir=as_path(artifacts_dir), profile=profile
        )
        self.model = registry.load("voice", options)
        self.model.max_seconds = max_audio_s
        self.version = self.model.version
        self.pool = inference_executor(threads, self.name)

    async def analyze(self, audio: bytes, options: AnalyzeOptions | None = None) -> VoiceAnalysis:
        analysis: VoiceAnalysis = await run_in(self.pool, self.model.analyze, audio, None, options or AnalyzeOptions())
        texts = texts_to_score(analysis)
        if texts:
            attach_sentiment(analysis, (await self.sentiment.classify.remote(texts)).value)
        return analysis

    async def live_step(self, samples: NDArray[np.float32], options: AnalyzeOptions, flush: bool) -> LiveStep:
        """One step of a live call (models.voice.live): the gateway holds the session, so any replica serves it."""
        step: LiveStep = await run_in(
            self.pool, live_step, self.model, samples, options.profile, options.language, flush
        )
        return step
