"""Erasure end to end: a person seeded into every store (two branches, AI rows with vectors, Redis, published
events) is gone from all of them after the job, nobody else is touched, the job resumes after a failure, and
the certificate verifies."""

from __future__ import annotations

import base64
import io
import json
import uuid
import zipfile
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crm_core.anaf.cui import control_digit
from crm_core.privacy import erasure
from crm_core.privacy.erasure import ErasureRunner, verify
from crm_core.services.audit_export import SignatureMismatch, load_or_create_key, verify_export
from infra.local_servers import RunningServer
from infra.settings import Settings
from tests.support.privacy_scan import redis_hits, table_hits

BASE = "/v1/crm"
Auth = Callable[..., dict[str, str]]
VECTOR = "[" + ",".join(["0.05"] * 384) + "]"


@pytest.fixture
async def redis(redis_server: RunningServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


@pytest.fixture
def runner(
    app_pool: asyncpg.Pool, worker_pool: asyncpg.Pool, test_settings: Settings, redis: aioredis.Redis
) -> ErasureRunner:
    return ErasureRunner(
        app_pool, worker_pool, key=load_or_create_key(test_settings.resolved_audit_key_path), redis=redis
    )


class Person:
    """One seeded person and the strings that must not survive their erasure."""

    def __init__(self, tag: str) -> None:
        self.first, self.last = f"Ioana{tag}", f"Vasilescu{tag}"
        self.email = f"ioana.{tag.lower()}@exemplu.ro"
        self.phone = f"+4072{abs(hash(tag)) % 10_000_000:07d}"
        self.handle = f"ioana_{tag.lower()}"
        self.said = f"my private plan {tag} for the summer"
        self.shop = f"VASILESCU {tag} IOANA PFA"
        body = str(1_000_000 + abs(hash(tag)) % 8_999_999)
        self.cui = body + str(control_digit(body))

    @property
    def needles(self) -> list[str]:
        return [self.first, self.last, self.email, self.phone, self.handle, self.said, self.shop]


def _created(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def _seed(
    api: httpx.AsyncClient,
    admin_pool: asyncpg.Pool,
    redis: aioredis.Redis,
    headers: dict[str, str],
    tid: str,
    person: Person,
) -> uuid.UUID:
    """CRM rows over the API; AI rows, deliveries, published events and Redis keys as the engine writes them."""
    account = _created(
        await api.post(f"{BASE}/accounts", json={"name": person.shop, "cui": person.cui}, headers=headers)
    )
    contact = _created(
        await api.post(
            f"{BASE}/contacts",
            json={
                "first_name": person.first,
                "last_name": person.last,
                "email": person.email,
                "phone": person.phone,
                "account_id": account["id"],
                "attributes": {"twitter": "@" + person.handle},
            },
            headers=headers,
        )
    )
    cid = uuid.UUID(contact["id"])
    r = await api.post(
        f"{BASE}/leads",
        json={"first_name": person.first, "email": person.email.upper(), "company_name": "X"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    r = await api.post(
        f"{BASE}/contacts/{cid}/consents",
        json={
            "purpose": "marketing_email",
            "granted": True,
            "source": "web_form",
            "evidence": {"ip": "10.1.2.3", "email": person.email},
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    r = await api.post(
        f"{BASE}/accounts/{account['id']}/activities",
        json={"kind": "call", "subject": f"Call with {person.first}", "body": person.said, "contact_id": str(cid)},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    async with admin_pool.acquire() as conn:
        await conn.execute(
            "UPDATE crm.accounts SET anaf_data = $3, address = 'Str. Lunga 1' WHERE tid = $1 AND id = $2",
            tid,
            uuid.UUID(account["id"]),
            {"cui": person.cui, "found": True, "official_name": person.shop, "registration_number": "F40/123/2015"},
        )
        key = (tid, "wh-2", "m-1")  # the AI rows sit in another branch than the contact
        mention = uuid.uuid4()
        await conn.execute(
            "INSERT INTO ai.social_insights (tid, whid, mid, id, event_type, platform, brand, author, text, posted_at, "
            "sentiment, sentiment_score, probabilities, embedding) VALUES ($1, $2, $3, $4, 'social.twitter.mention', "
            f"'twitter', 'Acme', $5, $6, now(), 'neutral', 0.5, '{{}}', '{VECTOR}')",
            *key,
            mention,
            "@" + person.handle.upper(),
            person.said,
        )
        for kind, ref, contact in (("sentiment", mention, None), ("recommendation", uuid.uuid4(), cid)):
            await conn.execute(
                "INSERT INTO ai.decisions (tid, whid, mid, kind, ref_id, contact_id, model, model_version, "
                "input_hash, output) VALUES ($1, $2, $3, $4, $5, $6, 'm', 'v1', $7, '{}')",
                *key,
                kind,
                ref,
                contact,
                "sha256:" + "0" * 64,
            )
        call = uuid.uuid4()
        await conn.execute(
            "INSERT INTO ai.call_analyses (tid, whid, mid, id, call_id, kind, recorded_at, transcript, analysis, "
            f"embedding, contact_id) VALUES ($1, $2, $3, $4, 'c-1', 'voice', now(), $5, $6, '{VECTOR}', $7)",
            *key,
            call,
            person.said,
            {"transcript": person.said},
            cid,
        )
        await conn.execute(
            f"INSERT INTO ai.call_passages (tid, whid, mid, call_analysis_id, passage, text, embedding) "
            f"VALUES ($1, $2, $3, $4, 0, $5, '{VECTOR}')",
            *key,
            call,
            person.said,
        )
        await conn.execute(
            "INSERT INTO ai.behavior_events (tid, whid, mid, id, source, session_id, visitor_id, action, page, "
            "occurred_at) VALUES ($1, $2, $3, $4, 'web', $5, $6, 'view', '/pricing', now())",
            *key,
            uuid.uuid4(),
            f"s-{person.handle}",
            str(cid),
        )
        await conn.execute(
            "INSERT INTO ai.behavior_patterns (tid, whid, mid, session_id, visitor_id, journey, steps, started_at, "
            f"last_seen_at, embedding) VALUES ($1, $2, $3, $4, $5, 'view:/pricing', 1, now(), now(), '{VECTOR}')",
            *key,
            f"s-{person.handle}",
            str(cid),
        )
        item = await conn.fetchval(
            "INSERT INTO ai.catalog_items (tid, whid, mid, external_id, kind, title) "
            "VALUES ($1, $2, $3, $4, 'offer', 'Offer') RETURNING id",
            *key,
            f"offer-{uuid.uuid4().hex[:8]}",
        )
        await conn.execute(
            "INSERT INTO ai.item_interactions (tid, whid, mid, item_id, contact_id, session_id, kind) "
            "VALUES ($1, $2, $3, $4, $5, $6, 'click')",
            *key,
            item,
            cid,
            f"s-{person.handle}",
        )
        campaign = await conn.fetchval(
            "INSERT INTO crm.campaigns (tid, mid, name) VALUES ($1, 'm-1', 'Spring') RETURNING id", tid
        )
        delivery = await conn.fetchval(
            "INSERT INTO crm.email_deliveries (tid, mid, campaign_id, contact_id, email, state, reason) "
            "VALUES ($1, 'm-1', $2, $3, $4, 'bounced', $5) RETURNING id",
            tid,
            campaign,
            cid,
            person.email,
            f"550 5.1.1 <{person.email}>: mailbox unavailable",
        )
        await conn.execute(
            "INSERT INTO crm.email_events (tid, mid, delivery_id, campaign_id, contact_id, kind, detail) "
            "VALUES ($1, 'm-1', $2, $3, $4, 'bounced', $5)",
            tid,
            delivery,
            campaign,
            cid,
            {"diagnostic": f"550 <{person.email}>"},
        )
        await conn.execute(
            "INSERT INTO crm.outbox (tid, whid, mid, aggregate_type, aggregate_id, event_type, payload, published_at) "
            "VALUES ($1, 'wh-2', 'm-1', 'social_insight', $2, 'crm.sentiment.detected', $3, now())",
            tid,
            mention,
            {"text": person.said, "author": person.handle},
        )
        await conn.execute("UPDATE crm.outbox SET published_at = now() WHERE tid = $1", tid)
    await redis.set(f"vettify:churn:{tid}:m-1:{account['id']}:engagement", person.phone)
    await redis.set(f"vettify:anaf:v9:{person.cui}:2026-12-01", person.shop)
    return cid


async def _erase(
    api: httpx.AsyncClient, headers: dict[str, str], runner: ErasureRunner, **subject: str
) -> dict[str, Any]:
    r = await api.post(f"{BASE}/privacy/erasure-requests", json=subject, headers=headers)
    assert r.status_code == 202, r.text
    await runner.drain()
    done = await api.get(f"{BASE}/privacy/erasure-requests/{r.json()['id']}", headers=headers)
    assert done.status_code == 200
    body: dict[str, Any] = done.json()
    return body


async def test_a_person_is_gone_from_every_store_and_nobody_else_is_touched(
    api: httpx.AsyncClient, auth: Auth, admin_pool: asyncpg.Pool, redis: aioredis.Redis, runner: ErasureRunner
) -> None:
    tid = f"t-{uuid.uuid4().hex[:8]}"
    branch = auth(tid=tid, whid="wh-1", scopes=("crm:admin",))
    admin = auth(tid=tid, scopes=("crm:admin",))
    ana, other = Person(uuid.uuid4().hex[:6].upper()), Person(uuid.uuid4().hex[:6].upper())
    cid = await _seed(api, admin_pool, redis, branch, tid, ana)
    await _seed(api, admin_pool, redis, branch, tid, other)
    async with admin_pool.acquire() as conn:
        sole_trader = await conn.fetchval("SELECT account_id FROM crm.contacts WHERE id = $1", cid)
    elsewhere = f"t-{uuid.uuid4().hex[:8]}"  # the same person known to another tenant
    await _seed(api, admin_pool, redis, auth(tid=elsewhere, whid="wh-1", scopes=("crm:admin",)), elsewhere, ana)
    assert set(await table_hits(admin_pool, tid, ana.needles)) >= {
        "crm.contacts",
        "ai.social_insights",
        "ai.call_analyses",
    }

    result = await _erase(api, admin, runner, contact_id=str(cid))

    assert result["state"] == "done", result
    assert await table_hits(admin_pool, tid, ana.needles) == {}
    assert await redis.get(f"vettify:anaf:v9:{ana.cui}:2026-12-01") is None  # the sole trader's cached answer
    assert await redis.get(f"vettify:churn:{tid}:m-1:{sole_trader}:engagement") is None
    assert await redis_hits(redis, ana.needles, besides=elsewhere) == []  # there, the same person stays
    assert await redis_hits(redis, [other.phone, ana.phone]) == sorted([other.phone, ana.phone])
    removed = result["removed"]
    for store in (
        "mentions",
        "calls",
        "call_passages",
        "behaviour_events",
        "journeys",
        "item_interactions",
        "activities",
    ):
        assert removed[store] == 1, (store, removed)
    assert removed["contacts"] == 1 and removed["leads"] == 1 and removed["sole_trader_accounts"] == 1
    assert removed["mention_decisions"] == 1 and removed["decisions"] == 1  # the AI decision records about them
    assert removed["redis_keys"] >= 2
    # nobody else: the other person in the tenant and the same person in another tenant keep everything
    kept = await table_hits(admin_pool, tid, other.needles)
    assert {"crm.contacts", "crm.leads", "ai.social_insights", "ai.call_analyses", "crm.activities"} <= set(kept)
    assert len(await table_hits(admin_pool, elsewhere, ana.needles)) >= 8
    # the contact is gone for the API (404), the anonymous rows still count in aggregates
    assert (await api.get(f"{BASE}/contacts/{cid}", headers=branch)).status_code == 404
    async with admin_pool.acquire() as conn:
        deliveries = await conn.fetchval(
            "SELECT count(*) FROM crm.email_deliveries WHERE tid = $1 AND contact_id = $2", tid, cid
        )
        erased = await conn.fetch(
            "SELECT payload FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.contact.erased'", tid
        )
        tombstone = await conn.fetchval(
            "SELECT after FROM crm.audit_log WHERE tid = $1 AND action = 'erase' AND entity_id = $2",
            tid,
            uuid.UUID(result["id"]),
        )
    assert deliveries == 1
    assert [e["payload"]["contact_id"] for e in erased] == [str(cid)]
    assert tombstone["subject_hash"] == result["subject_hash"]
    # the certificate verifies with the audit key, and not once changed
    certificate = (await api.get(f"{BASE}/privacy/erasure-requests/{result['id']}/certificate", headers=admin)).json()
    public = serialization.load_pem_public_key((await api.get(f"{BASE}/audit/public-key")).content)
    assert isinstance(public, Ed25519PublicKey)
    verify(certificate, public)
    assert certificate["removed"] == removed and certificate["subject_hash"] == result["subject_hash"]
    with pytest.raises(SignatureMismatch):
        verify({**certificate, "removed": {**removed, "mentions": 0}}, public)
    assert ana.email not in json.dumps(certificate) and str(cid) not in json.dumps(result)
    # the audit export still verifies, and holds the tombstones, not the person
    export = await api.get(f"{BASE}/audit/export", headers=admin)
    assert export.status_code == 200
    signature = json.loads(base64.b64decode(export.headers["X-Vettify-Signature"]))
    verify_export(export.content, signature, (await api.get(f"{BASE}/audit/public-key")).content)
    assert ana.email not in export.text and result["subject_hash"] in export.text
    # erasing again is a no-op: the same subject is found (a tombstone) and nothing is left to remove
    again = await _erase(api, admin, runner, contact_id=str(cid))
    assert again["state"] == "done" and again["subject_hash"] == result["subject_hash"]
    assert set(again["removed"].values()) == {0}, again["removed"]
    assert await table_hits(admin_pool, tid, other.needles) == kept


async def test_erasure_resumes_after_a_failed_step_without_redoing_the_steps_before(
    api: httpx.AsyncClient,
    auth: Auth,
    admin_pool: asyncpg.Pool,
    redis: aioredis.Redis,
    runner: ErasureRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tid = f"t-{uuid.uuid4().hex[:8]}"
    admin = auth(tid=tid, scopes=("crm:admin",))
    ana = Person(uuid.uuid4().hex[:6].upper())
    await _seed(api, admin_pool, redis, auth(tid=tid, whid="wh-1", scopes=("crm:admin",)), tid, ana)
    real = erasure.STEPS["history"]

    async def dies(*args: Any) -> dict[str, int]:
        raise OSError("connection lost mid-step")

    monkeypatch.setitem(erasure.STEPS, "history", dies)
    r = await api.post(f"{BASE}/privacy/erasure-requests", json={"email": ana.email.upper()}, headers=admin)
    assert r.status_code == 202
    await runner.run_once()
    half = (await api.get(f"{BASE}/privacy/erasure-requests/{r.json()['id']}", headers=admin)).json()
    assert half["state"] == "running" and half["attempts"] == 1 and "connection lost" in half["last_error"]
    assert half["steps_done"][-1] == "deliveries" and half["removed"]["activities"] == 1
    again = await api.post(f"{BASE}/privacy/erasure-requests", json={"email": ana.email}, headers=admin)
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]  # the same subject: the same job

    monkeypatch.setitem(erasure.STEPS, "history", real)
    await runner.drain()
    done = (await api.get(f"{BASE}/privacy/erasure-requests/{r.json()['id']}", headers=admin)).json()
    assert done["state"] == "done"
    assert done["removed"]["activities"] == 1 and done["removed"]["audit_entries"] >= 2  # not redone, then done
    assert await table_hits(admin_pool, tid, [ana.email, ana.first, ana.said]) == {}


async def test_bad_requests_and_other_tenants(api: httpx.AsyncClient, auth: Auth) -> None:
    tid = f"t-{uuid.uuid4().hex[:8]}"
    admin = auth(tid=tid, scopes=("crm:admin",))
    contact = (await api.post(f"{BASE}/contacts", json={"first_name": "Dan"}, headers=admin)).json()
    url = f"{BASE}/privacy/erasure-requests"
    assert (await api.post(url, json={}, headers=admin)).status_code == 422
    assert (await api.post(url, json={"email": "a@b.ro", "handle": "x"}, headers=admin)).status_code == 422
    assert (await api.post(url, json={"email": "not-an-address"}, headers=admin)).status_code == 422
    assert (await api.post(url, json={"contact_id": str(uuid.uuid4())}, headers=admin)).status_code == 404
    other = auth(tid=f"t-{uuid.uuid4().hex[:8]}", scopes=("crm:admin",))
    assert (await api.post(url, json={"contact_id": contact["id"]}, headers=other)).status_code == 404
    branch = auth(tid=tid, whid="wh-1", scopes=("crm:admin",))
    assert (await api.post(url, json={"contact_id": contact["id"]}, headers=branch)).status_code == 403
    writer = auth(tid=tid, scopes=("crm:read", "crm:write"))
    assert (await api.post(url, json={"contact_id": contact["id"]}, headers=writer)).status_code == 403
    made = await api.post(url, json={"contact_id": contact["id"]}, headers=admin)
    assert made.status_code == 202
    assert (await api.get(f"{url}/{made.json()['id']}", headers=other)).status_code == 404
    assert (await api.get(f"{url}/{made.json()['id']}/certificate", headers=admin)).status_code == 409


async def test_subject_access_export_holds_every_store_and_is_signed(
    api: httpx.AsyncClient, auth: Auth, admin_pool: asyncpg.Pool, redis: aioredis.Redis
) -> None:
    tid = f"t-{uuid.uuid4().hex[:8]}"
    admin = auth(tid=tid, scopes=("crm:admin",))
    ana, other = Person(uuid.uuid4().hex[:6].upper()), Person(uuid.uuid4().hex[:6].upper())
    branch = auth(tid=tid, whid="wh-1", scopes=("crm:admin",))
    cid = await _seed(api, admin_pool, redis, branch, tid, ana)
    await _seed(api, admin_pool, redis, branch, tid, other)

    r = await api.get(f"{BASE}/privacy/subject-export", params={"contact_id": str(cid)}, headers=admin)

    assert r.status_code == 200, r.text
    document = r.json()
    public = serialization.load_pem_public_key((await api.get(f"{BASE}/audit/public-key")).content)
    assert isinstance(public, Ed25519PublicKey)
    verify(document, public)
    tables = document["tables"]
    for section in ("contacts", "leads", "consents", "activities", "email_deliveries", "email_events", "mentions"):
        assert len(tables[section]) == 1, section
    for section in ("calls", "call_passages", "web_behaviour", "journeys", "recommendation_interactions"):
        assert len(tables[section]) == 1, section
    assert tables["sole_trader_accounts"][0]["name"] == ana.shop
    assert sorted(d["kind"] for d in tables["decisions"]) == ["recommendation", "sentiment"]
    assert tables["calls"][0]["transcript"] == ana.said and tables["calls"][0]["embedding_dims"] == 384
    assert "embedding" not in tables["mentions"][0] and "search_folded" not in tables["contacts"][0]
    assert document["current_consent"][str(cid)]["marketing_email"] is True
    text = json.dumps(document)
    assert ana.email in text and other.email not in text and other.said not in text
    by_email = (await api.get(f"{BASE}/privacy/subject-export", params={"email": ana.email}, headers=admin)).json()
    assert by_email["tables"]["contacts"] == tables["contacts"]
    zipped = await api.get(
        f"{BASE}/privacy/subject-export", params={"handle": "@" + ana.handle, "format": "zip"}, headers=admin
    )
    assert zipped.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        # the handle names the mentions and, through its attributes, the contact
        assert {"mentions.csv", "contacts.csv", "calls.csv"} <= set(archive.namelist())
        verify(json.loads(archive.read("export.json")), public)
        assert ana.said in archive.read("mentions.csv").decode()
    # bad input and other tenants
    url = f"{BASE}/privacy/subject-export"
    assert (await api.get(url, headers=admin)).status_code == 422
    assert (await api.get(url, params={"email": "x@y.ro", "handle": "z"}, headers=admin)).status_code == 422
    assert (await api.get(url, params={"contact_id": str(cid), "format": "xml"}, headers=admin)).status_code == 422
    other_tenant = auth(tid=f"t-{uuid.uuid4().hex[:8]}", scopes=("crm:admin",))
    assert (await api.get(url, params={"contact_id": str(cid)}, headers=other_tenant)).status_code == 404
    assert (await api.get(url, params={"contact_id": str(cid)}, headers=branch)).status_code == 403
