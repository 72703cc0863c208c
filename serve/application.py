"""The Serve application graph, its start-up on this machine, and its config file.

``build(args)`` is the builder that ``serve run``/``serve deploy`` call
(``import_path: serve.application:build``): it binds the model deployments and
the gateway. ``start(settings)`` starts local Ray + Serve with HTTP and gRPC
proxies (what ``vettify up`` and the tests use). ``serve_config(settings)``
renders the same deployment choices as a Serve config document; the copy in
``cluster/serve_config.yaml`` is checked against it by the tests
(``vettify serve-config --write`` regenerates it).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from infra import tracing
from infra.admission import DEFAULT_MAX_WAIT_S
from infra.settings import Settings
from models.precision import Precision
from models.text.encoder_runtime import Runtime

APP_NAME = "vettify"
GRPC_SERVICER = "protos.inference_pb2_grpc.add_AnalyticsServicer_to_server"
CONFIG_PATH = Path(__file__).resolve().parent.parent / "cluster" / "serve_config.yaml"


class AppArgs(BaseModel):
    """Arguments of the application builder (``args:`` in the Serve config)."""

    artifacts_dir: str = str(Path.home() / ".local" / "share" / "vettify" / "artifacts")
    embedding_model_path: str | None = None
    sentiment_model_path: str | None = None
    whisper_model_path: str | None = None
    voice_max_audio_s: float = 7200.0
    voice_profile: Literal["fast", "accurate"] = "accurate"
    summary_llm_url: str | None = None
    request_timeout_s: float = 30.0
    torch_threads: int | None = None  # per model replica; absent: VETTIFY_TORCH_THREADS
    text_batching: Literal["paced", "sized", "serve_batch"] = "paced"  # sentiment, embedding (deployments/base.py)
    # HTTP/gRPC text requests: the models inside the gateway replica (serve/hosted_text.py), refusing a
    # request that would wait longer than text_max_queue_wait_s; False: through the model deployments.
    text_models_in_gateway: bool = True
    text_max_queue_wait_s: float = Field(default=DEFAULT_MAX_WAIT_S, gt=0)
    inference_dtype: Precision | None = None  # absent: VETTIFY_INFERENCE_DTYPE
    inference_runtime: Runtime | None = None  # absent: VETTIFY_INFERENCE_RUNTIME
    redis_url: str | None = None  # the churn feature store (scoring by account id); absent: VETTIFY_REDIS_URL
    # Streams: the database it writes insights to (absent: VETTIFY_DATABASE_URL; neither: /v1/events answers 503),
    # and the bus sources each Streams replica consumes when set.
    database_url: str | None = None
    # The worker role's DSN: with it, each Streams replica also runs the A/B optimiser (streams/experiments.py).
    worker_database_url: str | None = None
    amqp_url: str | None = None
    kafka_bootstrap: str | None = None
    media_root: str | None = None
    deployment_overrides: dict[str, dict[str, Any]] = {}  # deployment name -> .options(...) keywords


def build(args: dict[str, Any]) -> Any:
    """Serve application builder: every model deployment plus the gateway ingress."""
    from serve.hosted_text import HostedTextOptions

    gateway, embedder, sentimenter, churner, pricing, summary, voicer, visioner, streamer, marketer = DEPLOYMENTS()
    options = AppArgs.model_validate(args or {})
    unknown = set(options.deployment_overrides) - {d.name for d in DEPLOYMENTS()}
    if unknown:
        raise ValueError(f"deployment_overrides names unknown deployments: {sorted(unknown)}")

    def tuned(deployment: Any) -> Any:
        override = options.deployment_overrides.get(deployment.name)
        return deployment.options(**override) if override else deployment

    env = Settings()  # the builder's process: the cluster's environment fills what the args leave out
    threads = options.torch_threads or env.torch_threads
    dtype = options.inference_dtype or env.inference_dtype
    runtime = options.inference_runtime or env.inference_runtime
    embedding = tuned(embedder).bind(options.embedding_model_path, threads, options.text_batching, dtype, runtime)
    sentiment = tuned(sentimenter).bind(options.sentiment_model_path, threads, options.text_batching, dtype, runtime)
    churn = tuned(churner).bind(options.artifacts_dir)
    voice = tuned(voicer).bind(
        sentiment,
        options.whisper_model_path,
        options.voice_max_audio_s,
        threads,
        options.artifacts_dir,
        options.voice_profile,
    )
    vision = tuned(visioner).bind(threads)
    streams = tuned(streamer).bind(
        embedding,
        sentiment,
        voice,
        vision,
        churn,
        database_url=options.database_url or env.database_url,
        worker_database_url=options.worker_database_url or env.worker_database_url,
        redis_url=options.redis_url or env.redis_url,
        amqp_url=options.amqp_url or env.amqp_url,
        kafka_bootstrap=options.kafka_bootstrap or env.kafka_bootstrap,
        media_root=options.media_root or (str(env.media_root) if env.media_root else None),
        artifacts_dir=options.artifacts_dir,
        reach_use_text=env.reach_use_text,
    )
    hosted = None
    if options.text_models_in_gateway:
        hosted = HostedTextOptions(
            sentiment_model_path=options.sentiment_model_path,
            embedding_model_path=options.embedding_model_path,
            threads=threads,
            dtype=dtype,
            runtime=runtime,
            max_queue_wait_s=options.text_max_queue_wait_s,
            batching=options.text_batching,
        )
    return tuned(gateway).bind(
        embedding,
        sentiment,
        churn,
        tuned(pricing).bind(),
        tuned(summary).bind(embedding, options.summary_llm_url),
        voice,
        vision,
        options.request_timeout_s,
        redis_url=options.redis_url,
        streams=streams,
        hosted_text=hosted,
        marketing=tuned(marketer).bind(),
    )


def DEPLOYMENTS() -> tuple[Any, ...]:
    from serve.deployments import (
        ChurnDeployment,
        EmbeddingDeployment,
        MarketingDeployment,
        PricingDeployment,
        SentimentDeployment,
        StreamsDeployment,
        SummaryDeployment,
        VisionDeployment,
        VoiceDeployment,
    )
    from serve.ingress import Gateway

    return (
        Gateway,
        EmbeddingDeployment,
        SentimentDeployment,
        ChurnDeployment,
        PricingDeployment,
        SummaryDeployment,
        VoiceDeployment,
        VisionDeployment,
        StreamsDeployment,
        MarketingDeployment,
    )


def app_args(settings: Settings) -> AppArgs:
    return AppArgs(
        artifacts_dir=str(settings.resolved_artifacts_dir),
        embedding_model_path=str(settings.embedding_model_path) if settings.embedding_model_path else None,
        sentiment_model_path=str(settings.sentiment_model_path) if settings.sentiment_model_path else None,
        whisper_model_path=str(settings.whisper_model_path) if settings.whisper_model_path else None,
        voice_max_audio_s=settings.voice_max_audio_s,
        voice_profile=settings.voice_profile,
        redis_url=settings.redis_url,
        torch_threads=settings.torch_threads,
        inference_dtype=settings.inference_dtype,
        inference_runtime=settings.inference_runtime,
        deployment_overrides=settings.deployment_overrides,
    )


@dataclass(frozen=True)
class Endpoints:
    http: str
    grpc: str


def start_serve(
    settings: Settings,
    *,
    object_store_bytes: int = 200 * 1024 * 1024,
    num_cpus: int | None = None,
    ray_address: str | None = None,
) -> Endpoints:
    """Start (or join) Ray and start Serve's HTTP and gRPC proxies."""
    import ray
    from ray import serve
    from ray.serve.config import HTTPOptions, gRPCOptions

    from serve import direct_ingress, ray_env

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if not ray.is_initialized():
        ray_env.configure()  # read by Ray's processes when they start (a joined cluster's nodes need their own)
        direct_ingress.configure(settings)
        env = {"RAY_AUTH_MODE": "disabled"}
        if settings.otlp_endpoint:  # each proxy and replica reads it in infra.tracing.serve_span_processors
            env[tracing.ENDPOINT_ENV] = settings.otlp_endpoint
        if ray_address:
            # A cluster's processes do not inherit this one's environment: the engine's settings travel in the
            # job's runtime_env, which Serve gives every replica of the applications deployed from here.
            env.update(engine_environment())
            ray.init(address=ray_address, log_to_driver=False, runtime_env={"env_vars": env})
        else:
            ray.init(
                num_cpus=num_cpus or os.cpu_count() or 2,
                object_store_memory=object_store_bytes,
                include_dashboard=False,
                log_to_driver=False,
                runtime_env={"env_vars": env},
            )
    serve.start(
        http_options=HTTPOptions(host=settings.host, port=settings.http_port, request_timeout_s=60),
        grpc_options=gRPCOptions(port=settings.grpc_port, grpc_servicer_functions=[GRPC_SERVICER]),
        tracing_config=tracing_config(settings),
    )
    return Endpoints(http=f"http://{settings.host}:{settings.http_port}", grpc=f"{settings.host}:{settings.grpc_port}")


