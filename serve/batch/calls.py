"""``vettify batch analyze-calls DIR``: a folder of recordings (voice and video) into ``ai.call_analyses``.

Each recording becomes what the stream makes of a ``media.voice.call.recorded`` / ``media.video.call.recorded``
event, written by the same :class:`streams.processors.calls.CallProcessor` code: the analysis row, its
transcript passages, ``crm.voice.transcribed`` / ``crm.call.analyzed`` and the decision record. The event id
is derived from the tenant and the recording's SHA-256, and claimed in the processed-events ledger in the
write's transaction, so the same recording is analysed once however often the job runs (a copy under another
name too). A manifest (CSV: ``file`` plus any of ``call_id, account_id, contact_id, recorded_at, language,
speakers, rep, fps``) names what the files cannot say; a call naming a contact is analysed only with their
``call_analysis`` consent, as on the stream. Files that cannot be read or decoded are bad rows, by path.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import pickle
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from infra.db.tenancy import tenant_transaction
from serve.batch import runs
from serve.batch.pipeline import Batch, TenantStage, by_page, page_rows, rows_batch, summary_batch

VOICE = {".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus", ".webm"}
VIDEO = {".mp4", ".avi", ".mov", ".mkv"}
NAMESPACE = uuid.UUID("6f1e2c1a-93a5-4c0e-9d0c-6a8f6a0f2b77")  # batch call ids: uuid5(tenant + SHA-256)
MANIFEST_FIELDS = {"file", "call_id", "account_id", "contact_id", "recorded_at", "language", "speakers", "rep", "fps"}


def recordings(folder: Path) -> list[str]:
    """Every recording under ``folder`` (by extension), as sorted relative POSIX paths: the job's keys."""
    found = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VOICE | VIDEO]
    return sorted(p.relative_to(folder).as_posix() for p in found)


