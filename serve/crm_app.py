"""The CRM core as its own Ray Serve application, under ``/v1/crm`` on the same HTTP proxy.

Serve strips the application's ``route_prefix`` before routing, so the CRM app
is built with its resources at the root (``api_prefix=""``): the public URLs
stay ``/v1/crm/accounts`` …, and ``/v1/crm/health`` and ``/v1/crm/docs`` are its
health check and docs. A separate application keeps the CRM independent of the
model deployments: it is up in seconds, and a model crash never touches it.
The app's lifespan (database pool, Redis, ANAF client, outbox relay) runs in
the replica.
"""

from __future__ import annotations

from typing import Any

from ray import serve

from serve import grpc_reuseport
from serve.errors import HTTP_BACKPRESSURE

ROUTE_PREFIX = "/v1/crm"
APP_NAME = "crm"


@serve.deployment(
    name="CRM",
    ray_actor_options={"num_cpus": 0.2},
    max_ongoing_requests=200,
    max_queued_requests=1000,
    backpressure_config=HTTP_BACKPRESSURE,  # past both: Ray's own 503, with Retry-After
    health_check_period_s=10,
    graceful_shutdown_timeout_s=20,
)
@serve.ingress()
class CrmIngress:
    def __init__(
        self,
        database_url: str,
        worker_database_url: str | None = None,
        consumes_events: bool = True,
        redis_url: str | None = None,
    ) -> None:
        grpc_reuseport.apply()  # before Serve starts this replica's direct gRPC server
        self.database_url = database_url
        self.worker_database_url = worker_database_url
        self.consumes_events = consumes_events
        self.redis_url = redis_url

    def __serve_build_asgi_app__(self) -> Any:
        from crm_core.api.app import create_app
        from infra.settings import Settings
        from streams.recommendations import email_recommendations

        overrides: dict[str, Any] = {"crm_consumes_events": self.consumes_events}
        if self.redis_url:  # else VETTIFY_REDIS_URL, as every other setting
            overrides["redis_url"] = self.redis_url
        settings = Settings(**overrides)  # this replica's one settings object
        return create_app(
            settings,
            database_url=self.database_url,
            worker_database_url=self.worker_database_url,
            api_prefix="",
            personaliser=email_recommendations,  # campaigns' {{ recommendations }} from the tenant's catalogue
        )


def build_crm(args: dict[str, Any]) -> Any:
    """Serve application builder (``import_path: serve.crm_app:build_crm``).

    The DSNs come from ``args`` or, in a cluster, from ``VETTIFY_DATABASE_URL`` /
    ``VETTIFY_WORKER_DATABASE_URL`` in the pod's environment (a secret, not the config file).
    ``consumes_events`` (default true): the CRM applies orders and deliveries from RabbitMQ itself; false
    where the model application's Streams deployment runs, whose ``orders`` queue applies them.
    ``redis_url`` (default ``VETTIFY_REDIS_URL``): the Redis the model application's feature store uses, which
    erasure must reach too.
    """
    from infra.settings import Settings

    settings = Settings()
    database_url = args.get("database_url") or settings.database_url
    if not database_url:
        raise ValueError("the CRM application needs a database: args.database_url or VETTIFY_DATABASE_URL")
    return CrmIngress.bind(  # type: ignore[attr-defined]
        database_url,
        args.get("worker_database_url") or settings.worker_database_url,
        bool(args.get("consumes_events", True)),
        args.get("redis_url"),
    )
