"""The sentiment deployment: three-class MiniLM + LoRA, batched at the model's pace."""

from __future__ import annotations

from ray import serve

from models.embeddings.encoder import check_texts
from models.runtime import run_in
from models.sentiment.classifier import Sentiment, to_sentiments
from serve.deployments.base import Batched, TextModel, flatten, split


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

    def _version(self) -> str:
        return str(self.model.version)  # the trained artifact's own version

    async def _run_batch(self, calls: list[list[str]]) -> list[Batched[Sentiment]]:
        texts, sizes = flatten(calls)
        probabilities, truncated = await run_in(self.pool, self.model.score, texts)
        return split(to_sentiments(probabilities, truncated), sizes, self.version)

    async def classify(self, texts: list[str]) -> Batched[Sentiment]:
        check_texts(texts)  # the one check: a bad text fails its own call, not the batch it would have joined
        return await self._submit(texts)
