"""The embedding model (384-d MiniLM vectors, batched at the model's pace) and its deployment."""

from __future__ import annotations

from ray import serve

from models.embeddings.encoder import Embedding, check_texts
from serve.deployments.base import Batched, TextModel


class EmbeddingService(TextModel[Embedding]):
    """Sentence embeddings with batching; hosted by :data:`EmbeddingDeployment` and by the gateway."""

    name = "embedding"

    def _score(self, texts: list[str]) -> list[Embedding]:
        rows: list[Embedding] = self.model.encode(texts).rows()
        return rows

    async def embed(self, texts: list[str]) -> Batched[Embedding]:
        check_texts(texts)  # a bad text fails its own call, not the batch it would have joined
        return await self._submit(texts)


EmbeddingDeployment = serve.deployment(
    name="Embedding",
    ray_actor_options={"num_cpus": 0.3},
    max_ongoing_requests=64,
    max_queued_requests=128,
    autoscaling_config={"min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 24},
    health_check_period_s=10,
    graceful_shutdown_timeout_s=20,
)(EmbeddingService)
