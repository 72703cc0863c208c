"""TracingMiddleware: a server span per request continuing the caller's traceparent, named by its route, and the
span's traceparent in the answer; nothing while tracing is off."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.trace import SpanKind, StatusCode

from infra import tracing
from infra.http.correlation import CorrelationIdMiddleware
from infra.http.tracing import FASTAPI_TELEMETRY, TracingMiddleware, _full_route
from tests.conftest import SPANS

TRACE = "0af7651916cd43dd8448eb211c80319c"
SAMPLED = f"00-{TRACE}-b7ad6b7169203331-01"


def app() -> FastAPI:
    api = FastAPI(telemetry=FASTAPI_TELEMETRY)
    api.add_middleware(CorrelationIdMiddleware)
    api.add_middleware(TracingMiddleware, service="test")

    @api.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, object]:
        return {"id": item_id, "traceparent": tracing.current_traceparent()}

    @api.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    return api


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    SPANS.clear()
    yield
    SPANS.clear()


def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_a_request_continues_the_callers_trace_and_answers_its_span() -> None:
    async with client() as http:
        answer = await http.get("/items/7", headers={"traceparent": SAMPLED, "x-corr-id": "corr-1"})
    assert answer.status_code == 200
    (span,) = SPANS.get_finished_spans()
    span_id = format(span.context.span_id, "016x")
    assert answer.headers["traceparent"] == f"00-{TRACE}-{span_id}-01"
    assert answer.json()["traceparent"] == answer.headers["traceparent"]  # the route ran inside the span
    assert span.name == "GET /items/{item_id}" and span.kind is SpanKind.SERVER
    assert span.parent is not None and format(span.parent.span_id, "016x") == "b7ad6b7169203331"
    attributes = dict(span.attributes or {})
    assert attributes["http.route"] == "/items/{item_id}"
    assert attributes["http.response.status_code"] == 200
    assert attributes["url.path"] == "/items/7"
    assert attributes["vettify.corr_id"] == "corr-1"


async def test_a_server_error_marks_the_span() -> None:
    async with client() as http:
        answer = await http.get("/boom", headers={"traceparent": SAMPLED})
    assert answer.status_code == 500
    (span,) = SPANS.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert format(span.context.trace_id, "032x") == TRACE
    assert any(event.name == "exception" for event in span.events)  # the error, for whoever reads the trace


async def test_without_a_traceparent_a_trace_is_started_and_named() -> None:
    async with client() as http:
        answer = await http.get("/items/1")
    traceparent = answer.headers["traceparent"]
    assert len(traceparent.split("-")[1]) == 32 and TRACE not in traceparent
    assert SPANS.get_finished_spans() == ()  # the suite samples no new trace


async def test_off_the_request_passes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracing._State, "on", False)
    async with client() as http:
        answer = await http.get("/items/3", headers={"traceparent": SAMPLED})
    assert "traceparent" not in answer.headers
    assert answer.json() == {"id": 3, "traceparent": None}
    assert SPANS.get_finished_spans() == ()


@pytest.mark.parametrize(
    ("path", "template", "route"),
    [
        ("/v1/crm/leads/3", "/leads/{lead_id}", "/v1/crm/leads/{lead_id}"),  # an included router's own part
        ("/v1/events", "/v1/events", "/v1/events"),
        ("/", "/", "/"),
        ("/media/a/b.wav", "/media/{file:path}", "/media/{file:path}"),
    ],
)
def test_a_route_is_named_with_the_prefix_it_was_reached_under(path: str, template: str, route: str) -> None:
    assert _full_route(path, template) == route
