"""infra.tracing: W3C context in and out, the batch span's parent and links, untraced statements not exported,
the outbox relay's publish span, and nothing at all while tracing is off."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from infra import tracing
from infra.batching import MicroBatcher
from infra.events.relay import publish_span
from tests.conftest import SPANS

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
SAMPLED = f"00-{TRACE}-{CLIENT_SPAN}-01"


def spans_of(trace_id: str) -> list[ReadableSpan]:
    return [s for s in SPANS.get_finished_spans() if format(s.context.trace_id, "032x") == trace_id]


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    SPANS.clear()
    yield
    SPANS.clear()


@pytest.fixture
def off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracing._State, "on", False)


def test_the_collector_url_gets_the_traces_path_once() -> None:
    assert tracing.traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert tracing.traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert tracing.traces_url("http://c:4318/v1/traces") == "http://c:4318/v1/traces"


def test_a_sampled_traceparent_is_continued_and_handed_on() -> None:
    parent = tracing.context_from({"traceparent": SAMPLED.encode()})  # message headers may hold bytes
    assert parent is not None
    with tracing.span("work", parent=parent) as span:
        assert span is not None
        out = tracing.current_traceparent()
        assert out is not None and out.startswith(f"00-{TRACE}-") and out.endswith("-01")
        assert tracing.carrier() == {"traceparent": out}
    (work,) = spans_of(TRACE)
    assert work.parent is not None and format(work.parent.span_id, "016x") == CLIENT_SPAN


def test_an_ingress_span_hangs_under_the_span_serve_opened_for_the_same_trace() -> None:
    """Direct ingress (HAProxy mode): the replica opens its span under the caller's context and runs the app in it;
    the engine's server span must be that span's child, not its sibling, so the trace stays one tree."""
    headers = {"traceparent": SAMPLED}
    assert tracing.ingress_parent(headers) is not None  # nothing current: the caller's context
    with (
        tracing.span("replica_handle_request", parent=tracing.context_from(headers)),
        tracing.span("POST /v1/sentiment", kind=SpanKind.SERVER, parent=tracing.ingress_parent(headers)),
    ):
        pass  # the second span's parent is read once the first is current
    with tracing.span("another trace's work"):  # a current span of another trace is not the caller's
        assert tracing.ingress_parent(headers) is not None
    assert tracing.ingress_parent({}) is None
    spans = {s.name: s for s in spans_of(TRACE)}
    replica, server = spans["replica_handle_request"], spans["POST /v1/sentiment"]
    assert replica.parent is not None and format(replica.parent.span_id, "016x") == CLIENT_SPAN
    assert server.parent is not None and server.parent.span_id == replica.context.span_id


@pytest.mark.parametrize("value", [None, "", "not-a-traceparent", f"00-{'0' * 32}-{CLIENT_SPAN}-01", 7])
def test_a_missing_or_invalid_traceparent_gives_no_context(value: Any) -> None:
    assert tracing.context_from({"traceparent": value}) is None
    assert tracing.context_from(None) is None


def test_new_traces_follow_the_sample_ratio() -> None:
    """The suite samples no new trace (ratio 0): a root span records nothing, yet its context still travels."""
    with tracing.span("root") as span:
        assert span is not None and not span.is_recording()
        traceparent = tracing.current_traceparent()
        assert traceparent is not None and int(traceparent[-2:], 16) & 1 == 0  # the sampled bit is clear
    assert SPANS.get_finished_spans() == ()


def test_off_nothing_is_made(off: None) -> None:
    assert not tracing.is_on()
    with tracing.span("work", parent=None) as span:
        assert span is None
        assert tracing.current_traceparent() is None
        assert tracing.carrier() == {}
        assert tracing.current_span_context() is None
    assert tracing.context_from({"traceparent": SAMPLED}) is None
    with tracing.batch_span("pass", [], {"batch.size": 1}) as batch:
        assert batch is None


async def test_a_batch_is_a_child_of_its_first_caller_and_links_to_all() -> None:
    sizes: list[int] = []

    async def run(items: list[int]) -> list[int]:
        sizes.append(len(items))
        await asyncio.sleep(0)
        return [i * 2 for i in items]

    batcher: MicroBatcher[int, int] = MicroBatcher(run, max_size=8, max_wait_s=0.01, trace_name="double pass")
    parent = tracing.context_from({"traceparent": SAMPLED})

    async def caller(i: int) -> int:
        with tracing.span(f"caller {i}", parent=parent):
            return await batcher.submit(i)

    assert await asyncio.gather(*(caller(i) for i in range(3))) == [0, 2, 4]
    assert sizes == [3]
    spans = spans_of(TRACE)
    callers = {s.name: s for s in spans if s.name.startswith("caller")}
    (batch,) = [s for s in spans if s.name == "double pass"]
    assert batch.attributes is not None and batch.attributes["batch.size"] == 3
    assert batch.attributes["batch.callers"] == 3
    assert {link.context.span_id for link in batch.links} == {s.context.span_id for s in callers.values()}
    assert batch.parent is not None and batch.parent.span_id == callers["caller 0"].context.span_id


async def test_untraced_callers_cost_the_batch_no_span(off: None) -> None:
    async def run(items: list[int]) -> list[int]:
        return items

    batcher: MicroBatcher[int, int] = MicroBatcher(run, max_size=4, max_wait_s=0.0)
    assert await asyncio.gather(*(batcher.submit(i) for i in range(4))) == [0, 1, 2, 3]
    assert batcher._callers == {}
    assert SPANS.get_finished_spans() == ()


async def test_an_abandoned_caller_is_forgotten_with_its_span() -> None:
    started = asyncio.Event()
    release = asyncio.Event()

    async def run(items: list[int]) -> list[int]:
        started.set()
        await release.wait()
        return items

    batcher: MicroBatcher[int, int] = MicroBatcher(run, max_size=1, max_wait_s=0.0, max_in_flight=1)
    parent = tracing.context_from({"traceparent": SAMPLED})
    with tracing.span("caller", parent=parent):
        first = asyncio.ensure_future(batcher.submit(1))
        await started.wait()
        waiting = asyncio.ensure_future(batcher.submit(2))
        await asyncio.sleep(0)
    waiting.cancel()
    release.set()
    assert await first == 1
    assert batcher._callers == {}


def _exported(spans: list[ReadableSpan], processor_factory: Any) -> list[str]:
    exporter = InMemorySpanExporter()
    (processor,) = processor_factory(exporter)
    for span in spans:
        processor.on_end(span)
    return [s.name for s in exporter.get_finished_spans()]


def test_statements_outside_any_trace_are_not_exported() -> None:
    provider = TracerProvider()
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    local = provider.get_tracer("t")
    with local.start_as_current_span("poll", attributes={"db.system": "postgresql"}):
        pass
    with local.start_as_current_span("request"), local.start_as_current_span("SELECT", attributes={"db.system": "pg"}):
        pass
    finished = list(memory.get_finished_spans())
    assert [s.name for s in finished] == ["poll", "SELECT", "request"]
    kept = _exported(finished, lambda e: tracing.exporting(e, batched=False))
    assert kept == ["SELECT", "request"]


def _row(traceparent: str | None) -> dict[str, Any]:
    return {"traceparent": traceparent, "event_type": "crm.account.created", "id": uuid.uuid4(), "tid": "t1"}


def test_the_relay_publishes_under_the_writers_trace() -> None:
    with publish_span(_row(SAMPLED)):  # type: ignore[arg-type]
        headers = tracing.carrier()
    (publish,) = spans_of(TRACE)
    assert publish.name == "publish crm.account.created" and publish.kind is SpanKind.PRODUCER
    assert publish.parent is not None and format(publish.parent.span_id, "016x") == CLIENT_SPAN
    assert headers["traceparent"] == f"00-{TRACE}-{format(publish.context.span_id, '016x')}-01"


def test_an_untraced_row_is_published_without_a_span() -> None:
    with publish_span(_row(None)):  # type: ignore[arg-type]
        assert not trace.get_current_span().get_span_context().is_valid
    assert SPANS.get_finished_spans() == ()
