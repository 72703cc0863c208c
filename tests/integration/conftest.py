"""One real Ray + Serve instance for the session: every model deployment, the gateway, Streams, the CRM app and
the dashboard.

Shared by the serve and streams integration tests (started on first use).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from infra.local_servers import RunningServer
from infra.net import free_port
from infra.settings import Settings
from tests.support.databases import ProvisionedDatabase
from tests.support.otlp_collector import OtlpCollector

# Small queues on Sentiment so a burst can show load shedding on this 2-core machine.
SENTIMENT_LIMITS = {"max_ongoing_requests": 8, "max_queued_requests": 8}


@dataclass(frozen=True)
class ServeStack:
    http: str
    grpc: str
    settings: Settings
    redis_url: str
    database: ProvisionedDatabase
    media_root: Path
    collector: OtlpCollector


@pytest.fixture(scope="session")
def otlp_collector() -> Iterator[OtlpCollector]:
    """Where the Serve stack's proxies and replicas export their spans (OTLP/HTTP JSON)."""
    with OtlpCollector() as collector:
        yield collector


@pytest.fixture(scope="session")
def serve_stack(
    tmp_path_factory: pytest.TempPathFactory,
    migrated_database: ProvisionedDatabase,
    redis_server: RunningServer,
    otlp_collector: OtlpCollector,
) -> Iterator[ServeStack]:
    from serve.application import app_args, deploy_crm, deploy_dashboard, deploy_models, start_serve
    from serve.application import stop as stop_serve

    data_dir: Path = tmp_path_factory.mktemp("serve-data")
    media_root: Path = tmp_path_factory.mktemp("media")
    settings = Settings(
        data_dir=data_dir,
        http_port=free_port(),
        grpc_port=free_port(),
        # The ingress replicas' own ports (direct ingress, HAProxy mode), clear of any other engine's on this machine.
        direct_http_port=free_port(),
        direct_grpc_port=free_port(),
        torch_threads=1,
        db_pool_min_size=1,
        # Tracing on, as with a collector in production, recording only requests that send a sampled traceparent.
        otlp_endpoint=otlp_collector.url,
        trace_sample_ratio=0.0,
        _env_file=None,  # type: ignore[call-arg]
    )
    try:
        endpoints = start_serve(settings, num_cpus=2, object_store_bytes=100 * 1024 * 1024)
        args = app_args(settings).model_copy(
            update={
                "deployment_overrides": {"Sentiment": SENTIMENT_LIMITS},
                "redis_url": redis_server.url,
                "database_url": migrated_database.urls.app,
                "media_root": str(media_root),
            }
        )
        deploy_crm(migrated_database.urls.app, migrated_database.urls.worker, wait=False, redis_url=redis_server.url)
        deploy_dashboard(migrated_database.urls.app, wait=False)
        deploy_models(args, timeout_s=420)
    except Exception as exc:
        stop_serve()
        pytest.fail(f"Ray Serve could not start the Vettify applications: {exc}")
    yield ServeStack(
        http=endpoints.http,
        grpc=endpoints.grpc,
        settings=settings,
        redis_url=redis_server.url,
        database=migrated_database,
        media_root=media_root,
        collector=otlp_collector,
    )
    stop_serve()


@pytest.fixture
def http(serve_stack: ServeStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=serve_stack.http, timeout=60) as client:
        yield client
