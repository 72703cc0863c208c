"""The embedding deployment: 384-d MiniLM vectors, batched at the model's pace."""

from __future__ import annotations

from ray import serve

from models.embeddings.encoder import Embedding
from models.runtime import run_in
from serve.deployments.base import Batched, TextModel, flatten, split


@serve.deployment(
    name="Embedding",
    ray_actor_options={"num_cpus": 0.4},
    max_ongoing_requests=64,
    max_queued_requests=128,
    autoscaling_config={"min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 24},
    health_check_period_s=10,
    graceful_shutdown_timeout_s=20,
)
class EmbeddingDeployment(TextModel[Embedding]):
    name = "embedding"

    async def _run_batch(self, calls: list[list[str]]) -> list[Batched[Embedding]]:
        texts, sizes = flatten(calls)
        result = await run_in(self.pool, self.model.encode, texts)
        return split(result.rows(), sizes, self.version)

    async def embed(self, texts: list[str]) -> Batched[Embedding]:
        """Texts already checked by the caller (the gateway, a processor); the model checks them again."""
        return await self._submit(texts)
