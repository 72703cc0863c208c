"""The embedding model (384-d MiniLM vectors, batched at the model's pace) and its deployment."""

from __future__ import annotations

from models.embeddings.encoder import Embedding, check_texts
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


EmbeddingDeployment = text_deployment("Embedding", EmbeddingService)
