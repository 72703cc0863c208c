"""Whether a node's fronts (HTTP and gRPC) route to the model application yet.

Serve reports an application RUNNING before every front can reach it: each node's proxy, or its HAProxy, learns
the routes from the controller afterwards (a long poll; HAProxy then reloads its configuration), and a node's
front starts only once a replica landed there. Until then HTTP answers 404 or 503 and gRPC ``NOT_FOUND`` or
``UNAVAILABLE``. :func:`wait_routed` polls both fronts with requests that reach the gateway without running a
model, so ``vettify up`` says "models ready" only when a client would be answered, and an operator (or a test)
can wait for a joined node the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc
import httpx

from protos import inference_pb2 as pb
from protos.inference_pb2_grpc import AnalyticsStub

NOT_ROUTED = frozenset(
    {
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    }
)
"""The codes of a front with no route for the application (or no answer in time)."""


def http_not_routed(base: str, *, timeout_s: float = 5.0) -> str | None:
    """Why ``GET {base}/readyz`` did not reach the gateway, or None when it did (ready or not)."""
    try:
        response = httpx.get(f"{base}/readyz", timeout=timeout_s)
    except httpx.HTTPError as exc:
        return f"HTTP {base}: {type(exc).__name__}: {exc}"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "ready" in body:  # the gateway's own answer, 200 or 503
        return None
    return f"HTTP {base}/readyz: {response.status_code} {response.text[:200]!r}"


def grpc_not_routed(target: str, app: str, *, timeout_s: float = 5.0) -> str | None:
    """Why an empty ``Sentiment`` call to ``target`` did not reach the gateway, or None when it did.

    The empty request is answered by the gateway (OK or INVALID_ARGUMENT) without a model pass; only the codes a
    front gives when it has no route for ``app`` count as "not routed".
    """
    with grpc.insecure_channel(target) as channel:
        try:
            AnalyticsStub(channel).Sentiment(  # type: ignore[no-untyped-call]
                pb.SentimentRequest(texts=[]), metadata=(("application", app),), timeout=timeout_s
            )
        except grpc.RpcError as exc:
            code = exc.code()
            if code in NOT_ROUTED:
                return f"gRPC {target}: {code.name} {exc.details()}"
    return None


def wait_routed(
    http_base: str,
    grpc_target: str,
    app: str,
    *,
    timeout_s: float = 60.0,
    interval_s: float = 0.5,
    cancelled: Callable[[], bool] = lambda: False,
) -> str | None:
    """Poll both fronts until each reaches ``app``'s gateway; None then, else the last reason at ``timeout_s``
    (or as soon as ``cancelled()`` is true: Ctrl-C while ``vettify up`` waits)."""
    deadline = time.monotonic() + timeout_s
    while True:
        reason = http_not_routed(http_base) or grpc_not_routed(grpc_target, app)
        if reason is None or time.monotonic() >= deadline or cancelled():
            return reason
        time.sleep(interval_s)
