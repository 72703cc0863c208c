"""The gateway's gRPC face: ``vettify.analytics.v1.Analytics`` (``protos/inference.proto``).

Serve's gRPC proxy calls these methods by name on the ingress replica, so they are methods of
:class:`AnalyticsMethods`, which the gateway inherits. Each maps the protobuf request to a typed call on
:class:`~serve.model_calls.ModelCalls` and the result back; any error becomes its gRPC status once
(:func:`serve.errors.abort_with`), with the empty reply Serve's proxy requires.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.trace import SpanKind
from pydantic import BaseModel

from infra import tracing
from infra.errors import InvalidInput
from models.marketing.ab import ExperimentRequest
from models.marketing.attribution import AttributionRequest
from models.marketing.budget import BudgetRequest, PaceRequest
from models.pricing.live import LivePricingRequest
from models.pricing.service import PricingRequest
from models.registry import SummaryRequest, VisionRequest
from models.sentiment.classifier import Sentiment, overall_label
from models.text.aspects import AspectMention
from models.voice.analyzer import AnalyzeOptions, VoiceAnalysis
from models.voice.live import LiveUpdate
from models.voice.profiles import Profile, parse_profile
from protos import inference_pb2 as pb
from serve.errors import abort_with, as_error, grpc_status, validated
from serve.live_voice import live_updates
from serve.model_calls import MAX_AUDIO_BYTES, ModelCalls, check_audio

Reply = TypeVar("Reply")
Body = TypeVar("Body", bound=BaseModel)
Out = TypeVar("Out", bound=Message)


def _fields(request: Message) -> dict[str, Any]:
    """A request message as the HTTP body's fields (the marketing messages share their names). Zero numbers
    are values (0 conversions); empty strings, lists and maps are "not given", so the model's defaults apply."""

    def present(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: present(v) for k, v in value.items() if v not in ("", [], {})}
        if isinstance(value, list):
            return [present(v) for v in value]
        return value

    fields = json_format.MessageToDict(request, preserving_proto_field_name=True, including_default_value_fields=True)
    return dict(present(fields))


def _from_pb(model: type[Body], request: Message) -> Body:
    """The body model from a request message (:func:`_fields`); a bad field is INVALID_ARGUMENT naming it."""
    return validated(model, **_fields(request))


def _to_pb(result: BaseModel, reply: Out) -> Out:
    json_format.ParseDict(result.model_dump(mode="json"), reply, ignore_unknown_fields=True)
    return reply


def _voice_options(first: pb.AudioChunk) -> AnalyzeOptions:
    """The analysis options of a voice stream, from its first chunk (bad values: INVALID_ARGUMENT)."""
    speakers = first.speakers if first.HasField("speakers") else None
    if speakers is not None and not 1 <= speakers <= 10:
        raise InvalidInput(f"speakers must be between 1 and 10, not {speakers}")
    return AnalyzeOptions(
        profile=_profile(first),
        language=_language(first),
        speakers=speakers,
        rep=first.rep[:10] if first.HasField("rep") and first.rep else None,
    )


def _profile(first: pb.AudioChunk | pb.LiveAudio) -> Profile | None:
    return parse_profile(first.profile) if first.HasField("profile") and first.profile else None


def _language(first: pb.AudioChunk | pb.LiveAudio) -> str:
    return first.language if first.HasField("language") and first.language else "en"


def _voice_pb(r: VoiceAnalysis) -> pb.VoiceAnalysisResponse:
    segments = [
        pb.VoiceSegment(
            start=s.start,
            end=s.end,
            text=s.text,
            label=s.sentiment.label if s.sentiment else "",
            score=s.sentiment.score if s.sentiment else 0.0,
            speaker=s.speaker or "",
        )
        for s in r.segments
    ]
    speakers = [
        pb.VoiceSpeaker(
            speaker=s.speaker,
            role=s.role or "",
            talk_s=s.talk_s,
            talk_ratio=s.talk_ratio,
            share_of_speech=s.share_of_speech,
            words=s.words,
            words_per_minute=s.words_per_minute,
            turns=s.turns,
            longest_monologue_s=s.longest_monologue_s,
            interruptions=s.interruptions,
            label=s.sentiment.label if s.sentiment else "",
            score=s.sentiment.score if s.sentiment else 0.0,
        )
        for s in r.speakers
    ]
    return pb.VoiceAnalysisResponse(
        transcript=r.transcript,
        duration_s=r.duration_s,
        speaking_ratio=r.speaking_ratio,
        silence_ratio=r.silence_ratio,
        words_per_minute=r.words_per_minute,
        keywords=r.keywords,
        segments=segments,
        real_time_factor=r.real_time_factor,
        overall_label=r.overall_sentiment.label if r.overall_sentiment else "",
        profile=r.profile,
        no_speech=r.no_speech,
        turns=[pb.VoiceTurn(speaker=t.speaker, start=t.start, end=t.end) for t in r.turns],
        speakers=speakers,
    )


