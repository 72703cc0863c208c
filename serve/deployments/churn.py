"""The churn deployment: calibrated XGBoost with per-feature contributions, ``@serve.batch`` over rows."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ray import serve

from models.churn.features import as_row
from models.churn.model import ChurnScore
from models.registry import ModelOptions, registry
from serve.deployments.base import Batched, BatchedModel, flatten, split


@serve.deployment(
    name="Churn",
    ray_actor_options={"num_cpus": 0.05},
    max_ongoing_requests=128,
    max_queued_requests=256,
    autoscaling_config={"min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 64},
    health_check_period_s=10,
)
class ChurnDeployment(BatchedModel):
    name = "churn"

    def __init__(self, artifacts_dir: str) -> None:
        from models.churn.train import ensure_artifact

        folder = ensure_artifact(Path(artifacts_dir))
        self.model = registry.load("churn", ModelOptions(model_path=folder))
        self.version = f"{registry.spec('churn').version}:{folder.name}"

    @serve.batch(max_batch_size=256, batch_wait_timeout_s=0.005)
    async def _run_batch(self, calls: list[list[dict[str, float | None]]]) -> list[Batched[ChurnScore]]:
        rows, sizes = flatten(calls)
        scores = await asyncio.to_thread(self.model.score_batch, rows)
        return split(scores, sizes, self.version)

    async def score(self, rows: list[dict[str, float | None]]) -> Batched[ChurnScore]:
        for row in rows:
            as_row(row)  # raises InvalidInput naming the missing/invalid feature
        return await self._run_batch(rows)
