"""The vision deployment: face mesh, emotions and attention per frame of an image or a video."""

from __future__ import annotations

from ray import serve

from models.registry import registry
from models.runtime import inference_executor, run_in
from models.vision.analyzer import VisionAnalysis
from serve.deployments.base import ReadyProbe


@serve.deployment(
    name="Vision",
    ray_actor_options={"num_cpus": 0.25},
    max_ongoing_requests=2,
    max_queued_requests=8,
    health_check_period_s=10,
    graceful_shutdown_timeout_s=60,
)
class VisionDeployment(ReadyProbe):
    """Face mesh + emotions per frame; one image or video at a time per replica (CPU-bound)."""

    name = "vision"

    def __init__(self, threads: int = 1) -> None:
        self.model = registry.load("vision")
        self.version = self.model.version
        self.pool = inference_executor(threads, self.name)

    async def analyze(self, media: bytes, kind: str, fps: float) -> VisionAnalysis:
        if kind == "image":
            return await run_in(self.pool, self.model.analyze_image, media)
        return await run_in(self.pool, self.model.analyze_video, media, fps)
