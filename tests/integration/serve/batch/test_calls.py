"""``vettify batch analyze-calls`` over a real folder: espeak-ng calls, an LFW video call, a broken file.

The rows, passages, events and decisions must be what the stream writes for the same recordings; a broken
file is a bad row by path; a call whose contact withdrew consent is stored unanalysed; a second run
changes nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from serve.slo.media import video_call
from tests.support.batch_cli import batch_argv, batch_env, run_batch
from tests.support.databases import ProvisionedDatabase

pytestmark = pytest.mark.slow

LINES = {
    "2026/11/renewal.wav": "Thank you for joining, the renewal price for next year is lower than before.",
    "2026/11/support.wav": "The delivery was late again and support did not call me back, I am disappointed.",
    "2026/12/demo.wav": "Could we schedule a demo with your operations lead on Thursday afternoon?",
}


def _speak(text: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is installed by `make services`"
    subprocess.run([espeak, "-v", "en-us", "-s", "150", "-w", str(target), text], check=True, capture_output=True)


def _run(database: ProvisionedDatabase, tmp: Path, folder: Path, tenant: str, *extra: str) -> Any:
    argv = batch_argv(
        *("analyze-calls", str(folder), "--tenant", tenant, "--dsn", database.urls.app, "--page-size", "2", *extra)
    )
    return run_batch(batch_env(tmp, VETTIFY_VOICE_PROFILE="fast"), argv, timeout_s=900)


async def test_a_folder_of_calls_is_analysed_once_like_the_stream_does(
    migrated_database: ProvisionedDatabase, admin_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    tid, mid = f"calls-{uuid.uuid4().hex[:8]}", "m1"
    folder = tmp_path / "recordings"
    for name, line in LINES.items():
        _speak(line, folder / name)
    video, _ = video_call(None, frames=6)
    (folder / "2026/12/video-call.avi").write_bytes(video)
    (folder / "2026/12/broken.wav").write_bytes(b"RIFF\x00\x00not audio at all" * 40)
    (folder / "notes.txt").write_text("not a recording")
    _speak("My number is private, please do not record this.", folder / "2026/12/withdrawn.wav")
    _speak("This one has a manifest line nobody checked.", folder / "2026/12/typo.wav")
    contact = uuid.uuid4()
    await admin_pool.execute(
        "INSERT INTO crm.contacts (tid, whid, mid, id, first_name) VALUES ($1, NULL, $2, $3, 'Ioana')",
        tid,
        mid,
        contact,
    )
    await admin_pool.execute(
        "INSERT INTO crm.consent_history (tid, whid, mid, contact_id, purpose, granted, source) "
        "VALUES ($1, NULL, $2, $3, 'call_analysis', false, 'test')",
        tid,
        mid,
        contact,
    )
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "file,call_id,contact_id,speakers\n"
        f"2026/12/withdrawn.wav,CALL-7,{contact},\n"
        "2026/11/renewal.wav,CALL-1,,1\n"
        "2026/12/typo.wav,CALL-9,,two\n"
    )

    summary, stderr = _run(migrated_database, tmp_path, folder, f"{tid}/{mid}", "--manifest", str(manifest))

    (run,) = summary["runs"]
    assert (run["rows"], run["written"], run["unchanged"], run["bad"]) == (7, 5, 0, 2)
    assert run["skipped_reasons"] == {"the contact withdrew call_analysis consent": 1}
    assert "2026/12/broken.wav" in stderr and "cannot analyse it" in stderr
    assert "2026/12/typo.wav: invalid manifest values: speakers:" in stderr
    calls = {
        r["call_id"]: r
        for r in await admin_pool.fetch(
            "SELECT id, call_id, kind, transcript, sentiment, not_analysed_reason, contact_id, engagement "
            "FROM ai.call_analyses WHERE tid = $1",
            tid,
        )
    }
    assert set(calls) == {"CALL-1", "2026/11/support.wav", "2026/12/demo.wav", "2026/12/video-call.avi", "CALL-7"}
    assert "renewal" in calls["CALL-1"]["transcript"].lower()
    assert "demo" in calls["2026/12/demo.wav"]["transcript"].lower()
    assert calls["2026/11/support.wav"]["sentiment"] == "negative"
    assert (
        calls["2026/12/video-call.avi"]["kind"] == "video" and calls["2026/12/video-call.avi"]["engagement"] is not None
    )
    withdrawn = calls["CALL-7"]
    assert withdrawn["transcript"] is None and withdrawn["contact_id"] == contact
    assert withdrawn["not_analysed_reason"] == "the contact withdrew call_analysis consent"
    passages = await admin_pool.fetchval("SELECT count(*) FROM ai.call_passages WHERE tid = $1", tid)
    assert passages >= 3
    events = await admin_pool.fetch("SELECT event_type FROM crm.outbox WHERE tid = $1", tid)
    kinds = sorted(e["event_type"] for e in events)
    assert kinds == ["crm.call.analyzed"] * 4 + ["crm.voice.transcribed"] * 3
    assert (
        await admin_pool.fetchval("SELECT count(*) FROM ai.decisions WHERE tid = $1 AND kind = 'call_analysis'", tid)
        == 4
    )

    again, _ = _run(migrated_database, tmp_path, folder, f"{tid}/{mid}", "--manifest", str(manifest))

    (rerun,) = again["runs"]
    assert (rerun["written"], rerun["unchanged"], rerun["bad"]) == (0, 5, 2)
    assert await admin_pool.fetchval("SELECT count(*) FROM ai.call_analyses WHERE tid = $1", tid) == 5
    assert await admin_pool.fetchval("SELECT count(*) FROM crm.outbox WHERE tid = $1", tid) == len(events)
