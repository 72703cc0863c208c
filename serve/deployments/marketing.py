"""The marketing deployment: A/B read-outs, attribution, budget plans and pacing (:mod:`models.marketing`).

The models are numpy/scipy and stateless per call; a call runs in a worker thread so a long one (an
attribution over 100k journeys, a budget fit with its bootstrap) leaves the replica answering others.
"""

from __future__ import annotations

import asyncio

from ray import serve

from models.marketing.ab import ExperimentAnalysis, ExperimentRequest, analyze
from models.marketing.attribution import AttributionRequest, AttributionResponse, attribute
from models.marketing.budget import BudgetPlan, BudgetRequest, Pace, PaceRequest, pace, plan_budget
from serve.deployments.base import ReadyProbe

VERSION = "marketing-v1"


@serve.deployment(
    name="Marketing",
    ray_actor_options={"num_cpus": 0.05},
    max_ongoing_requests=8,
    max_queued_requests=64,
    health_check_period_s=10,
)
class MarketingDeployment(ReadyProbe):
    name = "marketing"

    def __init__(self) -> None:
        self.version = VERSION

    async def analyze_experiment(self, request: ExperimentRequest) -> ExperimentAnalysis:
        return await asyncio.to_thread(analyze, request)

    async def attribute(self, request: AttributionRequest) -> AttributionResponse:
        return await asyncio.to_thread(attribute, request)

    async def plan_budget(self, request: BudgetRequest) -> BudgetPlan:
        return await asyncio.to_thread(plan_budget, request)

    async def pace(self, request: PaceRequest) -> Pace:
        return await asyncio.to_thread(pace, request)
