"""Redaction before storage, per tenant: mention text and call transcripts reach the database and the vectors
with their personal identifiers replaced, as the tenant's settings say."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis.asyncio as aioredis

from crm_core.anaf.cui import control_digit
from crm_core.delivery.worker import DeliveryWorker
from crm_core.privacy.erasure import ErasureRunner
from crm_core.services.audit_export import load_or_create_key
from infra.settings import Settings
from models.topics.keywords import words
from models.voice.evaluate import synthesise
from streams.core import StreamProcessor
from streams.processors.base import Outcome
from tests.integration.conftest import ServeStack
from tests.integration.crm_core.api.conftest import Auth
from tests.integration.crm_core.conftest import Sink
from tests.integration.streams.conftest import envelope
from tests.support.privacy_scan import redis_hits, table_hits

TEXT = "Nu merge nimic, scrieti-mi la ana.pop@exemplu.ro sau sunati la 0722 123 456, CNP 1960529460012"


async def _set(admin_pool: asyncpg.Pool, tid: str, *, transcripts: bool, mentions: bool) -> None:
    await admin_pool.execute(
        "INSERT INTO crm.privacy_settings (tid, mid, redact_transcripts, redact_mentions) VALUES ($1, 'm-1', $2, $3)",
        tid,
        transcripts,
        mentions,
    )


def _mention(tenant: dict[str, str]) -> bytes:
    payload = {"post_id": uuid.uuid4().hex, "brand": "acme", "text": TEXT, "author": "@ana"}
    return envelope("social.twitter.mention", payload, tenant).to_json()


async def test_mentions_are_redacted_before_storage_when_the_tenant_asks(
    processor: StreamProcessor, admin_pool: asyncpg.Pool
) -> None:
    redacting = {"tid": f"t-{uuid.uuid4().hex[:10]}", "mid": "m-1"}
    default = {"tid": f"t-{uuid.uuid4().hex[:10]}", "mid": "m-1"}
    await _set(admin_pool, redacting["tid"], transcripts=True, mentions=True)
    results = await processor.handle_many([_mention(redacting), _mention(default)], "test")
    assert [r.outcome for r in results] == [Outcome.STORED, Outcome.STORED]
    stored = {
        r["tid"]: r["text"]
        for r in await admin_pool.fetch(
            "SELECT tid, text FROM ai.social_insights WHERE tid = ANY($1::text[])", [redacting["tid"], default["tid"]]
        )
    }
    assert stored[redacting["tid"]] == ("Nu merge nimic, scrieti-mi la [EMAIL] sau sunati la [PHONE], CNP [CNP]")
    assert stored[default["tid"]] == TEXT  # mentions are public posts: kept as written unless the tenant asks
    leaked = await admin_pool.fetchval(
        "SELECT count(*) FROM ai.social_insights WHERE tid = $1 AND (text LIKE '%ana.pop%' OR aspects::text LIKE "
        "'%ana.pop%' OR text LIKE '%0722%')",
        redacting["tid"],
    )
    assert leaked == 0


async def test_call_transcripts_are_redacted_by_default(
    processor: StreamProcessor, admin_pool: asyncpg.Pool, serve_stack: ServeStack, tmp_path: Path
) -> None:
    spoken = synthesise(
        # The commas are the speaker's pauses between digit groups. Without them Whisper regrouped the digits by
        # machine and speed (07-445-155-123 on an AVX2 AMD at 140 wpm); with them it wrote 0744-555-123 at
        # 120-160 wpm and 1-2 threads there.
        "Call me tomorrow on 0744, 555, 123.",
        "en-us",
        140,
        16000,
        "wav",
        tmp_path,
        0,
    )
    recording = serve_stack.media_root / f"privacy-{uuid.uuid4().hex[:8]}.wav"  # too big to send inline here
    shutil.copy(spoken, recording)
    default = {"tid": f"t-{uuid.uuid4().hex[:10]}", "mid": "m-1"}
    opted_out = {"tid": f"t-{uuid.uuid4().hex[:10]}", "mid": "m-1"}
    await _set(admin_pool, opted_out["tid"], transcripts=False, mentions=False)
    events = [
        envelope(
            "media.voice.call.recorded", {"call_id": "c1", "audio_path": recording.name, "profile": "accurate"}, t
        ).to_json()
        for t in (default, opted_out)
    ]
    results = await processor.handle_many(events, "test")
    assert [r.outcome for r in results] == [Outcome.STORED, Outcome.STORED], results
    rows = {
        r["tid"]: r
        for r in await admin_pool.fetch(
            "SELECT tid, transcript, analysis::text AS analysis FROM ai.call_analyses WHERE tid = ANY($1::text[])",
            [default["tid"], opted_out["tid"]],
        )
    }
    raw = rows[opted_out["tid"]]["transcript"]
    assert PHONE_DIGITS in _digits(raw), f"the recogniser did not write the number as digits: {raw!r}"
    redacted = rows[default["tid"]]
    assert "[PHONE]" in redacted["transcript"] and PHONE_DIGITS[:4] not in _digits(redacted["transcript"])
    # segments and words too (the words hold the digits one group at a time)
    analysis = json.loads(redacted["analysis"])
    spoken_texts = [s["text"] for s in analysis["segments"]] + [w["word"] for w in analysis["words"]]
    assert "[PHONE]" in redacted["analysis"] and not any("555" in text for text in spoken_texts), spoken_texts
    passages = await admin_pool.fetch("SELECT text FROM ai.call_passages WHERE tid = $1", default["tid"])
    assert passages and all(PHONE_DIGITS[:4] not in _digits(p["text"]) for p in passages)
    published = await admin_pool.fetchval(
        "SELECT payload::text FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.voice.transcribed'", default["tid"]
    )
    assert "[PHONE]" in published and PHONE_DIGITS[:4] not in published


PHONE_DIGITS = "0744555123"


def _digits(text: str) -> str:
    """The digits of ``text`` run together: the recogniser groups a spoken number as it likes."""
    return re.sub(r"\D", "", text)


async def _contact(admin_pool: asyncpg.Pool, tid: str, *answers: bool) -> uuid.UUID:
    """A contact whose call_analysis consent ledger holds ``answers`` in order."""
    contact: uuid.UUID = await admin_pool.fetchval(
        "INSERT INTO crm.contacts (tid, mid, first_name) VALUES ($1, 'm-1', 'Ana') RETURNING id", tid
    )
    for i, granted in enumerate(answers):
        await admin_pool.execute(
            "INSERT INTO crm.consent_history (tid, mid, contact_id, purpose, granted, source, occurred_at) "
            "VALUES ($1, 'm-1', $2, 'call_analysis', $3, 'call', now() - make_interval(mins => $4))",
            tid,
            contact,
            granted,
            len(answers) - i,
        )
    return contact


async def test_a_call_is_analysed_only_with_the_contacts_call_analysis_consent(
    processor: StreamProcessor, admin_pool: asyncpg.Pool, serve_stack: ServeStack, tmp_path: Path
) -> None:
    spoken = synthesise("Thank you for calling, how can I help?", "en-us", 150, 16000, "wav", tmp_path, 0)
    recording = serve_stack.media_root / f"consent-{uuid.uuid4().hex[:8]}.wav"
    shutil.copy(spoken, recording)
    strict = {"tid": f"t-{uuid.uuid4().hex[:10]}", "mid": "m-1"}  # the default: a grant is needed
    lenient = {"tid": f"t-{uuid.uuid4().hex[:10]}", "mid": "m-1"}
    await admin_pool.execute(
        "INSERT INTO crm.privacy_settings (tid, mid, require_call_consent) VALUES ($1, 'm-1', false)", lenient["tid"]
    )
    granted = await _contact(admin_pool, strict["tid"], True)
    never_asked = await _contact(admin_pool, strict["tid"])
    withdrew = await _contact(admin_pool, strict["tid"], True, False)
    lenient_never = await _contact(admin_pool, lenient["tid"])
    lenient_withdrew = await _contact(admin_pool, lenient["tid"], False)
    calls = [
        (strict, granted),
        (strict, never_asked),
        (strict, withdrew),
        (lenient, lenient_never),
        (lenient, lenient_withdrew),
        (strict, uuid.uuid4()),  # nobody in this tenant
    ]
    events = [
        envelope(
            "media.voice.call.recorded",
            {"call_id": f"c{i}", "audio_path": recording.name, "contact_id": str(contact)},
            tenant,
        ).to_json()
        for i, (tenant, contact) in enumerate(calls)
    ]
    results = await processor.handle_many(events, "test")
    assert [r.outcome for r in results] == [Outcome.STORED] * 5 + [Outcome.DEAD_LETTERED], results
    rows = {
        r["contact_id"]: r
        for r in await admin_pool.fetch(
            "SELECT contact_id, transcript, not_analysed_reason, analysis FROM ai.call_analyses "
            "WHERE tid = ANY($1::text[])",
            [strict["tid"], lenient["tid"]],
        )
    }
    for analysed in (granted, lenient_never):
        assert rows[analysed]["transcript"] and rows[analysed]["not_analysed_reason"] is None
    for refused, why in (
        (never_asked, "no call_analysis consent"),
        (withdrew, "withdrew"),
        (lenient_withdrew, "withdrew"),
    ):
        row = rows[refused]
        assert row["transcript"] is None and why in row["not_analysed_reason"], row
        assert row["analysis"] == {"not_analysed": row["not_analysed_reason"]}
    published = await admin_pool.fetchval(
        "SELECT count(*) FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.call.analyzed'", strict["tid"]
    )
    assert published == 1  # only the call that was analysed


async def test_a_subject_seeded_through_every_path_is_erased_from_every_table_key_and_vector(
    api: httpx.AsyncClient,
    auth: Auth,
    processor: StreamProcessor,
    app_pool: asyncpg.Pool,
    worker_pool: asyncpg.Pool,
    admin_pool: asyncpg.Pool,
    redis_client: aioredis.Redis,
    worker: DeliveryWorker,
    smtp_sink: Sink,
    serve_stack: ServeStack,
    test_settings: Settings,
    tmp_path: Path,
) -> None:
    tag = uuid.uuid4().hex[:6]
    tid = f"t-{tag}"
    tenant = {"tid": tid, "mid": "m-1"}
    headers = auth(tid=tid, scopes=("crm:read", "crm:write", "crm:admin", "marketing:send"))
    first, last, email, phone = f"Ioana{tag}", f"Marinescu{tag}", f"ioana.{tag}@ok.test", f"+40731{tag[:3]}555"
    handle, shop = f"ioana_{tag}", f"MARINESCU {tag} IOANA PFA"
    said = f"Comanda {tag} a venit sparta, sunt foarte suparata"
    needles = [first, last, email, phone, handle, shop, said]

    async def post(url: str, body: dict[str, Any]) -> Any:
        response = await api.post(f"/v1/crm{url}", json=body, headers=headers)
        assert response.status_code in (200, 201, 202), response.text
        return response.json()

    # REST: the person, their lead, consents, an activity; their own business as the account
    body = str(1_000_000 + int(tag, 16) % 8_999_999)
    account = await post("/accounts", {"name": shop, "cui": body + str(control_digit(body))})
    contact = await post(
        "/contacts",
        {
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": phone,
            "account_id": account["id"],
            "consent_marketing": True,
            "attributes": {"twitter": "@" + handle},
        },
    )
    other = await post(
        "/contacts", {"first_name": f"Radu{tag}", "email": f"radu.{tag}@ok.test", "account_id": account["id"]}
    )
    for purpose in ("call_analysis", "profiling"):
        await post(f"/contacts/{contact['id']}/consents", {"purpose": purpose, "granted": True, "source": "call"})
    await post("/leads", {"first_name": first, "last_name": last, "email": email, "company_name": shop})
    await post(
        f"/accounts/{account['id']}/activities",
        {"kind": "call", "subject": f"Call with {first}", "contact_id": contact["id"]},
    )
    await admin_pool.execute(
        "UPDATE crm.accounts SET anaf_data = $2 WHERE id = $1",
        uuid.UUID(account["id"]),
        {"found": True, "official_name": shop, "registration_number": "F22/1/2019"},
    )
    # events on every source: a mention, a recorded call, a web session, orders; all through the processors
    spoken = synthesise("I would like to order more coffee please.", "en-us", 150, 16000, "wav", tmp_path, 0)
    recording = serve_stack.media_root / f"erasure-{tag}.wav"
    shutil.copy(spoken, recording)
    events = [
        envelope(
            "social.twitter.mention",
            {"post_id": f"p-{tag}", "brand": "acme", "text": said, "author": "@" + handle},
            tenant,
        ),
        envelope(
            "social.twitter.mention",
            {"post_id": f"q-{tag}", "brand": "acme", "text": "Radu zice ca e bine", "author": "@radu"},
            tenant,
        ),
        envelope(
            "media.voice.call.recorded",
            {"call_id": f"c-{tag}", "audio_path": recording.name, "contact_id": contact["id"]},
            tenant,
        ),
        *(
            envelope(
                "web.user.behavior.tracked",
                {"session_id": f"s-{tag}", "action": action, "page": page, "contact_id": contact["id"]},
                tenant,
            )
            for action, page in (("page_view", "/pricing"), ("click", "/demo"), ("signup", "/signup"))
        ),
        envelope(  # LinkedIn: a prospect recognised by their e-mail, matched to the contact
            "social.linkedin.signal",
            {
                "kind": "message_reply",
                "user": "rep-1",
                "prospect": {"name": f"{first} {last}", "email": email, "company": shop},
            },
            tenant,
        ),
        *(
            envelope(
                "sales.order.created",
                {"order_id": f"o{i}-{tag}", "account_id": account["id"], "total": "90.00"},
                tenant,
            )
            for i in range(2)
        ),
    ]
    results = await processor.handle_many([e.to_json() for e in events], "test")
    assert {r.outcome for r in results} == {Outcome.STORED}, results
    # an e-mail campaign, really delivered over SMTP
    campaign = await post(
        "/campaigns", {"name": f"C {tag}", "subject": "Salut {{ contact.first_name }}", "html": "<p>Salut</p>"}
    )
    await post(f"/campaigns/{campaign['id']}/send", {})
    await worker.drain()
    assert len(smtp_sink.to(email)) == 1
    await admin_pool.execute("UPDATE crm.outbox SET published_at = now() WHERE tid = $1", tid)  # as the relay would
    before = await table_hits(admin_pool, tid, needles)
    assert {"crm.contacts", "crm.leads", "ai.social_insights", "crm.email_deliveries", "crm.audit_log",
            "ai.prospects"} <= set(before)  # fmt: skip
    call_id = await admin_pool.fetchval(
        "SELECT id FROM ai.call_analyses WHERE tid = $1 AND contact_id = $2", tid, uuid.UUID(contact["id"])
    )
    assert call_id is not None

    erased = await post("/privacy/erasure-requests", {"email": email.upper()})
    runner = ErasureRunner(
        app_pool, worker_pool, key=load_or_create_key(test_settings.resolved_audit_key_path), redis=redis_client
    )
    await runner.drain()

    state = (await api.get(f"/v1/crm/privacy/erasure-requests/{erased['id']}", headers=headers)).json()
    assert state["state"] == "done", state
    assert await table_hits(admin_pool, tid, needles) == {}
    assert await redis_hits(redis_client, [shop, account["id"]]) == []  # churn features and ANAF answers
    vectors = await admin_pool.fetchval(
        "SELECT (SELECT count(*) FROM ai.social_insights WHERE tid = $1 AND lower(author) = $2)"
        " + (SELECT count(*) FROM ai.call_passages WHERE tid = $1 AND call_analysis_id = $3)"
        " + (SELECT count(*) FROM ai.call_analyses WHERE tid = $1 AND id = $3)"
        " + (SELECT count(*) FROM ai.behavior_patterns WHERE tid = $1 AND session_id = $4)"
        " + (SELECT count(*) FROM ai.decisions WHERE tid = $1 AND (ref_id = $3 OR account_id = $5))",
        tid,
        "@" + handle,
        call_id,
        f"s-{tag}",
        uuid.UUID(account["id"]),
    )
    assert vectors == 0
    # the topic the two mentions share keeps only the other person's words, and counts one mention
    (topic,) = await admin_pool.fetch("SELECT size, terms FROM ai.topics WHERE tid = $1", tid)
    assert topic["size"] == 1 and set(topic["terms"]) == set(words("Radu zice ca e bine")), topic
    # the other person is untouched: their contact and their mention, with its vector
    assert (await api.get(f"/v1/crm/contacts/{other['id']}", headers=headers)).json()["email"] == f"radu.{tag}@ok.test"
    assert (
        await admin_pool.fetchval(
            "SELECT count(*) FROM ai.social_insights WHERE tid = $1 AND author = '@radu' AND embedding IS NOT NULL", tid
        )
        == 1
    )
