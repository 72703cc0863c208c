"""Sequences over the public API: steps checked when saved, enrolment by hand and by trigger, time moved
forward, branches on clicks, exits on unsubscribe and conversion, two runners sharing the work exactly once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from crm_core.delivery.worker import DeliveryWorker
from crm_core.events.consumers import CrmEventConsumer
from crm_core.sequences.runner import SequenceRunner
from infra.events.envelope import Envelope
from tests.integration.crm_core.api.conftest import Auth
from tests.integration.crm_core.conftest import Sink

BASE = "/v1/crm"
DAY = 86400


async def _post(api: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
    response = await api.post(url, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _campaign(api: httpx.AsyncClient, headers: dict[str, str], name: str) -> str:
    html = f'<p>{name}, {{{{ contact.first_name }}}}</p><a href="https://shop.example.ro/{name}">vezi</a>'
    campaign = await _post(api, f"{BASE}/campaigns", headers, {"name": name, "subject": name, "html": html})
    return str(campaign["id"])


async def _journeys(api: httpx.AsyncClient, headers: dict[str, str], sequence_id: str) -> dict[str, Any]:
    page = (await api.get(f"{BASE}/sequences/{sequence_id}/enrollments", headers=headers)).json()
    return {e["contact_id"]: e for e in page["items"]}


@pytest.fixture
def runner(app_pool: asyncpg.Pool, worker_pool: asyncpg.Pool, worker: DeliveryWorker) -> SequenceRunner:
    return SequenceRunner(app_pool, worker_pool, clock=worker.clock, recheck=timedelta(hours=1))


async def test_steps_are_checked_when_saved(api: httpx.AsyncClient, tenant_headers: dict[str, str]) -> None:
    sms = await _post(api, f"{BASE}/campaigns", tenant_headers, {"name": "SMS", "channel": "sms"})
    empty = await _post(api, f"{BASE}/campaigns", tenant_headers, {"name": "Empty", "subject": "Hi"})
    for steps, fragment in (
        ([{"type": "send_email", "campaign_id": str(uuid.uuid4())}], "no campaign"),
        ([{"type": "send_email", "campaign_id": sms["id"]}], "not an e-mail"),
        ([{"type": "send_email", "campaign_id": empty["id"]}], "not an e-mail"),
        ([{"type": "wait"}], "either `seconds` or `until`"),
        ([{"type": "wait", "until": "clicked"}], "timeout_seconds"),
        ([{"type": "branch", "condition": {"event": "opened"}, "then": 7}], "does not exist"),
        ([{"type": "teleport"}], "type"),
    ):
        response = await api.post(
            f"{BASE}/sequences",
            json={"name": "Bad", "trigger": {"type": "manual"}, "steps": steps},
            headers=tenant_headers,
        )
        assert response.status_code == 422, (steps, response.text)
        assert fragment in response.text, response.text


async def test_journeys_exit_on_unsubscribe_and_conversion_and_two_runners_share_the_work(
    api: httpx.AsyncClient,
    auth: Auth,
    worker: DeliveryWorker,
    runner: SequenceRunner,
    smtp_sink: Sink,
    app_pool: asyncpg.Pool,
) -> None:
    tid = f"t-seq-{uuid.uuid4().hex[:8]}"
    headers = auth(tid=tid, scopes=("crm:read", "crm:write", "crm:admin", "marketing:send"))
    welcome = await _campaign(api, headers, "Welcome")
    follow_up = await _campaign(api, headers, "FollowUp")
    tag = uuid.uuid4().hex[:6]
    ids, accounts = {}, {}
    for name in ("Stays", "Leaver", "Buyer"):
        accounts[name] = (await _post(api, f"{BASE}/accounts", headers, {"name": f"{name} SRL"}))["id"]
        body = {"first_name": name, "email": f"{name.lower()}.{tag}@seq.test", "consent_marketing": True}
        ids[name] = (await _post(api, f"{BASE}/contacts", headers, body | {"account_id": accounts[name]}))["id"]
    steps = [
        {"type": "send_email", "campaign_id": welcome},
        {"type": "wait", "seconds": DAY},
        {"type": "send_email", "campaign_id": follow_up},
    ]
    sequence = await _post(
        api, f"{BASE}/sequences", headers, {"name": "Nurture", "trigger": {"type": "manual"}, "steps": steps}
    )
    url = f"{BASE}/sequences/{sequence['id']}/enrollments"
    assert await _post(api, url, headers, {"contact_ids": list(ids.values())}) == {"enrolled": 3}
    assert await _post(api, url, headers, {"contact_ids": [ids["Stays"]]}) == {"enrolled": 0}

    # Two runners at once share the due rows (SKIP LOCKED): every welcome is queued exactly once.
    other = SequenceRunner(runner.pool, runner.scan_pool, clock=runner.clock, recheck=runner.recheck)
    await asyncio.gather(runner.run_once(), other.run_once())
    await runner.drain()
    await worker.drain()
    for name in ids:
        assert [m["Subject"] for m in smtp_sink.to(f"{name.lower()}.{tag}@seq.test")] == ["Welcome"]
    assert runner.stats.by_step.get("send_email", 0) + other.stats.by_step.get("send_email", 0) == 3

    [leaver_mail] = smtp_sink.to(f"leaver.{tag}@seq.test")
    assert (await api.post(urlsplit(leaver_mail["List-Unsubscribe"].strip("<>")).path)).status_code == 200
    order = {"order_id": f"SO-{tag}", "account_id": accounts["Buyer"], "total": "10"}
    await CrmEventConsumer(app_pool).handle(Envelope(type="sales.order.created", tid=tid, mid="m-1", payload=order))

    worker.clock.offset += timedelta(days=1, seconds=1)  # type: ignore[attr-defined]
    await runner.drain()
    await worker.drain()
    journeys = await _journeys(api, headers, sequence["id"])
    assert (journeys[ids["Stays"]]["state"], journeys[ids["Stays"]]["step"]) == ("completed", 3)
    assert [m["Subject"] for m in smtp_sink.to(f"stays.{tag}@seq.test")] in (
        ["Welcome", "FollowUp"],
        ["FollowUp", "Welcome"],
    )
    assert (journeys[ids["Leaver"]]["state"], journeys[ids["Leaver"]]["exit_reason"]) == ("exited", "unsubscribed")
    assert (journeys[ids["Buyer"]]["state"], journeys[ids["Buyer"]]["exit_reason"]) == ("exited", "converted")
    for name in ("Leaver", "Buyer"):
        assert [m["Subject"] for m in smtp_sink.to(f"{name.lower()}.{tag}@seq.test")] == ["Welcome"]


async def test_branch_on_click_and_time_out(
    api: httpx.AsyncClient,
    auth: Auth,
    worker: DeliveryWorker,
    runner: SequenceRunner,
    smtp_sink: Sink,
) -> None:
    tid = f"t-seq-{uuid.uuid4().hex[:8]}"
    headers = auth(tid=tid, scopes=("crm:read", "crm:write", "crm:admin", "marketing:send"))
    welcome, follow_up, thanks = [await _campaign(api, headers, n) for n in ("Welcome", "FollowUp", "Thanks")]
    tag = uuid.uuid4().hex[:6]
    steps = [
        {"type": "send_email", "campaign_id": welcome},  # 0
        {"type": "wait", "until": "clicked", "timeout_seconds": 2 * DAY},  # 1
        {"type": "branch", "condition": {"event": "clicked"}, "then": 3, "otherwise": 6},  # 2
        {"type": "update_lead", "score_delta": 20},  # 3
        {"type": "send_email", "campaign_id": thanks},  # 4
        {"type": "exit"},  # 5
        {"type": "send_email", "campaign_id": follow_up},  # 6
        {"type": "create_activity", "kind": "task", "subject": "Call: no click after the welcome"},  # 7
    ]
    sequence = await _post(
        api,
        f"{BASE}/sequences",
        headers,
        {"name": "Onboarding", "trigger": {"type": "contact_created"}, "steps": steps, "exit_on": ["unsubscribed"]},
    )
    ids = {}
    for name in ("Clicker", "Silent"):
        account = await _post(api, f"{BASE}/accounts", headers, {"name": f"{name} SRL"})
        body = {"first_name": name, "email": f"{name.lower()}.{tag}@seq.test", "consent_marketing": True}
        ids[name] = (await _post(api, f"{BASE}/contacts", headers, body | {"account_id": account["id"]}))["id"]
    lead = await _post(api, f"{BASE}/leads", headers, {"email": f"clicker.{tag}@seq.test", "first_name": "C"})
    journeys = await _journeys(api, headers, sequence["id"])
    assert {j["source"] for j in journeys.values()} == {"contact_created"} and len(journeys) == 2

    await runner.drain()
    await worker.drain()
    [welcome_mail] = smtp_sink.to(f"clicker.{tag}@seq.test")
    body = welcome_mail.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert (await api.get(urlsplit(body.split('href="')[1].split('"')[0]).path)).status_code == 302

    worker.clock.offset += timedelta(hours=1, seconds=1)  # type: ignore[attr-defined]  # the next recheck
    await runner.drain()
    await worker.drain()
    journeys = await _journeys(api, headers, sequence["id"])
    clicker, silent = journeys[ids["Clicker"]], journeys[ids["Silent"]]
    assert (clicker["state"], clicker["exit_reason"], clicker["step"]) == ("exited", "exit step", 5)
    assert [m["Subject"] for m in smtp_sink.to(f"clicker.{tag}@seq.test")] == ["Welcome", "Thanks"] or sorted(
        m["Subject"] for m in smtp_sink.to(f"clicker.{tag}@seq.test")
    ) == ["Thanks", "Welcome"]
    assert (await api.get(f"{BASE}/leads/{lead['id']}", headers=headers)).json()["score"] >= 20
    assert (silent["state"], silent["step"]) == ("active", 1)  # still waiting for a click

    worker.clock.offset += timedelta(days=2)  # type: ignore[attr-defined]  # the wait times out
    await runner.drain()
    await worker.drain()
    silent = (await _journeys(api, headers, sequence["id"]))[ids["Silent"]]
    assert silent["state"] == "completed"
    outcomes = [(h["type"], h["outcome"]) for h in silent["history"]]
    assert ("wait", "timed out waiting for clicked") in outcomes
    assert ("branch", "not met -> 6") in outcomes
    assert sorted(m["Subject"] for m in smtp_sink.to(f"silent.{tag}@seq.test")) == ["FollowUp", "Welcome"]
    timeline = (await api.get(f"{BASE}/contacts/{ids['Silent']}", headers=headers)).json()
    assert timeline["id"] == ids["Silent"]

    # Another tenant sees none of it.
    stranger = auth(tid=f"t-other-{tag}", scopes=("crm:read", "crm:write", "marketing:send"))
    assert (await api.get(f"{BASE}/sequences/{sequence['id']}/enrollments", headers=stranger)).status_code == 404
    refused = await api.post(
        f"{BASE}/sequences/{sequence['id']}/enrollments", json={"contact_ids": [ids["Silent"]]}, headers=stranger
    )
    assert refused.status_code == 404


async def test_segment_and_lead_triggers_enrol_the_right_contacts(
    api: httpx.AsyncClient, tenant_headers: dict[str, str]
) -> None:
    headers = tenant_headers
    welcome = await _campaign(api, headers, "Welcome")
    steps = [{"type": "send_email", "campaign_id": welcome}]
    account = (await _post(api, f"{BASE}/accounts", headers, {"name": "Segment SRL"}))["id"]

    async def contact(name: str, *, consent: bool = True, account_id: str | None = account) -> str:
        body = {"first_name": name, "email": f"{name}@seg.test", "consent_marketing": consent}
        return str((await _post(api, f"{BASE}/contacts", headers, body | {"account_id": account_id}))["id"])

    buyer = await contact("buyer")
    await contact("noconsent", consent=False)
    await contact("elsewhere", account_id=None)
    segment = await _post(
        api,
        f"{BASE}/sequences",
        headers,
        {"name": "Seg", "trigger": {"type": "segment", "segment": {"account_id": account}}, "steps": steps},
    )
    assert set(await _journeys(api, headers, segment["id"])) == {buyer}
    late = await contact("late")
    refreshed = await _post(api, f"{BASE}/sequences/{segment['id']}/refresh", headers, {})
    assert refreshed == {"enrolled": 1}
    assert set(await _journeys(api, headers, segment["id"])) == {buyer, late}

    on_lead = await _post(
        api, f"{BASE}/sequences", headers, {"name": "Leads", "trigger": {"type": "lead_created"}, "steps": steps}
    )
    await _post(api, f"{BASE}/leads", headers, {"email": "late@seg.test"})
    await _post(api, f"{BASE}/leads", headers, {"email": "noconsent@seg.test"})
    await _post(api, f"{BASE}/leads", headers, {"email": "stranger@seg.test"})
    assert set(await _journeys(api, headers, on_lead["id"])) == {late}

    manual_refresh = await api.post(f"{BASE}/sequences/{on_lead['id']}/refresh", headers=headers)
    assert manual_refresh.status_code == 422
    paused = await api.patch(f"{BASE}/sequences/{on_lead['id']}", json={"status": "paused"}, headers=headers)
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    await _post(api, f"{BASE}/leads", headers, {"email": "buyer@seg.test"})
    assert set(await _journeys(api, headers, on_lead["id"])) == {late}  # a paused sequence enrols nobody


async def test_a_journey_that_cannot_run_ends_with_the_reason_and_spares_the_others(
    api: httpx.AsyncClient, tenant_headers: dict[str, str], runner: SequenceRunner, admin_pool: asyncpg.Pool
) -> None:
    headers = tenant_headers
    welcome = await _campaign(api, headers, "Welcome")
    good = await _post(
        api,
        f"{BASE}/sequences",
        headers,
        {"name": "Good", "trigger": {"type": "manual"}, "steps": [{"type": "send_email", "campaign_id": welcome}]},
    )
    bad = await _post(
        api, f"{BASE}/sequences", headers, {"name": "Bad", "trigger": {"type": "manual"}, "steps": [{"type": "exit"}]}
    )
    contact = await _post(
        api, f"{BASE}/contacts", headers, {"first_name": "Ana", "email": "ana@poison.test", "consent_marketing": True}
    )
    for sequence in (good, bad):
        await _post(api, f"{BASE}/sequences/{sequence['id']}/enrollments", headers, {"contact_ids": [contact["id"]]})
    async with admin_pool.acquire() as conn:  # steps an older version wrote, which this one cannot read
        await conn.execute(
            "UPDATE crm.sequences SET steps = $2::jsonb WHERE id = $1", uuid.UUID(bad["id"]), [{"type": "teleport"}]
        )
    await runner.drain()
    [failed] = (await _journeys(api, headers, bad["id"])).values()
    assert failed["state"] == "exited" and failed["exit_reason"].startswith("step 0 failed:")
    [fine] = (await _journeys(api, headers, good["id"])).values()
    assert (fine["state"], fine["history"][0]["outcome"]) == ("completed", "queued")
