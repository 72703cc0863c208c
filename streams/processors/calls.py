"""Call recordings → voice or vision analysis → ``ai.call_analyses`` + ``crm.voice.transcribed``/``crm.call.analyzed``.

A voice call's transcript is kept whole (``transcript``, its mean vector ``embedding``) and as passages
(``ai.call_passages``: each chunk of the encoder's window with its own vector), so a search finds the moment
in a long call where a topic came up, not only calls that are about it on average.

Recordings arrive by path (a file under the configured media root: shared
storage the producer wrote to) or inline as base64 within the event size limit.
A path outside the media root, a missing file, or one over ``max_media_bytes``
is an invalid event, as is media the model cannot decode.

A recording that names a contact (``contact_id``) is analysed only with their ``call_analysis`` consent
(:func:`consent_refusal`; the tenant's ``require_call_consent`` says whether a grant is needed or only a
withdrawal stops it). Without it the call is stored as not analysed, with the reason in
``not_analysed_reason``, and nothing is published: the media is never opened. An unknown contact id is an
invalid event.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import asdict, dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
import numpy as np

from crm_core.privacy import consent
from infra import decisions
from infra.db.tenancy import tenant_transaction
from infra.events.envelope import Envelope
from models.embeddings.encoder import Passage, mean_vector
from models.privacy.transcripts import redact_voice
from models.text.aspects import AspectMention
from models.vision.analyzer import VisionAnalysis
from models.voice.analyzer import AnalyzeOptions, VoiceAnalysis
from models.voice.profiles import parse_profile
from streams import store
from streams.processors.base import Context, InvalidEvent, Processor
from streams.schemas import (
    CallAnalyzed,
    CallSpeaker,
    VideoCallRecorded,
    VoiceCallRecorded,
    VoiceTranscribed,
    aspects_out,
)

PASSAGE_SQL = """
INSERT INTO ai.call_passages (tid, whid, mid, call_analysis_id, passage, text, embedding)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""

INSERT_SQL = """
INSERT INTO ai.call_analyses (tid, whid, mid, id, call_id, kind, account_id, recorded_at, duration_s, transcript,
    sentiment, sentiment_score, words_per_minute, talk_ratio, keywords, engagement, attention, dominant_emotion,
    analysis, embedding, aspects, contact_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
"""


def read_media(context: Context, path: str | None, b64: str | None) -> bytes:
    if b64 is not None:
        return base64.b64decode(b64)
    assert path is not None
    if context.media_root is None:
        raise InvalidEvent("recordings by path need a media root (VETTIFY_MEDIA_ROOT); send the media inline instead")
    root = context.media_root.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root):
        raise InvalidEvent(f"{path!r} is outside the media root")
    if not target.is_file():
        raise InvalidEvent(f"no recording at {path!r} under the media root")
    size = target.stat().st_size
    if size > context.max_media_bytes:
        raise InvalidEvent(f"the recording is {size} bytes; the limit is {context.max_media_bytes}")
    return target.read_bytes()


SKIPPED_SQL = """
INSERT INTO ai.call_analyses (tid, whid, mid, id, call_id, kind, account_id, recorded_at, analysis, contact_id,
    not_analysed_reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
"""


async def consent_refusal(context: Context, event: Envelope, contact_id: UUID | None) -> str | None:
    """Why a call naming ``contact_id`` must not be analysed (``None``: it may be)."""
    if contact_id is None:
        return None
    tenant = store.tenant_of(event)
    async with tenant_transaction(context.pool, tenant, readonly=True) as conn:
        if not await consent.contact_exists(conn, tenant, contact_id):
            raise InvalidEvent(f"no contact {contact_id} in this tenant")
        granted = await consent.latest(conn, tenant, contact_id, "call_analysis")
    if granted is False:
        return "the contact withdrew call_analysis consent"
    if granted is None and (await context.privacy_settings(event.tid, event.mid)).require_call_consent:
        return "no call_analysis consent recorded for the contact (the tenant requires one)"
    return None


