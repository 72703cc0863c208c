"""A small OTLP/HTTP (JSON) trace receiver for the tests: what an OpenTelemetry collector would get.

It answers ``POST /v1/traces`` like a collector does and keeps every span it was sent, so a test can check
that spans exported by several processes (Serve's proxy, replicas, the CRM's relay) form one trace.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class ReceivedSpan:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: int
    attributes: dict[str, Any]
    links: list[tuple[str, str]] = field(default_factory=list)  # (trace id, span id)
    service: str = ""


def _value(raw: dict[str, Any]) -> Any:
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in raw:
            return raw[key]
    if "intValue" in raw:
        return int(raw["intValue"])
    if "arrayValue" in raw:
        return [_value(v) for v in raw["arrayValue"].get("values", [])]
    return None


def _attributes(raw: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {a["key"]: _value(a.get("value", {})) for a in raw or []}


def parse(body: dict[str, Any]) -> list[ReceivedSpan]:
    """The spans of one ``ExportTraceServiceRequest`` in OTLP's JSON encoding (ids as hex strings)."""
    spans = []
    for resource_spans in body.get("resourceSpans", []):
        service = str(_attributes(resource_spans.get("resource", {}).get("attributes")).get("service.name", ""))
        for scope_spans in resource_spans.get("scopeSpans", []):
            for s in scope_spans.get("spans", []):
                spans.append(
                    ReceivedSpan(
                        trace_id=s["traceId"].lower(),
                        span_id=s["spanId"].lower(),
                        parent_id=(s.get("parentSpanId") or "").lower() or None,
                        name=s["name"],
                        kind=int(s.get("kind", 0)) if str(s.get("kind", 0)).isdigit() else 0,
                        attributes=_attributes(s.get("attributes")),
                        links=[(ln["traceId"].lower(), ln["spanId"].lower()) for ln in s.get("links", [])],
                        service=service,
                    )
                )
    return spans


class OtlpCollector:
    """Receives OTLP/HTTP JSON on 127.0.0.1 in a thread; ``url`` is what ``VETTIFY_OTLP_ENDPOINT`` takes."""

    def __init__(self) -> None:
        self._spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()
        self.requests = 0
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                if self.headers.get("content-encoding") == "gzip":
                    raw = gzip.decompress(raw)
                if self.path.rstrip("/") != "/v1/traces":
                    self.send_response(404)
                    self.end_headers()
                    return
                spans = parse(json.loads(raw or b"{}"))
                with collector._lock:
                    collector._spans.extend(spans)
                    collector.requests += 1
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-collector", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> OtlpCollector:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def spans(self, trace_id: str | None = None) -> list[ReceivedSpan]:
        with self._lock:
            return [s for s in self._spans if trace_id is None or s.trace_id == trace_id]

    def wait_for(
        self, trace_id: str, done: Callable[[list[ReceivedSpan]], bool], timeout_s: float = 30.0
    ) -> list[ReceivedSpan]:
        """The trace's spans once ``done(spans)`` holds (exporters send in the background); the last seen if not."""
        deadline = time.monotonic() + timeout_s
        spans = self.spans(trace_id)
        while not done(spans) and time.monotonic() < deadline:
            time.sleep(0.2)
            spans = self.spans(trace_id)
        return spans


def ancestry(spans: list[ReceivedSpan], span: ReceivedSpan) -> Iterator[ReceivedSpan]:
    """``span``'s parents up to the root, as far as they were received."""
    by_id = {s.span_id: s for s in spans}
    current: ReceivedSpan | None = span
    while current is not None and current.parent_id is not None:
        current = by_id.get(current.parent_id)
        if current is not None:
            yield current


def is_connected(spans: list[ReceivedSpan], caller: str | None = None) -> bool:
    """One tree: exactly one span without a received parent, and every other span's parent was received.

    With ``caller`` (the client's span id from its ``traceparent``), the root must be the child of that span:
    a process exports its spans in batches, so without it a subtree that arrived before its server span would
    pass for the whole trace.
    """
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if s.parent_id is None or s.parent_id not in ids]
    return len(roots) == 1 and (caller is None or roots[0].parent_id == caller)
