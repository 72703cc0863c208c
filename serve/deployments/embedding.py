"""The embedding deployment: 384-d MiniLM vectors, batched at the model's pace."""

from __future__ import annotations

from ray import serve

from models.registry import ModelOptions, registry
from models.runtime import inference_executor, run_in
from serve.deployments.base import Batched, TextBatching, TextModel, as_path, flatten, split

Embedded = tuple[list[float], bool]  # the unit vector, and whether the text was cut to the token limit


@serve.deployment(
    name="Embedding",
    ray_actor_options={"num_cpus": 0.4},
    max_ongoing_requests=64,
    max_queued_requests=128,
    autoscaling_config={"min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 24},
    health_check_period_s=10,
    graceful_shutdown_timeout_s=20,
)
class EmbeddingDeployment(TextModel[Embedded]):
    name = "embedding"

    def __init__(self, model_path: str | None = None, threads: int = 1, batching: TextBatching = "paced") -> None:
        self.model = registry.load("embedding", ModelOptions(model_path=as_path(model_path), threads=threads))
        self.version = registry.spec("embedding").version
        self.pool = inference_executor(threads, self.name)
        self._start_batching(batching)

    async def _run_batch(self, calls: list[list[str]]) -> list[Batched[Embedded]]:
        texts, sizes = flatten(calls)
        result = await run_in(self.pool, self.model.encode, texts)
        rows = [
            (vector.tolist(), truncated) for vector, truncated in zip(result.vectors, result.truncated, strict=True)
        ]
        return split(rows, sizes)

    async def embed(self, texts: list[str]) -> Batched[Embedded]:
        """Texts already checked by the caller (the gateway, a processor); the model checks them again."""
        return await self._submit(texts)