@dataclass(frozen=True)
class CallAnalysis:
    result: VoiceAnalysis | VisionAnalysis | None  # the voice or vision deployment's answer; None: not analysed
    embedding: list[float] | None  # the transcript's vector (voice calls that said something)
    aspects: list[AspectMention] = field(default_factory=list)  # the transcript's sentences about an aspect
    passages: list[Passage] = field(default_factory=list)  # the transcript's chunks with their vectors
    not_analysed: str | None = None  # why the recording was stored without being analysed
    model: tuple[str, str] = ("", "")  # name and version, for the decision record
    input_digest: str = ""  # SHA-256 of the recording the model read


class CallProcessor(Processor[VoiceCallRecorded | VideoCallRecorded, CallAnalysis]):
    def ordering_key(self, event: Envelope, payload: VoiceCallRecorded | VideoCallRecorded) -> tuple[str, ...]:
        return (event.tid, event.mid, "call", payload.call_id)

    async def analyze(self, event: Envelope, payload: VoiceCallRecorded | VideoCallRecorded) -> CallAnalysis:
        refusal = await consent_refusal(self.context, event, payload.contact_id)
        if refusal is not None:  # never transcribed, never looked at
            return CallAnalysis(None, None, not_analysed=refusal)
        if isinstance(payload, VideoCallRecorded):
            video = await asyncio.to_thread(read_media, self.context, payload.video_path, payload.video_b64)
            return CallAnalysis(
                await self.context.models.vision(video, "video", payload.fps),
                None,
                model=await self.context.models.model_info("vision"),
                input_digest=decisions.input_hash(video),
            )
        audio = await asyncio.to_thread(read_media, self.context, payload.audio_path, payload.audio_b64)
        chosen = payload.profile or self.context.voice_profile_by_tenant.get(event.tid)
        options = AnalyzeOptions(
            profile=parse_profile(chosen) if chosen else None,
            language=payload.language,
            speakers=payload.speakers,
            rep=payload.rep,
        )
        analysis = await self.context.models.voice(audio, options)
        model = (analysis.model or "voice", (await self.context.models.model_info("voice"))[1])
        digest = decisions.input_hash(audio)
        if (await self.context.privacy_settings(event.tid, event.mid)).redact_transcripts:
            analysis, _ = redact_voice(analysis)  # before the transcript is embedded or stored
        transcript = analysis.transcript
        if not transcript.strip():
            return CallAnalysis(analysis, None, model=model, input_digest=digest)
        passages, aspects = await asyncio.gather(
            self.context.models.passages(transcript), self.context.models.aspects([transcript])
        )
        return CallAnalysis(analysis, mean_vector(passages), aspects[0], passages, model=model, input_digest=digest)

    async def write(
        self,
        conn: asyncpg.Connection,
        event: Envelope,
        payload: VoiceCallRecorded | VideoCallRecorded,
        call: CallAnalysis,
    ) -> None:
        analysis, embedding = call.result, call.embedding
        if analysis is None:
            await conn.execute(
                SKIPPED_SQL,
                event.tid,
                event.whid,
                event.mid,
                event.id,
                payload.call_id,
                "voice" if isinstance(payload, VoiceCallRecorded) else "video",
                payload.account_id,
                payload.recorded_at or event.occurred_at,
                {"not_analysed": call.not_analysed},
                payload.contact_id,
                call.not_analysed,
            )
            return
        voice = isinstance(analysis, VoiceAnalysis)
        row = _voice_row(analysis) if isinstance(analysis, VoiceAnalysis) else _video_row(analysis)
        await conn.execute(
            INSERT_SQL,
            event.tid,
            event.whid,
            event.mid,
            event.id,
            payload.call_id,
            "voice" if voice else "video",
            payload.account_id,
            payload.recorded_at or event.occurred_at,
            row["duration_s"],
            row.get("transcript"),
            row.get("sentiment"),
            row.get("sentiment_score"),
            row.get("words_per_minute"),
            row.get("talk_ratio"),
            row.get("keywords", []),
            row.get("engagement"),
            row.get("attention"),
            row.get("dominant_emotion"),
            analysis.as_dict(),
            np.asarray(embedding, dtype=np.float32) if embedding is not None else None,
            [asdict(a) for a in call.aspects],
            payload.contact_id,
        )
        if call.passages:
            await conn.executemany(
                PASSAGE_SQL,
                [
                    (event.tid, event.whid, event.mid, event.id, i, p.text, np.asarray(p.vector, dtype=np.float32))
                    for i, p in enumerate(call.passages)
                ],
            )
        analyzed = CallAnalyzed(
            call_id=payload.call_id,
            kind="voice" if voice else "video",
            account_id=payload.account_id,
            **{k: row.get(k) for k in CALL_FIELDS},
            speakers=_speakers(analysis) if isinstance(analysis, VoiceAnalysis) else None,
            aspects=aspects_out(call.aspects) if voice else None,
        )
        if voice:
            transcribed = VoiceTranscribed(
                call_id=payload.call_id,
                account_id=payload.account_id,
                transcript=(row.get("transcript") or "")[:2000],
                words=len(analysis.words) if isinstance(analysis, VoiceAnalysis) else 0,
                duration_s=row["duration_s"],
                sentiment=row.get("sentiment"),
                keywords=row.get("keywords", []),
                profile=analysis.profile if isinstance(analysis, VoiceAnalysis) else None,
                no_speech=analysis.no_speech if isinstance(analysis, VoiceAnalysis) else False,
            )
            await store.publish(
                conn, event, "crm.voice.transcribed", transcribed, aggregate_type="call", aggregate_id=event.id
            )
        await store.publish(conn, event, "crm.call.analyzed", analyzed, aggregate_type="call", aggregate_id=event.id)
        await decisions.record(
            conn,
            store.tenant_of(event),
            kind="call_analysis",
            ref_id=event.id,
            model=call.model[0],
            model_version=call.model[1],
            input_digest=call.input_digest,
            output={k: row.get(k) for k in CALL_FIELDS},
            explanation={
                "profile": analysis.profile,
                "speakers": len(analysis.speakers),
                "no_speech": analysis.no_speech,
            }
            if isinstance(analysis, VoiceAnalysis)
            else None,
            contact_id=payload.contact_id,
            account_id=payload.account_id,
        )


