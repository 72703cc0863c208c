"""Redaction before storage, per tenant: mention text and call transcripts reach the database and the vectors
with their personal identifiers replaced, as the tenant's settings say."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import asyncpg

from models.voice.evaluate import synthesise
from streams.core import StreamProcessor
from streams.processors.base import Outcome
from tests.integration.conftest import ServeStack
from tests.integration.streams.conftest import envelope

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
        "Call me on 0722 123 456 tomorrow.",  # the recogniser writes it 0722-123-456
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
    assert "0722" in raw, f"the recogniser did not write the number as digits: {raw!r}"
    redacted = rows[default["tid"]]
    assert "[PHONE]" in redacted["transcript"] and "0722" not in redacted["transcript"]
    assert "0722" not in redacted["analysis"] and "[PHONE]" in redacted["analysis"]  # segments and words too
    passages = await admin_pool.fetch("SELECT text FROM ai.call_passages WHERE tid = $1", default["tid"])
    assert passages and all("0722" not in p["text"] for p in passages)
    published = await admin_pool.fetchval(
        "SELECT payload::text FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.voice.transcribed'", default["tid"]
    )
    assert "[PHONE]" in published and "0722" not in published


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
