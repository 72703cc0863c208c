"""End-to-end tracing: OpenTelemetry spans joined by W3C trace context, exported over OTLP.

Off unless ``VETTIFY_OTLP_ENDPOINT`` is set: then nothing here creates a span, and :func:`is_on` is a module
flag read before any work. On, one trace follows a request or an event across processes:

* **ingress**: Ray Serve's proxy reads ``traceparent`` from HTTP headers and gRPC metadata (or starts a
  trace), and its handles carry the context to every replica they call (``serve.start(tracing_config=…)``
  with :data:`SERVE_EXPORTER`, which sets up each proxy and replica through :func:`serve_span_processors`);
  the apps' :class:`~infra.http.tracing.TracingMiddleware` adds the route's span and answers ``traceparent``;
* **model passes**: :class:`~infra.batching.MicroBatcher` runs each batch in a span that is a child of its
  first traced caller and links to every caller (``batch.size`` as an attribute);
* **PostgreSQL**: asyncpg statements (OpenTelemetry's asyncpg instrumentation), as children of what runs them;
  statements outside any trace (polling loops) are not exported;
* **events**: :func:`infra.events.outbox.enqueue` stores the writer's ``traceparent`` on the outbox row; the
  relay publishes under a span continuing it and sends ``traceparent`` as a message header; consumers
  (:mod:`infra.events.rabbitmq`, the Kafka source) continue the trace in the span that processes it.

The exporter sends OTLP over HTTP with JSON bodies (``opentelemetry-exporter-otlp-json-http``): it needs no
protobuf beyond the 4.25 that the gRPC stack pins. ``VETTIFY_TRACE_SAMPLE_RATIO`` samples new traces; a
caller's sampled ``traceparent`` is always honoured.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace import Span as SdkSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Link, NonRecordingSpan, Span, SpanContext, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
ENDPOINT_ENV = "VETTIFY_OTLP_ENDPOINT"
RATIO_ENV = "VETTIFY_TRACE_SAMPLE_RATIO"
SERVICE_NAME = "vettify"
SERVE_EXPORTER = "infra.tracing:serve_span_processors"
"""``TracingConfig.exporter_import_path``: Serve calls it in each proxy and replica it starts."""

_PROPAGATOR = TraceContextTextMapPropagator()


class _State:
    on = False  # set once per process by configure() or Serve's exporter hook


def is_on() -> bool:
    """Whether this process records spans (a tracer provider with an exporter was set up here)."""
    return _State.on


def tracer() -> trace.Tracer:
    return trace.get_tracer(SERVICE_NAME)


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL for a collector base URL (``http://collector:4318``) or the full URL."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"


class _DropUntracedStatements(SpanProcessor):
    """Forwards finished spans, except database statements that started a trace of their own.

    Polling loops (the outbox relay, the optimiser, retention) run statements outside any request; exported,
    each poll would be a one-span trace. A statement inside a request or an event is kept.
    """

    def __init__(self, inner: SpanProcessor) -> None:
        self.inner = inner

    def on_start(self, span: SdkSpan, parent_context: Context | None = None) -> None:
        self.inner.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        if span.parent is None and (span.attributes or {}).get("db.system") is not None:
            return
        self.inner.on_end(span)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def exporting(exporter: SpanExporter, *, batched: bool = True) -> list[SpanProcessor]:
    """The span processors that send finished spans to ``exporter`` (batched in the background by default)."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    inner: SpanProcessor = (
        BatchSpanProcessor(exporter, schedule_delay_millis=500) if batched else SimpleSpanProcessor(exporter)
    )
    return [_DropUntracedStatements(inner)]


def otlp_exporter(endpoint: str) -> SpanExporter:
    from opentelemetry.exporter.otlp.json.http import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=traces_url(endpoint), timeout=10)


def serve_span_processors() -> list[SpanProcessor]:
    """Ray Serve's exporter hook: called once in each proxy and replica, before Serve sets its tracer provider.

    It reads the collector from ``VETTIFY_OTLP_ENDPOINT`` in that process's environment (``vettify up`` puts it
    there; on a cluster, the RayService's container env).
    """
    os.environ.setdefault("OTEL_SERVICE_NAME", SERVICE_NAME)  # read when Serve creates the provider's resource
    endpoint = os.environ.get(ENDPOINT_ENV)
    if not endpoint:
        return []
    _activate()
    return exporting(otlp_exporter(endpoint))


