"""The dashboard as its own Ray Serve application, under ``/dashboard`` on the same HTTP proxy.

Same origin as the APIs the page calls; a separate application, like the CRM's, so the page and its live
stream are up in seconds and no model outage touches them. Serve strips ``/dashboard`` before routing
and passes it as the ASGI ``root_path``, which the page uses for its own links.
"""

from __future__ import annotations

from typing import Any

from ray import serve

from serve import grpc_reuseport

ROUTE_PREFIX = "/dashboard"
APP_NAME = "dashboard"


@serve.deployment(
    name="Dashboard",
    # No CPU reserved: an I/O-bound coroutine server (streams wait on LISTEN); the model replicas hold the
    # CPU budget (2 CPUs here are fully allotted), and a reservation would keep one of them from starting.
    ray_actor_options={"num_cpus": 0},
    max_ongoing_requests=1000,  # mostly live streams, each an idle coroutine between events
    health_check_period_s=10,
    graceful_shutdown_timeout_s=5,
)
@serve.ingress()
class DashboardIngress:
    def __init__(self, database_url: str) -> None:
        grpc_reuseport.apply()  # before Serve starts this replica's direct gRPC server
        self.database_url = database_url

    def __serve_build_asgi_app__(self) -> Any:
        from dashboard.app import create_app
        from infra.settings import Settings

        return create_app(Settings(), database_url=self.database_url)


def build_dashboard(args: dict[str, Any]) -> Any:
    """Serve application builder (``import_path: serve.dashboard_app:build_dashboard``); the DSN comes from
    ``args.database_url`` or ``VETTIFY_DATABASE_URL``."""
    from infra.settings import Settings

    database_url = args.get("database_url") or Settings().database_url
    if not database_url:
        raise ValueError("the dashboard needs the engine's database: args.database_url or VETTIFY_DATABASE_URL")
    return DashboardIngress.bind(database_url)  # type: ignore[attr-defined]
