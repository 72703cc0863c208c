"""The sentiment deployment: three-class MiniLM + LoRA, batched at the model's pace."""

from __future__ import annotations

from ray import serve

from models.embeddings.encoder import check_texts
from models.registry import ModelOptions, registry
from models.runtime import inference_executor, run_in
from models.sentiment.classifier import Sentiment, to_sentiments
from serve.deployments.base import Batched, Precision, TextBatching, TextModel, as_path, flatten, split


@serve.deployment(
    name="Sentiment",
    ray_actor_options={"num_cpus": 0.4},
    max_ongoing_requests=64,
    max_queued_requests=128,
    autoscaling_config={"min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 24},
    health_check_period_s=10,
    graceful_shutdown_timeout_s=20,
)
class SentimentDeployment(TextModel[Sentiment]):
    name = "sentiment"

    def __init__(
        self,
        model_path: str | None = None,
        threads: int = 1,
        batching: TextBatching = "paced",
        dtype: Precision = "auto",
    ) -> None:
        options = ModelOptions(model_path=as_path(model_path), threads=threads, dtype=dtype)
        self.model = registry.load("sentiment", options)
        self.version = self.model.version
        self.pool = inference_executor(threads, self.name)
        self._start_batching(batching)

    async def _run_batch(self, calls: list[list[str]]) -> list[Batched[Sentiment]]:
        texts, sizes = flatten(calls)
        probabilities, truncated = await run_in(self.pool, self.model.score, texts)
        return split(to_sentiments(probabilities, truncated), sizes)

    async def classify(self, texts: list[str]) -> Batched[Sentiment]:
        check_texts(texts)  # the one check: a bad text fails its own call, not the batch it would have joined
        return await self._submit(texts)
