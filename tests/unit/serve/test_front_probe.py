"""The front probe against real local servers: an HTTP server and a gRPC server that route only after a while."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import pytest

from protos import inference_pb2 as pb
from protos.inference_pb2_grpc import AnalyticsServicer, add_AnalyticsServicer_to_server
from serve.front_probe import grpc_not_routed, http_not_routed, wait_routed


@dataclass
class Front:
    """Answers like a front that has no route for the first ``unrouted`` requests of each protocol."""

    unrouted: int
    http_seen: int = 0
    grpc_seen: int = 0
    grpc_apps: list[str] = field(default_factory=list)


class _Analytics(AnalyticsServicer):
    def __init__(self, front: Front) -> None:
        self.front = front

    def Sentiment(self, request: pb.SentimentRequest, context: Any) -> pb.SentimentResponse:
        self.front.grpc_seen += 1
        self.front.grpc_apps.append(dict(context.invocation_metadata()).get("application", ""))
        if self.front.grpc_seen <= self.front.unrouted:
            context.abort(grpc.StatusCode.NOT_FOUND, "Application 'vettify' not found.")
        if not request.texts:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "texts: at least one text")
        return pb.SentimentResponse()


@pytest.fixture
def fronts(request: pytest.FixtureRequest) -> Iterator[tuple[str, str, Front]]:
    front = Front(unrouted=request.param)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            front.http_seen += 1
            if front.http_seen <= front.unrouted:
                body, status, kind = b"Path '/readyz' not found.", 404, "text/plain"
            else:
                body, status, kind = json.dumps({"ready": False, "models": {}}).encode(), 503, "application/json"
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    add_AnalyticsServicer_to_server(_Analytics(front), server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"http://127.0.0.1:{http.server_address[1]}", f"127.0.0.1:{port}", front
    finally:
        server.stop(None)
        http.shutdown()
        http.server_close()


@pytest.mark.parametrize("fronts", [2], indirect=True)
def test_unrouted_fronts_are_named_then_waited_for(fronts: tuple[str, str, Front]) -> None:
    http, target, front = fronts
    assert "404" in (http_not_routed(http) or "")
    assert "NOT_FOUND" in (grpc_not_routed(target, "vettify") or "")
    assert wait_routed(http, target, "vettify", timeout_s=10, interval_s=0.05) is None
    assert front.grpc_apps and set(front.grpc_apps) == {"vettify"}


@pytest.mark.parametrize("fronts", [0], indirect=True)
def test_a_gateway_answer_counts_as_routed_even_when_not_ready_or_invalid(fronts: tuple[str, str, Front]) -> None:
    http, target, _ = fronts
    assert http_not_routed(http) is None  # 503 from the gateway itself: routed, not ready
    assert grpc_not_routed(target, "vettify") is None  # INVALID_ARGUMENT for the empty probe: routed


@pytest.mark.parametrize("fronts", [1_000], indirect=True)
def test_the_last_reason_is_returned_at_the_deadline(fronts: tuple[str, str, Front]) -> None:
    http, target, _ = fronts
    reason = wait_routed(http, target, "vettify", timeout_s=0.3, interval_s=0.05)
    assert reason is not None and reason.startswith("HTTP ") and "404" in reason


@pytest.mark.parametrize("fronts", [1_000], indirect=True)
def test_cancelling_stops_the_wait_at_once(fronts: tuple[str, str, Front]) -> None:
    http, target, front = fronts
    reason = wait_routed(http, target, "vettify", timeout_s=60, interval_s=0.05, cancelled=lambda: True)
    assert reason is not None and front.http_seen == 1


def test_nothing_listening_is_not_routed() -> None:
    from infra.net import free_port

    port = free_port()
    assert (http_not_routed(f"http://127.0.0.1:{port}", timeout_s=1) or "").startswith("HTTP ")
    assert "UNAVAILABLE" in (grpc_not_routed(f"127.0.0.1:{port}", "vettify", timeout_s=1) or "")
