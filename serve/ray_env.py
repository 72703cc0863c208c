"""Ray Serve settings the engine runs with: environment variables Ray reads when its processes start.

``RAY_SERVE_PROXY_USE_GRPC=1``: Serve's proxy hands each request to the ingress replica over the replica's
gRPC server instead of through Ray object references (put, get and the replica's calls back for the body).
Measured with ``python -m benchmarks.serve_models --proxy-transport-ab``
(``benchmarks/results/serve_models_proxy_transport.json``): the proxy's CPU per answer fell in three of
four model/protocol pairs, and its share of the gateway's (the same model work) fell or held in all four;
throughput moved within the machine's drift.

``RAY_SERVE_REPLICA_GRPC_MAX_MESSAGE_LENGTH``: that gRPC server refuses messages over 4 MB by default, and a
request body crosses it whole: a voice or video upload may be 50 MB (:data:`serve.model_calls.MAX_AUDIO_BYTES`).

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
}


def configure() -> dict[str, str]:
    """Put the engine's Serve settings in this process's environment (inherited by the Ray it starts);
    the values in effect."""
    for name, value in SERVE_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    return {name: os.environ[name] for name in SERVE_ENVIRONMENT}
