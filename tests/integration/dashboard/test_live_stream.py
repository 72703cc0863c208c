"""The live stream against the real database: delivery on commit, tenant filtering, resume, resync, late commits."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx

from dashboard.live import frame
from infra.db.tenancy import TenantContext, tenant_transaction
from tests.integration.dashboard.conftest import Dashboard, publish

DETECTED = "crm.sentiment.detected"


@dataclass
class Sse:
    event: str
    id: int | None
    data: dict[str, Any]


async def read_stream(
    dashboard: Dashboard,
    token: str,
    *,
    last_event_id: int | None = None,
    backfill: int = 0,
    until: Any = None,
    timeout_s: float = 8.0,
    on_ready: Any = None,
) -> list[Sse]:
    """The stream's events until ``until(events)`` is true, the server ends it (``bye``) or ``timeout_s``."""
    headers = {"Authorization": f"Bearer {token}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    events: list[Sse] = []
    async with (
        httpx.AsyncClient(timeout=timeout_s) as client,
        client.stream("GET", f"{dashboard.url}/events", params={"backfill": backfill}, headers=headers) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        deadline = time.monotonic() + timeout_s
        block: list[str] = []
        async for line in response.aiter_lines():
            if line:
                block.append(line)
                continue
            fields = dict(part.split(": ", 1) for part in block if not part.startswith(":") and ": " in part)
            block = []
            if "data" not in fields:
                continue
            sse = Sse(
                fields.get("event", "message"),
                int(fields["id"]) if "id" in fields else None,
                json.loads(fields["data"]),
            )
            events.append(sse)
            if sse.event == "ready" and on_ready is not None:
                await on_ready()
            if sse.event == "bye" or (until is not None and until(events)) or time.monotonic() > deadline:
                break
    return events


def insights(events: list[Sse]) -> list[dict[str, Any]]:
    return [e.data for e in events if e.event == "insight"]


def tenant() -> str:
    return f"dash-{uuid.uuid4().hex[:8]}"


async def test_a_committed_event_arrives_within_a_second_and_only_for_its_tenant(
    dashboard: Dashboard, app_pool: asyncpg.Pool
) -> None:
    mine, other = tenant(), tenant()
    sent_at: list[float] = []

    async def publish_both() -> None:
        await publish(app_pool, other, DETECTED, {"brand": "theirs", "sentiment": "negative"})
        sent_at.append(time.monotonic())
        await publish(app_pool, mine, DETECTED, {"brand": "ours", "sentiment": "positive"})

    events = await read_stream(
        dashboard, dashboard.token(mine), until=lambda ev: bool(insights(ev)), on_ready=publish_both
    )
    got = insights(events)
    assert [e["payload"]["brand"] for e in got] == ["ours"]  # the other tenant's event never reaches us
    assert got[0]["type"] == DETECTED
    assert time.monotonic() - sent_at[0] < 1.5


async def test_only_insight_events_are_streamed(dashboard: Dashboard, app_pool: asyncpg.Pool) -> None:
    tid = tenant()
    await publish(app_pool, tid, "crm.contact.created", {"email": "someone@example.ro"})
    seqs = await publish(app_pool, tid, DETECTED, {"brand": "b"})
    events = await read_stream(dashboard, dashboard.token(tid), backfill=10, until=lambda ev: bool(insights(ev)))
    assert [e["seq"] for e in insights(events)] == seqs


async def test_last_event_id_resumes_after_the_rows_already_seen(dashboard: Dashboard, app_pool: asyncpg.Pool) -> None:
    tid = tenant()
    first = await publish(app_pool, tid, DETECTED, {"n": 1})
    rest = await publish(app_pool, tid, DETECTED, {"n": 2}, count=3)
    events = await read_stream(
        dashboard, dashboard.token(tid), last_event_id=first[0], until=lambda ev: len(insights(ev)) >= 3
    )
    assert [e["seq"] for e in insights(events)] == rest


async def test_a_client_too_far_behind_gets_a_resync_not_a_flood(dashboard: Dashboard, app_pool: asyncpg.Pool) -> None:
    tid = tenant()
    start = await publish(app_pool, tid, DETECTED, {"n": 0})
    many = await publish(app_pool, tid, DETECTED, {"n": 1}, count=40)  # the test server's max_backlog is 30
    events = await read_stream(
        dashboard, dashboard.token(tid), last_event_id=start[0], until=lambda ev: ev[-1].event == "resync"
    )
    resync = [e for e in events if e.event == "resync"]
    assert resync and resync[0].data["cursor"] == many[-1]
    assert not insights(events)


@dataclass
class HeldRow:
    """An outbox row inserted by a transaction that stays open until ``release`` is set."""

    seq: int
    release: asyncio.Event
    task: asyncio.Task[None]


async def hold_row(app_pool: asyncpg.Pool, tid: str, payload: dict[str, Any]) -> HeldRow:
    inserted: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    release = asyncio.Event()

    async def open_transaction() -> None:
        async with tenant_transaction(app_pool, TenantContext(tid=tid, mid="m")) as conn:
            seq = await conn.fetchval(
                "INSERT INTO crm.outbox (tid, mid, aggregate_type, aggregate_id, event_type, payload) "
                "VALUES ($1, 'm', 'test', $2, $3, $4) RETURNING seq",
                tid,
                uuid.uuid4(),
                DETECTED,
                payload,
            )
            inserted.set_result(int(seq))
            await release.wait()

    task = asyncio.create_task(open_transaction())
    return HeldRow(await inserted, release, task)


async def test_a_transaction_that_commits_late_is_not_lost(dashboard: Dashboard, app_pool: asyncpg.Pool) -> None:
    """seq order is not commit order: a row with a smaller seq that commits after a larger one still arrives."""
    tid = tenant()
    held = await hold_row(app_pool, tid, {"late": True})

    async def on_ready() -> None:
        await publish(app_pool, tid, DETECTED, {"late": False})  # a larger seq, committed first
        asyncio.get_running_loop().call_later(0.5, held.release.set)

    events = await read_stream(
        dashboard,
        dashboard.token(tid),
        last_event_id=held.seq - 1,
        until=lambda ev: len(insights(ev)) >= 2,
        on_ready=on_ready,
    )
    await held.task
    got = insights(events)
    assert [e["payload"]["late"] for e in got] == [False, True]
    assert got[1]["seq"] == held.seq


async def test_a_fresh_stream_gets_a_commit_older_than_its_start(dashboard: Dashboard, app_pool: asyncpg.Pool) -> None:
    """Opened at the head (no Last-Event-ID) while a transaction holds a smaller seq: that row still arrives."""
    tid = tenant()
    await publish(app_pool, tid, DETECTED, {"late": None})  # committed before the stream: not sent
    held = await hold_row(app_pool, tid, {"late": True})
    head = await publish(app_pool, tid, DETECTED, {"late": False})  # a larger seq, committed before the start

    async def on_ready() -> None:
        asyncio.get_running_loop().call_later(0.5, held.release.set)

    events = await read_stream(
        dashboard, dashboard.token(tid), until=lambda ev: len(insights(ev)) >= 1, on_ready=on_ready
    )
    await held.task
    assert events[0].event == "ready" and events[0].data["cursor"] == head[-1]
    got = insights(events)
    assert [(e["seq"], e["payload"]["late"]) for e in got] == [(held.seq, True)]


async def test_the_stream_ends_with_bye_and_heartbeats_while_idle(dashboard: Dashboard) -> None:
    events = await read_stream(dashboard, dashboard.token(tenant()), timeout_s=10)
    assert events[0].event == "ready"
    assert events[-1].event == "bye"
    assert events[-1].data["reconnect"] is True


async def test_the_stream_needs_a_token_with_insights_read(dashboard: Dashboard) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        anonymous = await client.get(f"{dashboard.url}/events")
        crm_only = await client.get(
            f"{dashboard.url}/events",
            headers={"Authorization": f"Bearer {dashboard.token('t1', scopes=('crm:read',))}"},
        )
        bad_resume = await client.get(
            f"{dashboard.url}/events",
            headers={"Authorization": f"Bearer {dashboard.token('t1')}", "Last-Event-ID": "yesterday"},
        )
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    assert crm_only.status_code == 403
    assert bad_resume.status_code == 422
    assert "Last-Event-ID" in bad_resume.json()["detail"]


def test_frames_are_one_json_line() -> None:
    raw = frame("insight", {"text": "two\nlines </script>"}, 7)
    assert raw == b'id: 7\nevent: insight\ndata: {"text":"two\\nlines </script>"}\n\n'
