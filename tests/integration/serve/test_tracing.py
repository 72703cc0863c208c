"""Traces across the Serve stack's processes, as an OpenTelemetry collector receives them (OTLP/HTTP JSON).

The session's stack runs with tracing on and samples only requests that send a sampled ``traceparent``
(tests/integration/conftest.py). Each test sends one and checks that the spans exported by the gateway, the
Streams and model replicas and the CRM's relay form one connected trace.
"""

from __future__ import annotations

import uuid

import grpc
import httpx
import pytest

from infra.security import mint_token
from protos import inference_pb2 as pb
from protos import inference_pb2_grpc as pb_grpc
from tests.integration.conftest import ServeStack
from tests.support.otlp_collector import ReceivedSpan, ancestry, is_connected

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVER, PRODUCER = 2, 4  # OTLP span kinds


def traceparent() -> tuple[str, str, str]:
    """A sampled client trace: its id, the client's span id (the root's parent) and the header."""
    trace_id, client_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    return trace_id, client_span, f"00-{trace_id}-{client_span}-01"


def named(spans: list[ReceivedSpan], name: str) -> list[ReceivedSpan]:
    return [s for s in spans if s.name == name]


def statements(spans: list[ReceivedSpan], needle: str) -> list[ReceivedSpan]:
    return [s for s in spans if needle in str(s.attributes.get("db.statement", ""))]


def test_an_event_posted_to_the_gateway_is_one_trace_through_every_process(serve_stack: ServeStack) -> None:
    trace_id, client_span, header = traceparent()
    tenant = {"tid": f"t-{uuid.uuid4().hex[:8]}", "mid": "m-1"}
    token = mint_token(serve_stack.settings, sub="producer", scopes=("events:write",), **tenant)
    event = {
        "type": "social.twitter.mention",
        **tenant,
        "payload": {"post_id": "p-1", "brand": "acme", "text": "The support team fixed it in minutes, great!"},
    }
    answer = httpx.post(
        f"{serve_stack.http}/v1/events",
        json=event,
        headers={"authorization": f"Bearer {token}", "traceparent": header},
        timeout=120,
    )
    assert answer.status_code == 202 and answer.json()["stored"] == 1, answer.text
    assert answer.headers["traceparent"].startswith(f"00-{trace_id}-")

    def complete(spans: list[ReceivedSpan]) -> bool:
        return bool(named(spans, "publish crm.sentiment.detected")) and bool(named(spans, "SentimentService pass"))

    # Each process exports in its own batches: wait until every span's parent has arrived too.
    spans = serve_stack.collector.wait_for(
        trace_id, lambda s: complete(s) and is_connected(s, client_span), timeout_s=60
    )
    names = sorted({s.name for s in spans})
    assert complete(spans), names
    assert is_connected(spans, client_span), names

    (server,) = named(spans, "POST /v1/events")
    assert server.kind == SERVER and server.attributes["http.response.status_code"] == 202
    (handled,) = named(spans, "handle social.twitter.mention")
    assert server in ancestry(spans, handled)  # gateway → Streams replica, over the handle
    # The model pass in the Sentiment replica: a child of the event's call, linked to every caller in its batch.
    (model_pass,) = named(spans, "SentimentService pass")
    assert model_pass.attributes["batch.size"] >= 1
    assert handled in ancestry(spans, model_pass)
    assert model_pass.parent_id in {span_id for _, span_id in model_pass.links}
    # The stored insight and its outbox row, written inside the event's span.
    for statement in statements(spans, "ai.social_insights") + statements(spans, "INSERT INTO crm.outbox"):
        assert handled in ancestry(spans, statement)
    assert statements(spans, "ai.social_insights") and statements(spans, "INSERT INTO crm.outbox")
    # The CRM replica's relay published the event under the same trace.
    (publish,) = named(spans, "publish crm.sentiment.detected")
    assert publish.kind == PRODUCER and handled in ancestry(spans, publish)
    assert publish.attributes["vettify.tid"] == tenant["tid"]


def test_a_crm_write_is_one_trace_to_its_relayed_event(serve_stack: ServeStack) -> None:
    trace_id, client_span, header = traceparent()
    token = mint_token(
        serve_stack.settings, sub="user-1", tid=f"t-{uuid.uuid4().hex[:8]}", mid="m-1", scopes=("crm:write",)
    )
    answer = httpx.post(
        f"{serve_stack.http}/v1/crm/leads",
        json={"company_name": "Traced SRL", "email": "ana@traced.ro"},
        headers={"authorization": f"Bearer {token}", "traceparent": header},
        timeout=60,
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["traceparent"].startswith(f"00-{trace_id}-")

    spans = serve_stack.collector.wait_for(
        trace_id,
        lambda spans: bool(named(spans, "publish crm.lead.created")) and is_connected(spans, client_span),
        timeout_s=60,
    )
    assert is_connected(spans, client_span), sorted(s.name for s in spans)
    (server,) = named(spans, "POST /v1/crm/leads")
    assert server.attributes["http.route"] == "/v1/crm/leads"
    (publish,) = named(spans, "publish crm.lead.created")
    assert server in ancestry(spans, publish)
    assert any(server in ancestry(spans, s) for s in statements(spans, "INSERT INTO crm.leads"))


def test_a_grpc_call_continues_the_clients_trace_into_the_model_pass(serve_stack: ServeStack) -> None:
    trace_id, client_span, header = traceparent()
    with grpc.insecure_channel(serve_stack.grpc) as channel:
        stub = pb_grpc.AnalyticsStub(channel)
        reply = stub.Sentiment(
            pb.SentimentRequest(texts=["Livrarea a întârziat iar, sunt foarte nemulțumit."]),
            metadata=[("application", "vettify"), ("traceparent", header)],
            timeout=60,
        )
    assert len(reply.results) == 1
    spans = serve_stack.collector.wait_for(
        trace_id,
        lambda spans: bool(named(spans, "SentimentService pass")) and is_connected(spans, client_span),
        timeout_s=60,
    )
    (call,) = named(spans, "vettify.analytics.v1.Analytics/Sentiment")
    assert call.kind == SERVER and call.attributes["rpc.method"] == "Sentiment"
    (model_pass,) = named(spans, "SentimentService pass")
    assert call in ancestry(spans, model_pass)
    assert is_connected(spans, client_span)


def test_requests_without_a_sampled_traceparent_export_nothing(serve_stack: ServeStack) -> None:
    """The stack samples no new trace: a request that sends none is answered with one, and not recorded."""
    answer = httpx.post(f"{serve_stack.http}/v1/sentiment", json={"texts": ["fine"]}, timeout=60)
    assert answer.status_code == 200
    trace_id = answer.headers["traceparent"].split("-")[1]
    assert serve_stack.collector.wait_for(trace_id, lambda spans: False, timeout_s=3) == []