def read_manifest(path: Path) -> dict[str, dict[str, str]]:
    """``file`` → its other columns (blank cells dropped). Unknown columns are an error, not ignored."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        if "file" not in columns:
            raise ValueError(f"{path}: the manifest needs a 'file' column")
        unknown = columns - MANIFEST_FIELDS
        if unknown:
            raise ValueError(f"{path}: unknown columns {sorted(unknown)}; known: {sorted(MANIFEST_FIELDS)}")
        return {
            row["file"]: {k: v.strip() for k, v in row.items() if k != "file" and v and v.strip()} for row in reader
        }


def call_id_of(tid: str, mid: str, digest: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{tid}/{mid}/{digest}")


class Reader(TenantStage):
    def __init__(
        self,
        dsn: str,
        tenant: dict[str, Any],
        folder: str,
        manifest: dict[str, dict[str, str]],
        max_bytes: int,
        fps: float,
    ) -> None:
        super().__init__(dsn, tenant)
        from crm_core.privacy.settings import SettingsCache
        from streams.models import ServeModels
        from streams.processors.base import Context

        self.folder, self.manifest, self.max_bytes, self.fps = Path(folder), manifest, max_bytes, fps
        self.keys = recordings(self.folder)  # listed once per actor, not once per page
        self.context = Context(pool=self.pool, models=ServeModels(handles={}), privacy=SettingsCache(self.pool))

    def __call__(self, pages: Batch) -> Batch:
        (page,) = list(page_rows(pages))
        return self.run(self._read(page))

    async def _read(self, page: dict[str, Any]) -> Batch:
        start = 0 if page["lo"] is None else bisect.bisect_right(self.keys, page["lo"])
        keys = self.keys[start : bisect.bisect_right(self.keys, page["hi"])]
        rows = [await self._one(key) for key in keys]
        empty = {"key": "", "event": "", "media": b"", "refusal": "", "redact": False, "profile": "", "error": ""}
        return rows_batch(page["page"], rows, empty)

    async def _one(self, key: str) -> dict[str, Any]:
        from infra.errors import InvalidEvent
        from streams import store
        from streams.processors.calls import consent_refusal

        row: dict[str, Any] = {"key": key, "event": "", "media": b"", "refusal": "", "redact": False, "profile": ""}
        path = self.folder / key
        try:
            size = path.stat().st_size
            if size > self.max_bytes:
                return {**row, "error": f"the recording is {size:,} bytes; the limit is {self.max_bytes:,}"}
            media = path.read_bytes()
        except OSError as exc:
            return {**row, "error": f"cannot read it: {exc}"}
        try:
            event = self._event(key, media, path)
        except ValidationError as exc:  # the manifest's values for this file
            fields = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            return {**row, "error": f"invalid manifest values: {fields}"}
        t = self.tenant
        async with tenant_transaction(self.pool, t, readonly=True) as conn:
            if await store.seen(conn, event):
                return {**row, "event": event.to_json().decode(), "error": "", "refusal": "already analysed"}
        contact = event.payload.get("contact_id")
        try:
            refusal = await consent_refusal(self.context, event, uuid.UUID(str(contact)) if contact else None)
        except InvalidEvent as exc:
            return {**row, "error": str(exc)}
        settings = await self.context.privacy_settings(t.tid, t.mid)
        return {
            **row,
            "event": event.to_json().decode(),
            "media": b"" if refusal else media,
            "refusal": refusal or "",
            "redact": settings.redact_transcripts,
            "profile": event.payload.get("profile") or "",
            "error": "",
        }

    def _event(self, key: str, media: bytes, path: Path) -> Any:
        from infra.events.envelope import Envelope
        from streams.schemas import VideoCallRecorded, VoiceCallRecorded

        t = self.tenant
        given = dict(self.manifest.get(key, {}))
        video = Path(key).suffix.lower() in VIDEO
        payload: dict[str, Any] = {"call_id": given.pop("call_id", key)}
        if video:
            payload |= {"video_path": key, "fps": given.pop("fps", self.fps)}  # checked below, like the rest
        else:
            payload |= {"audio_path": key}
            given.pop("fps", None)
        payload |= given
        recorded = payload.get("recorded_at") or datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat()
        payload["recorded_at"] = recorded
        kind = "media.video.call.recorded" if video else "media.voice.call.recorded"
        checked = (VideoCallRecorded if video else VoiceCallRecorded).model_validate(payload)  # raises ValueError
        return Envelope(
            id=call_id_of(t.tid, t.mid, hashlib.sha256(media).hexdigest()),
            type=kind,
            tid=t.tid,
            mid=t.mid,
            whid=t.whid,
            occurred_at=checked.recorded_at,
            payload=checked.model_dump(mode="json", exclude_none=True),
        )


class Model:
    """Voice (faster-whisper, in-process sentiment), embeddings and aspects; vision loaded on the first video."""

    def __init__(self, voice: dict[str, Any], threads: int) -> None:
        from models.registry import ModelOptions, registry

        options = {k: Path(v) if k in ("model_path", "artifacts_dir") and v else v for k, v in voice.items()}
        self.threads = threads
        self.voice = registry.load("voice", ModelOptions(threads=threads, **options))
        self.sentiment = registry.load("sentiment", ModelOptions(threads=threads))
        self.encoder = registry.load("embedding", ModelOptions(threads=threads))
        self.vision: Any = None

    def __call__(self, batch: Batch) -> Batch:
        n = len(batch["key"])
        analyses = np.empty(n, dtype=object)
        errors = np.asarray([str(e) for e in batch["error"]], dtype=object)
        for i in range(n):
            analyses[i] = b""
            if not bool(batch["live"][i]) or errors[i] or batch["refusal"][i] == "already analysed":
                continue
            try:
                analyses[i] = pickle.dumps(self._analyze(batch, i))
            except Exception as exc:  # an undecodable file is a bad row, not a failed job
                errors[i] = f"cannot analyse it: {str(exc).splitlines()[0][:300]}"
        batch["analysis"], batch["error"] = analyses, errors
        batch["media"] = np.asarray([b""] * n, dtype=object)  # not carried to the writer
        return batch

    def _analyze(self, batch: Batch, i: int) -> Any:
        import json

        from infra import decisions
        from models.embeddings.encoder import mean_vector
        from models.privacy.transcripts import redact_voice
        from models.voice.analyzer import AnalyzeOptions
        from models.voice.profiles import parse_profile
        from streams.processors.calls import CallAnalysis

        if batch["refusal"][i]:
            return CallAnalysis(None, None, not_analysed=str(batch["refusal"][i]))
        media, event = bytes(batch["media"][i]), json.loads(str(batch["event"][i]))
        payload, digest = event["payload"], decisions.input_hash(bytes(batch["media"][i]))
        if event["type"] == "media.video.call.recorded":
            if self.vision is None:
                from models.registry import registry

                self.vision = registry.load("vision")
            vision = self.vision.analyze_video(media, float(payload.get("fps", 1.0)))
            return CallAnalysis(vision, None, model=("vision", str(self.vision.version)), input_digest=digest)
        profile = str(batch["profile"][i]) or None
        options = AnalyzeOptions(
            profile=parse_profile(profile) if profile else None,
            language=payload.get("language", "en"),
            speakers=payload.get("speakers"),
            rep=payload.get("rep"),
        )
        analysis = self.voice.analyze(media, self.sentiment.analyze, options)
        model = (analysis.model or "voice", str(self.voice.version))
        if bool(batch["redact"][i]):
            analysis, _ = redact_voice(analysis)
        if not analysis.transcript.strip():
            return CallAnalysis(analysis, None, model=model, input_digest=digest)
        passages = self.encoder.passages(analysis.transcript)
        aspects = self.sentiment.aspects([analysis.transcript])[0]
        return CallAnalysis(analysis, mean_vector(passages), aspects, passages, model=model, input_digest=digest)


class Writer(TenantStage):
    def __init__(self, dsn: str, tenant: dict[str, Any], run_id: str) -> None:
        super().__init__(dsn, tenant)
        from streams.models import ServeModels
        from streams.processors.base import Context
        from streams.processors.calls import CallProcessor

        self.run_id = uuid.UUID(run_id)
        self.processor = CallProcessor(Context(pool=self.pool, models=ServeModels(handles={})))

    def __call__(self, batch: Batch) -> Batch:
        return summary_batch([self.run(self._write(batch, page, rows, whole)) for page, rows, whole in by_page(batch)])

    async def _write(self, batch: Batch, page: int, indexes: list[int], whole: bool) -> dict[str, Any]:
        from infra.events.envelope import Envelope
        from streams import store
        from streams.schemas import CONSUMED

        t = self.tenant
        live = [i for i in indexes if bool(batch["live"][i])]
        bad = [{"id": str(batch["key"][i]), "reason": str(batch["error"][i])} for i in live if batch["error"][i]]
        written = unchanged = 0
        reasons: dict[str, int] = {}
        async with tenant_transaction(self.pool, t) as conn:
            for i in live:
                if batch["error"][i]:
                    continue
                event = Envelope.from_json(str(batch["event"][i]).encode())
                if batch["refusal"][i] == "already analysed" or not await store.claim(conn, event, "batch"):
                    unchanged += 1
                    continue
                call = pickle.loads(bytes(batch["analysis"][i]))  # noqa: S301 - made by this job's model actor
                if call.not_analysed:
                    reasons[call.not_analysed] = reasons.get(call.not_analysed, 0) + 1
                payload = CONSUMED[event.type].model_validate(event.payload)
                await self.processor.write(conn, event, payload, call)  # type: ignore[arg-type]
                written += 1
            result = runs.PageResult(page, len(live), written, unchanged, bad, skipped=reasons)
            return await runs.close_page(conn, t, self.run_id, result, whole=whole)