def engine_environment() -> dict[str, str]:
    """This process's ``VETTIFY_*`` variables: the settings, and the URLs ``vettify up`` set for the services it
    started (Redis, the SMTP sink, the public URL). A joined cluster's replicas get them through the job's
    runtime_env; a local Ray's processes inherit them."""
    return {name: value for name, value in os.environ.items() if name.startswith("VETTIFY_")}


def tracing_config(settings: Settings) -> Any:
    """Serve's tracing: on when a collector is configured (``VETTIFY_OTLP_ENDPOINT``), else None (off, no cost).

    Serve carries the trace context from a handle call to the replica it reaches; :mod:`infra.tracing` adds the
    engine's spans and exports them from every proxy and replica.
    """
    if not settings.otlp_endpoint:
        return None
    from ray.serve.schema import TracingConfig

    return TracingConfig(
        enabled=True, exporter_import_path=tracing.SERVE_EXPORTER, sampling_ratio=settings.trace_sample_ratio
    )


def deploy_crm(
    database_url: str,
    worker_database_url: str | None,
    *,
    consumes_events: bool = True,
    wait: bool = True,
    redis_url: str | None = None,
) -> None:
    """The CRM application; ``consumes_events=False`` when the model application's Streams apply orders."""
    from ray import serve

    from serve.crm_app import APP_NAME as CRM_APP
    from serve.crm_app import ROUTE_PREFIX, build_crm

    app = build_crm(
        {
            "database_url": database_url,
            "worker_database_url": worker_database_url,
            "consumes_events": consumes_events,
            "redis_url": redis_url,
        }
    )
    _submit(serve.RunTarget(app, name=CRM_APP, route_prefix=ROUTE_PREFIX))
    if wait:
        wait_running(CRM_APP)