CALL_FIELDS = (
    "sentiment",
    "sentiment_score",
    "words_per_minute",
    "talk_ratio",
    "engagement",
    "attention",
    "dominant_emotion",
    "faces_found",
)


def _voice_row(analysis: VoiceAnalysis) -> dict[str, Any]:
    overall = analysis.overall_sentiment
    return {
        "duration_s": analysis.duration_s,
        "transcript": analysis.transcript,
        "sentiment": overall.label if overall else None,
        "sentiment_score": overall.score if overall else None,
        "words_per_minute": analysis.words_per_minute,
        "talk_ratio": analysis.speaking_ratio,
        "keywords": list(analysis.keywords),
    }


def _speakers(analysis: VoiceAnalysis) -> list[CallSpeaker]:
    return [
        CallSpeaker(
            speaker=s.speaker,
            role=s.role,
            talk_ratio=s.talk_ratio,
            words_per_minute=s.words_per_minute,
            interruptions=s.interruptions,
            longest_monologue_s=s.longest_monologue_s,
            sentiment=s.sentiment.label if s.sentiment else None,
        )
        for s in analysis.speakers
    ]


def _video_row(analysis: VisionAnalysis) -> dict[str, Any]:
    summary = analysis.summary
    return {
        "duration_s": summary.duration_s,
        "engagement": summary.mean_engagement,
        "attention": summary.mean_attention,
        "dominant_emotion": summary.dominant_emotion,
        "faces_found": summary.face_presence_ratio > 0.0,
    }