def configure(
    *,
    endpoint: str | None = None,
    exporter: SpanExporter | None = None,
    sample_ratio: float = 1.0,
    batched: bool = True,
) -> TracerProvider | None:
    """Tracing in a process that Serve does not set up (tests, command-line jobs); None when there is no sink.

    The process's tracer provider can be set once; a second call adds nothing and returns None.
    """
    if exporter is None and endpoint:
        exporter = otlp_exporter(endpoint)
    if exporter is None or _State.on:
        return None
    from opentelemetry.sdk.resources import Resource

    provider = TracerProvider(
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)), resource=Resource.create({"service.name": SERVICE_NAME})
    )
    for processor in exporting(exporter, batched=batched):
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    _activate()
    return provider


def _activate() -> None:
    if _State.on:
        return
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    instrumentor = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()
    _State.on = True


def carrier(context: Context | None = None) -> dict[str, str]:
    """The current (or given) trace context as W3C headers; empty when tracing is off or there is no span."""
    headers: dict[str, str] = {}
    if _State.on:
        _PROPAGATOR.inject(headers, context)
    return headers


def current_traceparent() -> str | None:
    """The current span's ``traceparent`` (what the outbox stores with an event), or None."""
    return carrier().get(TRACEPARENT) if _State.on else None


def context_from(headers: Mapping[str, Any] | None) -> Context | None:
    """The trace context in message or request headers (str or bytes values), or None when there is none."""
    if not _State.on or not headers:
        return None
    value = headers.get(TRACEPARENT)
    if isinstance(value, bytes | bytearray):
        value = value.decode("latin-1")
    if not isinstance(value, str) or not value:
        return None
    context = _PROPAGATOR.extract({TRACEPARENT: value})
    return context if trace.get_current_span(context).get_span_context().is_valid else None


def ingress_parent(headers: Mapping[str, Any] | None) -> Context | None:
    """The parent of an ingress server span: the caller's ``traceparent`` (:func:`context_from`), or the span
    that is current here when it is recording and continues that same trace.

    Behind Serve's proxy no such span is current in the app's code. With direct ingress (and so HAProxy mode) the
    replica itself opens ``replica_handle_request`` under the caller's context and runs the app inside it; a
    server span parented on the header would then be its sibling, and the trace two trees.
    """
    context = context_from(headers)
    if context is None:
        return None
    active = trace.get_current_span()
    caller = trace.get_current_span(context).get_span_context()
    if active.is_recording() and active.get_span_context().trace_id == caller.trace_id:
        return None  # the current context: the span Serve opened for this request
    return context


def current_span_context() -> SpanContext | None:
    """The current span's context when tracing is on and a span is active (a batch links to it)."""
    if not _State.on:
        return None
    context = trace.get_current_span().get_span_context()
    return context if context.is_valid else None


@contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: Context | None = None,
    links: Sequence[Link] = (),
    attributes: Mapping[str, str | int | float | bool] | None = None,
) -> Iterator[Span | None]:
    """A span around a block, current inside it; ``parent`` continues a context from elsewhere. Off: None."""
    if not _State.on:
        yield None
        return
    with tracer().start_as_current_span(
        name, context=parent, kind=kind, links=links, attributes=dict(attributes or {})
    ) as current:
        yield current


@contextmanager
def batch_span(
    name: str, callers: Sequence[SpanContext], attributes: Mapping[str, str | int | float | bool]
) -> Iterator[Span | None]:
    """One pass over many callers' items: a child of the first sampled caller, linked to every caller.

    A span has one parent; the links let a tracing UI go from any caller's trace to the pass it shared.
    """
    if not _State.on or not callers:
        yield None
        return
    first = next((c for c in callers if c.trace_flags.sampled), callers[0])
    parent = trace.set_span_in_context(NonRecordingSpan(first))
    links = [Link(c, {"caller": i}) for i, c in enumerate(callers)]
    with tracer().start_as_current_span(name, context=parent, links=links, attributes=dict(attributes)) as current:
        yield current