def deploy_dashboard(database_url: str, *, wait: bool = True) -> None:
    """The dashboard application (``/dashboard``): the page, sign-in and the live insight stream."""
    from ray import serve

    from serve.dashboard_app import APP_NAME as DASHBOARD_APP
    from serve.dashboard_app import ROUTE_PREFIX, build_dashboard

    _submit(
        serve.RunTarget(build_dashboard({"database_url": database_url}), name=DASHBOARD_APP, route_prefix=ROUTE_PREFIX)
    )
    if wait:
        wait_running(DASHBOARD_APP)


def deploy_models(args: AppArgs, *, wait: bool = True, timeout_s: float = 600.0) -> None:
    from ray import serve

    _submit(serve.RunTarget(build(args.model_dump()), name=APP_NAME, route_prefix="/"))
    if wait:
        wait_running(APP_NAME, timeout_s)


def _submit(target: Any) -> None:
    """Hand an application to the Serve controller and return at once; :func:`wait_running` waits."""
    from ray import serve

    serve.run_many([target], wait_for_ingress_deployment_creation=False, wait_for_applications_running=False)


def wait_running(
    name: str,
    timeout_s: float = 600.0,
    *,
    cancelled: Callable[[], bool] = lambda: False,
    progress: Callable[[float], None] | None = None,
    progress_every_s: float = 15.0,
) -> bool:
    """Wait until the application is RUNNING (True) or ``cancelled()`` turns true (False).

    Raises when it fails to deploy or is not running within ``timeout_s``; ``progress``
    is called with the seconds waited every ``progress_every_s``.
    """
    import time

    from ray import serve

    started = last_note = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if cancelled():
            return False
        status = serve.status().applications.get(name)
        if status is not None and status.status == "RUNNING":
            return True
        if status is not None and status.status in ("DEPLOY_FAILED", "UNHEALTHY"):
            raise RuntimeError(f"Serve application {name!r} is {status.status}: {status.message[-2000:]}")
        if progress is not None and time.monotonic() - last_note >= progress_every_s:
            last_note = time.monotonic()
            progress(last_note - started)
        time.sleep(0.5)
    status = serve.status().applications.get(name)
    details = ""
    if status is not None:
        details = "; ".join(
            f"{deployment}: {info.status} {info.message}".strip() for deployment, info in status.deployments.items()
        )
    raise TimeoutError(f"Serve application {name!r} did not become RUNNING in {timeout_s:.0f}s ({details[-1500:]})")


