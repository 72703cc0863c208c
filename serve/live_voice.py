"""Live calls in the gateway: one :class:`models.voice.live.LiveCall` per WebSocket or gRPC stream.

The gateway keeps the session (audio buffer, finalised segments); each step runs on the Voice deployment
(``live_step``), sentiment of finalised segments and the running summary come from their deployments,
and the final analysis is the Voice deployment's offline ``analyze`` of the whole recording. A replica
of the gateway holds no model work of its own for a live call, so calls spread over Voice replicas.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from models.registry import SummaryRequest
from models.sentiment.classifier import Sentiment
from models.voice.analyzer import AnalyzeOptions, VoiceAnalysis, check_language
from models.voice.live import ChunkDecoder, LiveCall, LiveStep, LiveUpdate, run_live

if TYPE_CHECKING:
    from serve.model_calls import ModelCalls

SUMMARY_SENTENCES = 3
SUMMARY_CHARS = 200_000


def live_updates(
    models: ModelCalls,
    chunks: AsyncIterator[bytes],
    options: AnalyzeOptions,
    encoding: str,
    max_seconds: float,
) -> AsyncGenerator[LiveUpdate, None]:
    """The updates of one live call fed by ``chunks`` (raises InvalidInput for a bad encoding up front)."""
    decoder = ChunkDecoder(encoding)
    check_language(options)  # not at the end of the call

    async def step(samples: NDArray[np.float32], flush: bool) -> LiveStep:
        return await models.voice_live_step(samples, options, flush)

    async def sentiment(texts: list[str]) -> list[Sentiment]:
        return list((await models.sentiment(texts)).value)

    async def summary(transcript: str) -> str:
        document = transcript[-SUMMARY_CHARS:]  # a long call: its latest part
        answer = await models.summary(SummaryRequest(document=document, max_sentences=SUMMARY_SENTENCES))
        return answer.summary

    async def finish(wav: bytes) -> VoiceAnalysis:
        return await models.voice(wav, options, limit_bytes=False)

    call = LiveCall(step, max_seconds, sentiment=sentiment, summary=summary)
    return run_live(chunks, call, decoder, finish)