def _live_pb(update: LiveUpdate) -> pb.LiveUpdate:
    message = pb.LiveUpdate(
        type=update.kind,
        audio_s=round(update.audio_s, 2),
        text=update.text,
        start=round(update.start, 2),
        end=round(update.end, 2),
        label=update.sentiment.label if update.sentiment else "",
        score=update.sentiment.score if update.sentiment else 0.0,
    )
    if update.analysis is not None:
        message.analysis.CopyFrom(_voice_pb(update.analysis))
    return message


def _sentiment_pb(result: Sentiment, aspects: list[AspectMention] | None = None) -> pb.SentimentResult:
    return pb.SentimentResult(
        label=result.label,
        score=result.score,
        probabilities=result.probabilities,
        truncated=result.truncated,
        chunks=result.chunks,
        language=result.language,
        supported=result.supported,
        aspects=[pb.AspectMention(**asdict(a)) for a in aspects or []],
    )


GRPC_SERVICE = pb.DESCRIPTOR.services_by_name["Analytics"].full_name


class AnalyticsMethods:
    """The gRPC methods; the ingress sets ``self.models``."""

    models: ModelCalls

    async def _answer(self, context: Any, empty: Reply, work: Callable[[], Awaitable[Reply]]) -> Reply:
        if tracing.is_on():
            return await self._traced(context, empty, work)
        try:
            return await work()
        except Exception as exc:
            abort_with(context, as_error(exc))  # the engine's own errors pass through as they are
        return empty

    async def _traced(self, context: Any, empty: Reply, work: Callable[[], Awaitable[Reply]]) -> Reply:
        """The call in a server span continuing the client's ``traceparent`` metadata (or starting a trace)."""
        method = work.__qualname__.split(".")[-3]  # "AnalyticsMethods.<Method>.<locals>.work"
        metadata = dict(context.invocation_metadata()) if context is not None else {}
        attributes = {"rpc.system": "grpc", "rpc.service": GRPC_SERVICE, "rpc.method": method}
        with tracing.span(
            f"{GRPC_SERVICE}/{method}",
            kind=SpanKind.SERVER,
            parent=tracing.ingress_parent(metadata),
            attributes=attributes,
        ) as span:
            try:
                return await work()
            except Exception as exc:
                error = as_error(exc)
                if span is not None:
                    span.set_attribute("rpc.grpc.status_code", int(grpc_status(error).value[0]))
                abort_with(context, error)  # the engine's own errors pass through as they are
        return empty

    async def Sentiment(self, request: pb.SentimentRequest, grpc_context: Any = None) -> pb.SentimentResponse:
        async def work() -> pb.SentimentResponse:
            texts = list(request.texts)
            if not request.aspects:
                scored = await self.models.sentiment(texts)
                results = [_sentiment_pb(r) for r in scored.value]
            else:
                scored, found = await asyncio.gather(self.models.sentiment(texts), self.models.aspects(texts))
                results = [_sentiment_pb(r, a) for r, a in zip(scored.value, found.value, strict=True)]
            return pb.SentimentResponse(results=results, model_version=scored.model_version)

        return await self._answer(grpc_context, pb.SentimentResponse(), work)

    async def Embed(self, request: pb.EmbedRequest, grpc_context: Any = None) -> pb.EmbedResponse:
        async def work() -> pb.EmbedResponse:
            rows = (await self.models.embed(list(request.texts))).value
            return pb.EmbedResponse(
                vectors=[pb.Vector(values=r.vector, truncated=r.truncated, chunks=r.chunks) for r in rows],
                dimensions=len(rows[0].vector),
            )

        return await self._answer(grpc_context, pb.EmbedResponse(), work)

    async def ScoreChurn(self, request: pb.ChurnRequest, grpc_context: Any = None) -> pb.ChurnResponse:
        async def work() -> pb.ChurnResponse:
            score = (await self.models.churn([dict(request.features)])).value[0]
            return pb.ChurnResponse(
                probability=score.probability,
                bucket=score.bucket,
                top_contributions=[
                    pb.Contribution(feature=c.feature, value=c.value, contribution=c.contribution)
                    for c in score.top_contributions
                ],
            )

        return await self._answer(grpc_context, pb.ChurnResponse(), work)

    async def OptimizePrice(self, request: pb.PricingRequest, grpc_context: Any = None) -> pb.PricingResponse:
        async def work() -> pb.PricingResponse:
            fields = {f.name: v for f, v in request.ListFields()}
            r = await self.models.pricing(validated(PricingRequest, **fields))
            low, high = r.quantity_interval
            return pb.PricingResponse(
                price=r.price,
                expected_quantity=r.expected_quantity,
                expected_profit=r.expected_profit,
                expected_revenue=r.expected_revenue,
                quantity_low=low,
                quantity_high=high,
                bound_hit=r.bound_hit or "",
                elasticity=r.elasticity,
                elasticity_source=r.elasticity_source,
                reason=r.reason,
            )

        return await self._answer(grpc_context, pb.PricingResponse(), work)

    async def ProposePrice(self, request: pb.LivePricingRequest, grpc_context: Any = None) -> pb.LiveProposal:
        async def work() -> pb.LiveProposal:
            return _to_pb(await self.models.pricing_live(_from_pb(LivePricingRequest, request)), pb.LiveProposal())

        return await self._answer(grpc_context, pb.LiveProposal(), work)

    async def Summarize(self, request: pb.SummaryRequest, grpc_context: Any = None) -> pb.SummaryResponse:
        async def work() -> pb.SummaryResponse:
            fields: dict[str, Any] = {"document": request.document}
            if request.max_sentences:
                fields["max_sentences"] = request.max_sentences
            if request.HasField("diversity"):
                fields["diversity"] = request.diversity
            r = await self.models.summary(validated(SummaryRequest, **fields))
            return pb.SummaryResponse(
                summary=r.summary,
                sentences=[s.text for s in r.sentences],
                total_sentences=r.total_sentences,
                method=r.method,
            )

        return await self._answer(grpc_context, pb.SummaryResponse(), work)

    async def AnalyzeTranscript(
        self, request_stream: AsyncIterator[pb.TranscriptChunk], grpc_context: Any = None
    ) -> pb.TranscriptAnalysis:
        """Client streaming: sentiment per chunk (one batched call) plus a summary of the whole call."""

        async def work() -> pb.TranscriptAnalysis:
            chunks = [chunk async for chunk in request_stream]
            results = (await self.models.sentiment([c.text for c in chunks])).value
            scores = [r.score for r in results]
            document = "\n".join(f"{c.speaker}: {c.text}" if c.speaker else c.text for c in chunks)
            summary = await self.models.summary(SummaryRequest(document=document))
            return pb.TranscriptAnalysis(
                segments=[_sentiment_pb(r) for r in results],
                mean_score=sum(scores) / len(scores),
                overall_label=overall_label(scores),
                summary=summary.summary,
                chunks=len(chunks),
            )

        return await self._answer(grpc_context, pb.TranscriptAnalysis(), work)

    async def AnalyzeVoice(
        self, request_stream: AsyncIterator[pb.AudioChunk], grpc_context: Any = None
    ) -> pb.VoiceAnalysisResponse:
        """Client streaming: the audio file in chunks, analysed once the stream ends."""

        async def work() -> pb.VoiceAnalysisResponse:
            audio = bytearray()
            options: AnalyzeOptions | None = None
            async for chunk in request_stream:
                if options is None:
                    options = _voice_options(chunk)
                audio.extend(chunk.data)
                if len(audio) > MAX_AUDIO_BYTES:  # stop buffering a stream as soon as it is over the limit
                    check_audio(bytes(audio))
            return _voice_pb(await self.models.voice(bytes(audio), options))

        return await self._answer(grpc_context, pb.VoiceAnalysisResponse(), work)

    async def TranscribeLive(
        self, request_stream: AsyncIterator[pb.LiveAudio], grpc_context: Any = None
    ) -> AsyncIterator[pb.LiveUpdate]:
        """Bidirectional streaming: audio chunks in, live updates out (serve/live_voice.py)."""
        stream = aiter(request_stream)  # one iterator: the first message is read apart from the rest

        async def audio() -> AsyncIterator[bytes]:
            if first is not None:
                yield first.data
            async for chunk in stream:
                yield chunk.data

        try:
            first = await anext(stream, None)
            if first is None:
                raise InvalidInput("the stream ended before any audio")
            options = AnalyzeOptions(profile=_profile(first), language=_language(first))
            encoding = first.encoding if first.HasField("encoding") and first.encoding else "pcm16"
            max_seconds = self.models.settings.voice_max_audio_s
            updates = live_updates(self.models, audio(), options, encoding, max_seconds)
            try:
                async for update in updates:
                    yield _live_pb(update)
            finally:
                await updates.aclose()
        except Exception as exc:
            error = as_error(exc)
            abort_with(grpc_context, error)
            # Serve's proxy copies the status from the context along with a message: one error update carries it
            yield pb.LiveUpdate(type="error", text=error.detail)

    async def AnalyzeVision(self, request: pb.VisionRequest, grpc_context: Any = None) -> pb.VisionResponse:
        async def work() -> pb.VisionResponse:
            fps = {"fps": request.fps} if request.HasField("fps") else {}
            media = validated(VisionRequest, media=request.media, **fps)
            r = await self.models.vision(media, "video" if request.is_video else "image")
            summary = r.summary
            timeline = []
            for frame in r.timeline:
                best = max(frame.faces, key=lambda f: f.engagement, default=None)
                timeline.append(
                    pb.VisionFrame(
                        timestamp_s=frame.timestamp_s,
                        face_present=frame.face_present,
                        attention=round(frame.attention, 4),
                        engagement=round(frame.engagement, 4),
                        emotion=best.emotion if best else "",
                    )
                )
            return pb.VisionResponse(
                frames=summary.frames,
                duration_s=summary.duration_s,
                face_presence_ratio=summary.face_presence_ratio,
                mean_attention=summary.mean_attention,
                mean_engagement=summary.mean_engagement,
                emotion_mix=summary.emotion_mix,
                dominant_emotion=summary.dominant_emotion or "",
                ms_per_frame=summary.ms_per_frame,
                timeline=timeline,
            )

        return await self._answer(grpc_context, pb.VisionResponse(), work)

    async def AnalyzeExperiment(self, request: pb.ExperimentRequest, grpc_context: Any = None) -> pb.ExperimentAnalysis:
        async def work() -> pb.ExperimentAnalysis:
            fields = _fields(request)
            if fields.get("metric") == "revenue":  # protobuf cannot tell an empty list (no buyers) from none
                for arm in fields.get("arms", []):
                    arm.setdefault("revenue", [])
            result = await self.models.experiment(validated(ExperimentRequest, **fields))
            return _to_pb(result, pb.ExperimentAnalysis())

        return await self._answer(grpc_context, pb.ExperimentAnalysis(), work)

    async def Attribute(self, request: pb.AttributionRequest, grpc_context: Any = None) -> pb.AttributionResponse:
        async def work() -> pb.AttributionResponse:
            result = await self.models.attribution(_from_pb(AttributionRequest, request))
            return _to_pb(result, pb.AttributionResponse())

        return await self._answer(grpc_context, pb.AttributionResponse(), work)

    async def PlanBudget(self, request: pb.BudgetRequest, grpc_context: Any = None) -> pb.BudgetPlan:
        async def work() -> pb.BudgetPlan:
            return _to_pb(await self.models.budget(_from_pb(BudgetRequest, request)), pb.BudgetPlan())

        return await self._answer(grpc_context, pb.BudgetPlan(), work)

    async def PaceBudget(self, request: pb.PaceRequest, grpc_context: Any = None) -> pb.Pace:
        async def work() -> pb.Pace:
            return _to_pb(await self.models.pace(_from_pb(PaceRequest, request)), pb.Pace())

        return await self._answer(grpc_context, pb.Pace(), work)
