"""The pricing deployment: demand model + constrained price optimiser, and live repricing's proposals."""

from __future__ import annotations

import asyncio

from ray import serve

from models.pricing.live import LivePricingRequest, LiveProposal
from models.pricing.service import PricingRequest, PricingResponse
from models.registry import registry
from serve.deployments.base import ReadyProbe


@serve.deployment(
    name="Pricing",
    ray_actor_options={"num_cpus": 0.05},
    max_ongoing_requests=32,
    max_queued_requests=128,
    health_check_period_s=10,
)
class PricingDeployment(ReadyProbe):
    name = "pricing"

    def __init__(self) -> None:
        self.model = registry.load("pricing")
        self.version = self.model.version

    # In a worker thread: the replica's code shares its event loop with Ray's request handling (serve/ray_env.py).
    async def optimize(self, request: PricingRequest) -> PricingResponse:
        response: PricingResponse = await asyncio.to_thread(self.model.recommend, request)
        return response

    async def propose(self, request: LivePricingRequest) -> LiveProposal:
        proposal: LiveProposal = await asyncio.to_thread(self.model.propose_live, request)
        return proposal
