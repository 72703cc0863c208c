"""Ray Serve settings the engine runs with: environment variables Ray reads when its processes start.

``RAY_SERVE_PROXY_USE_GRPC=1``: Serve's proxy hands each request to the ingress replica over the replica's
gRPC server instead of through Ray object references (put, get and the replica's calls back for the body).
Measured with ``python -m benchmarks.serve_models --proxy-transport-ab``
(``benchmarks/results/serve_models_proxy_transport.json``): the proxy's CPU per answer fell in three of
four model/protocol pairs, and its share of the gateway's (the same model work) fell or held in all four;
throughput moved within the machine's drift.

``RAY_SERVE_REPLICA_GRPC_MAX_MESSAGE_LENGTH``: that gRPC server refuses messages over 4 MB by default, and a
request body crosses it whole: a voice or video upload may be 50 MB (:data:`serve.model_calls.MAX_AUDIO_BYTES`).

The request path's own settings, four of those Ray's ``RAY_SERVE_THROUGHPUT_OPTIMIZED`` mode sets (its direct
ingress stays opt-in: :mod:`serve.direct_ingress`). By default every request crosses two threads' event loops
in the proxy (uvicorn's, then the router's) and two in each replica (Ray's, then the user code's), and each
access-log record is written through to its file at once and again to stderr:

- ``RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD=0``: a replica runs the deployment's code on its main event loop.
  Nothing of the engine's blocks that loop for long: model passes run in their inference threads
  (:mod:`models.runtime`), pricing, summaries and the marketing models in worker threads, database and bus
  calls are asyncio;
- ``RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP=0``: the proxy, and a replica calling a deployment handle, route on
  the caller's loop;
- ``RAY_SERVE_REQUEST_PATH_LOG_BUFFER_SIZE=1000``: Serve's access-log records are written in batches of
  1,000 (an error record flushes at once);
- ``RAY_SERVE_LOG_TO_STDERR=0``: Serve's records go to its files under Ray's ``logs/serve`` only; with
  ``log_to_driver=False`` stderr was a second copy in the worker's own log file.

Measured with ``python -m benchmarks.serve_models --request-path-ab``
(``benchmarks/results/serve_models_request_path.json``).

:func:`configure` sets each variable unless the environment already has it (an operator's choice wins), before
:func:`serve.application.start_serve` starts Ray. On a cluster every node's environment needs them
(``cluster/kuberay/rayservice.yaml`` sets them in each container).
"""

from __future__ import annotations

import os

MAX_REQUEST_MESSAGE_BYTES = 64 << 20  # a 50 MB upload plus its envelope

SERVE_ENVIRONMENT = {
    "RAY_SERVE_PROXY_USE_GRPC": "1",
    "RAY_SERVE_REPLICA_GRPC_MAX_MESSAGE_LENGTH": str(MAX_REQUEST_MESSAGE_BYTES),
    "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0",
    "RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP": "0",
    "RAY_SERVE_REQUEST_PATH_LOG_BUFFER_SIZE": "1000",
    "RAY_SERVE_LOG_TO_STDERR": "0",
}
REQUEST_PATH_RAY_DEFAULTS = {
    "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "1",
    "RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP": "1",
    "RAY_SERVE_REQUEST_PATH_LOG_BUFFER_SIZE": "1",
    "RAY_SERVE_LOG_TO_STDERR": "1",
}
"""Ray's own values for the request path's settings (what the benchmark's A/B compares against)."""


def configure() -> dict[str, str]:
    """Put the engine's Serve settings in this process's environment (inherited by the Ray it starts);
    the values in effect."""
    for name, value in SERVE_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    return {name: os.environ[name] for name in SERVE_ENVIRONMENT}
