"""The embedding model (384-d MiniLM vectors, batched at the model's pace) and its deployment."""

from __future__ import annotations

from models.embeddings.encoder import Embedding, Passage, check_texts
from models.runtime import run_in
from serve.deployments.base import Batched, TextModel, text_deployment


class EmbeddingService(TextModel[Embedding]):
    """Sentence embeddings with batching; hosted by :data:`EmbeddingDeployment` and by the gateway."""

    name = "embedding"

    def _score(self, texts: list[str]) -> list[Embedding]:
        rows: list[Embedding] = self.model.encode(texts).rows()
        return rows

    async def embed(self, texts: list[str]) -> Batched[Embedding]:
        check_texts(texts)  # a bad text fails its own call, not the batch it would have joined
        return await self._submit(texts)

    async def passages(self, text: str) -> list[Passage]:
        """A long text's chunks with their vectors (passage search over call transcripts), beside the batch."""
        check_texts([text])
        found: list[Passage] = await run_in(self.pool, self.model.passages, text)
        return found


EmbeddingDeployment = text_deployment("Embedding", EmbeddingService)
