"""The gateway: one Serve ingress for HTTP (FastAPI) and gRPC in front of the model deployments.

HTTP routes: :mod:`serve.http_api` (models, operations) and :mod:`streams.api` (events, insights); gRPC
methods: :mod:`serve.grpc_api`. The sentiment and embedding models run inside this replica by default
(:mod:`serve.hosted_text`), so a text request costs no hop past it. Both faces call the deployments through one
:class:`~serve.model_calls.ModelCalls`, and answer faults per the engine's one error contract. The CRM
core is its own Serve application under ``/v1/crm`` on the same proxies (:mod:`serve.crm_app`), so a
model outage never takes the CRM down.
"""

# No ``from __future__ import annotations`` here: Serve pickles this ingress class by value, and its
# annotations must be real objects, not names to look up in a module that is not there.
from fastapi import FastAPI
from ray import serve

from infra.http.correlation import CorrelationIdMiddleware
from infra.http.limits import BodySizeLimitMiddleware
from infra.http.metrics import HttpMetrics, HttpMetricsMiddleware
from infra.http.problems import install_error_handlers
from infra.http.tracing import FASTAPI_TELEMETRY, TracingMiddleware
from infra.settings import Settings
from serve import grpc_reuseport, http_api
from serve.deployments.base import Handle
from serve.deployments.streams import StreamsHandle
from serve.errors import HTTP_BACKPRESSURE
from serve.grpc_api import AnalyticsMethods
from serve.hosted_text import HostedText, HostedTextOptions
from serve.model_calls import DEFAULT_TIMEOUT_S, MAX_AUDIO_BYTES, ModelCalls, ModelHandles
from streams import api as streams_api

DEFAULT_MAX_BODY_BYTES = 2 << 20  # 256 texts of ~8k characters


@serve.deployment(
    name="Gateway",
    # It hosts the sentiment and embedding models (serve/hosted_text.py): the share of a model replica.
    ray_actor_options={"num_cpus": 0.4},
    # Text requests past the models' wait budget are refused inside (problem+json, Retry-After); the proxy
    # sheds what exceeds even these (503 with Retry-After) rather than queueing without bound.
    max_ongoing_requests=512,
    max_queued_requests=512,
    backpressure_config=HTTP_BACKPRESSURE,  # past both: Ray's own 503, with Retry-After
    autoscaling_config={"min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 64},
    health_check_period_s=10,
    graceful_shutdown_timeout_s=20,
)
@serve.ingress()
class Gateway(AnalyticsMethods):
    def __init__(
        self,
        embedding: Handle,
        sentiment: Handle,
        churn: Handle,
        pricing: Handle,
        summary: Handle,
        voice: Handle,
        vision: Handle,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        redis_url: str | None = None,
        streams: Handle | None = None,
        hosted_text: HostedTextOptions | None = None,
        marketing: Handle | None = None,
    ) -> None:
        grpc_reuseport.apply()  # before Serve starts this replica's direct gRPC server
        settings = Settings()  # this replica's one settings object
        if redis_url:
            settings = settings.model_copy(update={"redis_url": redis_url})
        self.settings = settings
        self.max_body_bytes = max_body_bytes
        self.streams = streams
        handles = ModelHandles(
            embedding=embedding,
            sentiment=sentiment,
            churn=churn,
            pricing=pricing,
            summary=summary,
            voice=voice,
            vision=vision,
            marketing=marketing,
        )
        hosted = HostedText(hosted_text) if hosted_text is not None else None
        self.models = ModelCalls(handles, settings, timeout_s=timeout_s, streams=streams, hosted=hosted)
        # the event and insight routes' SLO indicators; rendered with the models' at /metrics
        self.http_metrics = HttpMetrics("gateway", self.models.metrics.registry)

    def __serve_build_asgi_app__(self) -> FastAPI:
        app = FastAPI(
            telemetry=FASTAPI_TELEMETRY,
            title="Vettify Engine models",
            description="Sentiment, embeddings, churn, pricing, summaries, voice, vision and the marketing models "
            "(A/B tests, attribution, budgets) over Ray Serve "
            "(gRPC: protos/inference.proto), event ingestion and insight queries.",
        )
        app.state.settings, app.state.models = self.settings, self.models
        install_error_handlers(app)
        app.add_middleware(
            BodySizeLimitMiddleware,
            max_bytes=self.max_body_bytes,
            overrides={
                "/v1/voice/": MAX_AUDIO_BYTES,
                "/v1/vision/": MAX_AUDIO_BYTES,
                "/v1/events": streams_api.MAX_BODY_BYTES,
                "/v1/attribution": http_api.MAX_ATTRIBUTION_BODY_BYTES,
            },
        )
        app.add_middleware(CorrelationIdMiddleware)
        app.add_middleware(TracingMiddleware, service="gateway")
        app.add_middleware(HttpMetricsMiddleware, metrics=self.http_metrics)
        app.include_router(http_api.router)
        app.include_router(http_api.marketing)
        app.include_router(http_api.operations)
        if self.streams is not None:
            app.state.streams = StreamsHandle(self.streams)
            app.include_router(streams_api.router)
        return app
