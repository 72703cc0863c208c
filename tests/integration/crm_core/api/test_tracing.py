"""A CRM write is one trace to its relayed event (SDK in-memory exporter): the request's server span, its
statements, the outbox row's stored ``traceparent``, the relay's publish span and a RabbitMQ consumer's span."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest
from opentelemetry.trace import SpanKind

from infra.local_servers import RunningServer
from tests.conftest import SPANS
from tests.integration.crm_core.api.conftest import Auth
from tests.support.traces import chain, hex_id, new_traceparent, of_trace, publish_and_consume

pytestmark = pytest.mark.integration


async def test_a_lead_write_is_one_trace_to_its_consumed_event(
    api: httpx.AsyncClient, auth: Auth, admin_pool: asyncpg.Pool, rabbitmq_server: RunningServer
) -> None:
    SPANS.clear()
    trace_id, client_span, header = new_traceparent()
    tid = f"t-{uuid.uuid4().hex[:8]}"
    answer = await api.post(
        "/v1/crm/leads",
        json={"company_name": "Urmărit SRL", "email": "ana@urmarit.ro"},
        headers=auth(tid=tid) | {"traceparent": header},
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["traceparent"].startswith(f"00-{trace_id}-")

    spans = of_trace(trace_id)
    (server,) = [s for s in spans if s.kind is SpanKind.SERVER]
    assert server.name == "POST /v1/crm/leads"
    assert server.parent is not None and hex_id(server.parent.span_id, 16) == client_span
    sql = [str((s.attributes or {}).get("db.statement", "")).split() for s in spans]
    inserts = [s for s, words in zip(spans, sql, strict=True) if words[:2] == ["INSERT", "INTO"]]
    assert {words[2] for words in sql if words[:2] == ["INSERT", "INTO"]} >= {"crm.leads", "crm.outbox"}
    assert all(chain(spans, s)[-1] == "POST /v1/crm/leads" for s in inserts)

    row = await admin_pool.fetchrow("SELECT * FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.lead.created'", tid)
    assert row is not None
    assert row["traceparent"] == f"00-{trace_id}-{hex_id(server.context.span_id, 16)}-01"

    message = await publish_and_consume(row, rabbitmq_server.url)
    assert message["key"] == "crm.lead.created"
    spans = of_trace(trace_id)
    (process,) = [s for s in spans if s.kind is SpanKind.CONSUMER]
    assert chain(spans, process) == ["process crm.lead.created", "publish crm.lead.created", "POST /v1/crm/leads"]


async def test_an_untraced_write_stores_no_trace(api: httpx.AsyncClient, auth: Auth, admin_pool: asyncpg.Pool) -> None:
    """No traceparent and no sampling of new traces: the row's context is unsampled and nothing is recorded."""
    SPANS.clear()
    tid = f"t-{uuid.uuid4().hex[:8]}"
    answer = await api.post("/v1/crm/leads", json={"email": "ion@neurmarit.ro"}, headers=auth(tid=tid))
    assert answer.status_code == 201
    traceparent = await admin_pool.fetchval(
        "SELECT traceparent FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.lead.created'", tid
    )
    assert traceparent is not None and int(traceparent[-2:], 16) & 1 == 0
    assert SPANS.get_finished_spans() == ()
