"""Campaign delivery end to end, over the public API and a real SMTP server.

campaign (templates, A/B variants) → send → worker → SMTP (aiosmtpd, scripted 550/450/421) → Maildir;
then open pixel, click redirect, an order on the clicker's account → the conversion in the figures;
one-click unsubscribe, a signed provider webhook (and its replay), tenancy.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import asyncpg
import httpx
import orjson

from crm_core.delivery.tokens import webhook_signature
from crm_core.delivery.worker import DeliveryWorker
from crm_core.events.consumers import CrmEventConsumer
from infra.events.bus import EXCHANGE, RabbitMQBus
from infra.events.envelope import Envelope
from infra.events.relay import OutboxRelay
from infra.local_servers import RunningServer
from tests.integration.crm_core.api.conftest import Auth
from tests.integration.crm_core.conftest import Sink

BASE = "/v1/crm"
HUMAN_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


async def _post(api: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
    response = await api.post(url, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _tracked_links(html: str, kind: str) -> list[str]:
    marker = f"http://crm.test/v1/crm/t/{kind}/"
    return [marker + chunk.split('"')[0] for chunk in html.split(marker)[1:]]


async def test_templates_are_checked_when_saved(api: httpx.AsyncClient, tenant_headers: dict[str, str]) -> None:
    bad = await api.post(
        f"{BASE}/campaigns",
        json={"name": "Typo", "subject": "Hi", "html": "<p>Salut</p>\n<p>{{ contact.frist_name }}</p>"},
        headers=tenant_headers,
    )
    assert bad.status_code == 422
    problem = bad.json()
    assert problem["template_errors"] == [
        {"field": "html", "line": 2, "message": problem["template_errors"][0]["message"]}
    ]
    assert "contact.frist_name" in problem["detail"] and "line 2" in problem["detail"]
    syntax = await api.post(
        f"{BASE}/campaigns",
        json={
            "name": "Broken",
            "subject": "Hi",
            "variants": [{"key": "A", "html": "ok"}, {"key": "B", "html": "{% if %}"}],
        },
        headers=tenant_headers,
    )
    assert syntax.status_code == 422
    assert syntax.json()["template_errors"][0]["field"] == "variants[1].html"
    dupes = await api.post(
        f"{BASE}/campaigns", json={"name": "D", "variants": [{"key": "A"}, {"key": "A"}]}, headers=tenant_headers
    )
    assert dupes.status_code == 422
    good = await _post(api, f"{BASE}/campaigns", tenant_headers, {"name": "Fine", "subject": "Hi"})
    patched = await api.patch(
        f"{BASE}/campaigns/{good['id']}", json={"body": "{{ account.nam }}"}, headers=tenant_headers
    )
    assert patched.status_code == 422
    no_body = await api.post(f"{BASE}/campaigns/{good['id']}/send", json={}, headers=tenant_headers)
    assert no_body.status_code == 422
    assert "body" in no_body.json()["detail"]


async def test_campaign_delivers_tracks_and_converts(
    api: httpx.AsyncClient,
    auth: Auth,
    worker: DeliveryWorker,
    smtp_sink: Sink,
    app_pool: asyncpg.Pool,
    admin_pool: asyncpg.Pool,
    worker_pool: asyncpg.Pool,
    rabbitmq_server: RunningServer,
) -> None:
    tid = f"t-mail-{uuid.uuid4().hex[:8]}"
    headers = auth(tid=tid, scopes=("crm:read", "crm:write", "crm:admin", "marketing:send"))
    await api.put(
        f"{BASE}/mail/sender",
        json={"from_address": "noutati@firma.ro", "from_name": "Firma SRL", "reply_to": "vanzari@firma.ro"},
        headers=headers,
    )
    account = await _post(api, f"{BASE}/accounts", headers, {"name": "Transilvania Logistic SRL", "city": "Cluj"})
    tag = uuid.uuid4().hex[:6]
    people = {
        "ana": (f"ana.{tag}@ok.test", True),
        "gone": ("gone@bounce.test", True),
        "busy": ("busy@later.test", True),
        "down": ("down@later.test", True),
        "nocons": (f"nocons.{tag}@ok.test", False),
        "supp": (f"supp.{tag}@ok.test", True),
        "local": (f"local.{tag}@localhost", True),
        "noaddr": (None, True),
    }
    ids = {}
    for name, (email, consent) in people.items():
        body = {"first_name": name.capitalize(), "account_id": account["id"], "consent_marketing": consent}
        if email and name != "local":
            body["email"] = email
        ids[name] = (await _post(api, f"{BASE}/contacts", headers, body))["id"]
    async with admin_pool.acquire() as conn:  # the API refuses it; an old import or another system may not have
        await conn.execute(
            "UPDATE crm.contacts SET email = $1 WHERE id = $2", people["local"][0], uuid.UUID(ids["local"])
        )
    await _post(api, f"{BASE}/mail/suppressions", headers, {"email": people["supp"][0].upper()})

    html = (
        "<html><body><p>Bună {{ contact.first_name | default('there') }} de la {{ account.name }},</p>"
        '<p><a href="https://shop.example.ro/iarna?ref=mail&amp;x=1">Oferta de iarnă</a></p>'
        '{{ personal_block }}<p><a href="{{ unsubscribe_url }}">Dezabonare</a></p></body></html>'
    )
    campaign = await _post(
        api,
        f"{BASE}/campaigns",
        headers,
        {
            "name": "Iarna 2026",
            "subject": "Oferta pentru {{ account.name }}",
            "html": html,
            "personal_block": "<em>Recomandat pentru {{ account.city }}</em>",
            "variants": [
                {"key": "A", "weight": 1},
                {"key": "B", "weight": 1, "subject": "Doar azi, {{ contact.first_name }}"},
            ],
        },
    )
    shown = await api.post(
        f"{BASE}/campaigns/{campaign['id']}/preview",
        params={"contact_id": ids["ana"], "variant": "B"},
        headers=headers,
    )
    assert shown.status_code == 200, shown.text
    assert shown.json()["subject"] == "Doar azi, Ana"
    assert "<em>Recomandat pentru Cluj</em>" in shown.json()["html"]  # the block is HTML; its fields escaped
    assert shown.json()["headers"]["From"] == "Firma SRL <noutati@firma.ro>"

    sent = await _post(api, f"{BASE}/campaigns/{campaign['id']}/send", headers, {})
    assert (sent["recipients"], sent["queued"], sent["skipped_invalid_address"]) == (7, 5, 2)
    assert sent["campaign"]["status"] == "sending"

    await worker.drain()
    assert len(smtp_sink.to(people["ana"][0])) == 1
    assert smtp_sink.to(people["gone"][0]) == []
    assert smtp_sink.to(people["supp"][0]) == []
    # busy got a 450 once: deferred for 30 s of the worker's clock; down answers 421 every time.
    assert smtp_sink.to(people["busy"][0]) == []
    worker.clock.offset += timedelta(seconds=31)  # type: ignore[attr-defined]
    await worker.drain()
    assert len(smtp_sink.to(people["busy"][0])) == 1
    worker.clock.offset += timedelta(seconds=61)  # type: ignore[attr-defined]
    await worker.drain()  # down: third try, then failed (max_attempts=3)

    states = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await api.get(f"{BASE}/campaigns/{campaign['id']}/deliveries", params=params, headers=headers)).json()
        states |= {d["contact_id"]: d for d in page["items"]}
        if not (cursor := page["next_cursor"]):
            break
    by_name = {name: states[ids[name]] for name in people if ids[name] in states}
    assert by_name.keys() == people.keys() - {"nocons"}
    assert by_name["ana"]["state"] == "sent"
    assert (by_name["gone"]["state"], by_name["gone"]["smtp_code"]) == ("bounced", 550)
    assert by_name["busy"]["state"] == "sent" and by_name["busy"]["attempts"] == 2
    assert by_name["down"]["state"] == "failed" and by_name["down"]["attempts"] == 3
    assert "gave up after 3 tries" in by_name["down"]["reason"]
    assert (by_name["supp"]["state"], by_name["supp"]["reason"]) == ("suppressed", "address suppressed (manual)")
    assert (by_name["local"]["state"], by_name["local"]["reason"]) == ("failed", "invalid e-mail address")
    assert (by_name["noaddr"]["state"], by_name["noaddr"]["reason"]) == ("failed", "no e-mail address")
    finished = (await api.get(f"{BASE}/campaigns/{campaign['id']}", headers=headers)).json()
    assert finished["status"] == "sent"
    suppressed = (await api.get(f"{BASE}/mail/suppressions", headers=headers)).json()
    assert {(s["email"], s["reason"]) for s in suppressed} == {
        ("gone@bounce.test", "hard_bounce"),
        (people["supp"][0], "manual"),
    }

    [message] = smtp_sink.to(people["ana"][0])
    assert message["From"] == "Firma SRL <noutati@firma.ro>"
    assert message["Reply-To"] == "vanzari@firma.ro"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Message-ID"] == f"<{by_name['ana']['id']}@firma.ro>"
    body = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "Bună Ana de la Transilvania Logistic SRL" in body
    assert message["Subject"] in ("Oferta pentru Transilvania Logistic SRL", "Doar azi, Ana")

    async with admin_pool.acquire() as conn:  # the recipient reads it a minute later, not as it lands
        await conn.execute(
            "UPDATE crm.email_deliveries SET sent_at = sent_at - interval '60 seconds' WHERE id = $1",
            uuid.UUID(by_name["ana"]["id"]),
        )
    [pixel] = _tracked_links(body, "o")
    [click] = _tracked_links(body, "c")
    prefetch = await api.get(_path(pixel), headers={"User-Agent": "Mozilla/5.0"})  # Apple MPP's bare UA
    assert prefetch.status_code == 200 and prefetch.headers["content-type"] == "image/gif"
    for _ in range(2):
        assert (await api.get(_path(pixel), headers={"User-Agent": HUMAN_UA})).status_code == 200
    redirect = await api.get(_path(click), headers={"User-Agent": HUMAN_UA})
    assert redirect.status_code == 302
    assert redirect.headers["location"] == "https://shop.example.ro/iarna?ref=mail&x=1"
    assert (await api.get(_path(click)[:-3] + "AAA")).status_code == 404  # altered token
    assert (await api.get(f"{BASE}/t/c/forged.token")).status_code == 404

    consumer = CrmEventConsumer(app_pool)
    order = Envelope(
        type="sales.order.created",
        tid=tid,
        mid="m-1",
        payload={"order_id": f"SO-{tag}", "account_id": account["id"], "total": "1250.50", "currency": "RON"},
    )
    await consumer.handle(order)
    figures = (await api.get(f"{BASE}/campaigns/{campaign['id']}/figures", headers=headers)).json()
    total = figures["total"]
    assert (total["recipients"], total["sent"], total["delivered"], total["bounced"]) == (7, 2, 2, 1)
    assert (total["failed"], total["suppressed"], total["pending"]) == (3, 1, 0)
    assert (total["unique_opens"], total["machine_opens"], total["unique_clicks"]) == (1, 1, 1)
    assert (total["conversions"], Decimal(total["revenue"])) == (1, Decimal("1250.50"))
    assert sum(v["recipients"] for v in figures["variants"]) == 7
    assert {v["variant"] for v in figures["variants"]} <= {"A", "B"}

    unsubscribe = message["List-Unsubscribe"].strip("<>")
    page = await api.get(_path(unsubscribe))
    assert page.status_code == 200 and '<form method="post"' in page.text
    for _ in range(2):  # one-click, twice: the second changes nothing
        done = await api.post(_path(unsubscribe), data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200 and "unsubscribed" in done.text
    contact = (await api.get(f"{BASE}/contacts/{ids['ana']}", headers=headers)).json()
    assert contact["consent_marketing"] is False
    async with admin_pool.acquire() as conn:
        history = await conn.fetch(
            "SELECT granted, source FROM crm.consent_history WHERE tid = $1 AND contact_id = $2",
            tid,
            uuid.UUID(ids["ana"]),
        )
        kinds = await conn.fetch(
            "SELECT event_type, count(*) AS n FROM crm.outbox WHERE tid = $1 AND event_type LIKE 'marketing.email.%' "
            "GROUP BY event_type",
            tid,
        )
    assert [(h["granted"], h["source"]) for h in history] == [(False, "one_click")]
    assert {k["event_type"]: k["n"] for k in kinds} == {
        "marketing.email.delivered": 2,
        "marketing.email.bounced": 1,
        "marketing.email.opened": 2,  # the first machine open and the first human open
        "marketing.email.clicked": 1,
        "marketing.email.unsubscribed": 1,
    }

    # A provider reports a complaint about busy's message; the replay changes nothing; a bad signature is 401.
    info = (await api.get(f"{BASE}/mail/webhook", headers=headers)).json()
    complaint = orjson.dumps(
        {"events": [{"id": f"evt-{tag}", "type": "complaint", "message_id": f"<{by_name['busy']['id']}@firma.ro>"}]}
    )
    signed = {
        "X-Vettify-Signature": webhook_signature(info["secret"], complaint, int(time.time())),
        "Content-Type": "application/json",
    }
    first = await api.post(_path(info["url"]), content=complaint, headers=signed)
    assert first.json() == {"applied": 1, "duplicates": 0, "unknown_messages": []}
    replay = await api.post(_path(info["url"]), content=complaint, headers=signed)
    assert replay.json() == {"applied": 0, "duplicates": 1, "unknown_messages": []}
    forged = await api.post(
        _path(info["url"]), content=complaint, headers={"X-Vettify-Signature": f"t={int(time.time())},v1=00"}
    )
    assert forged.status_code == 401
    busy = (await api.get(f"{BASE}/contacts/{ids['busy']}", headers=headers)).json()
    assert busy["consent_marketing"] is False
    figures = (await api.get(f"{BASE}/campaigns/{campaign['id']}/figures", headers=headers)).json()
    assert (figures["total"]["complaints"], figures["total"]["unsubscribes"]) == (1, 2)

    # The events leave through the outbox relay onto RabbitMQ's topic exchange.
    connection = await aio_pika.connect_robust(rabbitmq_server.url)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(f"test.mail.{tag}", exclusive=True)
        await queue.bind(exchange, routing_key="marketing.email.#")
        bus = RabbitMQBus(rabbitmq_server.url)
        try:
            await OutboxRelay(worker_pool, bus).drain()
        finally:
            await bus.close()
        seen: list[str] = []
        while (incoming := await queue.get(timeout=2, fail=False)) is not None:
            await incoming.ack()
            if incoming.headers.get("x-tid") == tid:
                seen.append(Envelope.from_json(incoming.body).type)
    finally:
        await connection.close()
    assert sorted(seen) == sorted(
        ["marketing.email.delivered"] * 2
        + ["marketing.email.bounced", "marketing.email.clicked", "marketing.email.complained"]
        + ["marketing.email.opened"] * 2
        + ["marketing.email.unsubscribed"] * 2
    )

    # Another tenant sees none of it.
    stranger = auth(tid=f"t-other-{tag}", scopes=("crm:read", "crm:write", "crm:admin", "marketing:send"))
    for url in ("figures", "deliveries"):
        assert (await api.get(f"{BASE}/campaigns/{campaign['id']}/{url}", headers=stranger)).status_code == 404
    other_preview = await api.post(
        f"{BASE}/campaigns/{campaign['id']}/preview", params={"contact_id": ids["ana"]}, headers=stranger
    )
    assert other_preview.status_code == 404
    stolen = await api.post(_path(info["url"]).replace(tid, f"t-other-{tag}"), content=complaint, headers=signed)
    assert stolen.status_code == 401