def stop() -> None:
    import ray
    from ray import serve

    if ray.is_initialized():
        serve.shutdown()  # type: ignore[no-untyped-call]
        ray.shutdown()


def serve_config() -> dict[str, Any]:
    """The Serve config document (``serve run``/``serve deploy`` and KubeRay's ``serveConfigV2``)."""
    deployments = []
    for deployment in DEPLOYMENTS():
        config = deployment._deployment_config  # the options given in code are the defaults written out
        entry: dict[str, Any] = {
            "name": deployment.name,
            "max_ongoing_requests": config.max_ongoing_requests,
            "ray_actor_options": {"num_cpus": deployment.ray_actor_options["num_cpus"]},
            "health_check_period_s": config.health_check_period_s,
            "graceful_shutdown_timeout_s": config.graceful_shutdown_timeout_s,
        }
        if config.max_queued_requests != -1:
            entry["max_queued_requests"] = config.max_queued_requests
        backpressure = config.backpressure_config
        if backpressure.retry_after_s is not None:
            entry["backpressure_config"] = {
                "status_code": backpressure.status_code,
                "retry_after_s": backpressure.retry_after_s,
            }
        if config.autoscaling_config is not None:
            auto = config.autoscaling_config
            entry["autoscaling_config"] = {
                "min_replicas": auto.min_replicas,
                "max_replicas": auto.max_replicas,
                "target_ongoing_requests": auto.target_ongoing_requests,
            }
        deployments.append(entry)
    return {
        "proxy_location": "EveryNode",
        "http_options": {"host": "0.0.0.0", "port": 8000, "request_timeout_s": 60},  # noqa: S104 - cluster ingress
        "grpc_options": {"port": 9000, "grpc_servicer_functions": [GRPC_SERVICER]},
        "applications": [
            {
                "name": APP_NAME,
                "route_prefix": "/",
                "import_path": "serve.application:build",
                "args": {"artifacts_dir": "/var/lib/vettify/artifacts", "request_timeout_s": 30.0, "torch_threads": 2},
                "deployments": deployments,
            },
            {
                "name": "crm",
                "route_prefix": "/v1/crm",
                "import_path": "serve.crm_app:build_crm",
                # DSNs come from VETTIFY_DATABASE_URL / VETTIFY_WORKER_DATABASE_URL (a secret); the Streams
                # deployment's orders queue applies orders, so the CRM's own consumer stays off.
                "args": {"consumes_events": False},
                "deployments": [{"name": "CRM", "ray_actor_options": {"num_cpus": 0.2}}],
            },
            {
                "name": "dashboard",
                "route_prefix": "/dashboard",
                "import_path": "serve.dashboard_app:build_dashboard",
                "args": {},  # the DSN comes from VETTIFY_DATABASE_URL
                "deployments": [{"name": "Dashboard", "ray_actor_options": {"num_cpus": 0}}],
            },
        ],
    }
