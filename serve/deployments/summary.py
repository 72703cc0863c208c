"""The summary deployment: extractive summaries (LexRank + MMR) over vectors from the embedding deployment,
or an OpenAI-compatible LLM when one is configured (falling back to the extractive summary)."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ray import serve

from models.registry import SummaryRequest, SummaryResponse
from models.summary.extractive import split_sentences, summarize
from models.summary.llm import LLMSummarizer, summarize_or_fall_back
from serve.deployments.base import Handle, ReadyProbe


@serve.deployment(
    name="Summary",
    ray_actor_options={"num_cpus": 0.05},
    max_ongoing_requests=16,
    max_queued_requests=64,
    health_check_period_s=10,
)
class SummaryDeployment(ReadyProbe):
    """Extractive summaries; sentence vectors come from the (batched) embedding deployment."""

    name = "summary"

    def __init__(self, embedding: Handle, llm_url: str | None = None, llm_model: str = "default") -> None:
        self.embedding = embedding
        self.llm = LLMSummarizer(llm_url, llm_model) if llm_url else None
        self.version = "extractive-lexrank-mmr-v1"

    async def summarize(self, request: SummaryRequest) -> SummaryResponse:
        sentences = split_sentences(request.document)
        vectors: dict[str, Any] = {}
        if len(sentences) > request.max_sentences:
            embedded = await self.embedding.embed.remote(sentences)
            vectors = {s: row.vector for s, row in zip(sentences, embedded.value, strict=True)}

        def embed(texts: list[str]) -> NDArray[np.float32]:
            return np.asarray([vectors[t] for t in texts], dtype=np.float32)

        summary = await asyncio.to_thread(  # off the replica's event loop (serve/ray_env.py): a long document's graph
            summarize, request.document, embed, max_sentences=request.max_sentences, diversity=request.diversity
        )
        text, method = summary.text, self.version
        if self.llm is not None:
            text, method = await asyncio.to_thread(
                summarize_or_fall_back, self.llm, request.document, request.max_sentences, text, method
            )
        return SummaryResponse(
            summary=text, sentences=summary.sentences, total_sentences=summary.total_sentences, method=method
        )
