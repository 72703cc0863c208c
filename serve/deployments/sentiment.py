"""The sentiment model (three-class MiniLM + LoRA, batched at the model's pace) and its deployment."""

from __future__ import annotations

from models.embeddings.encoder import check_texts
from models.sentiment.classifier import Sentiment, to_sentiments
from serve.deployments.base import Batched, TextModel, text_deployment


class SentimentService(TextModel[Sentiment]):
    """Sentiment scoring with batching; hosted by :data:`SentimentDeployment` and by the gateway."""

    name = "sentiment"

    def _version(self) -> str:
        return str(self.model.version)  # the trained artifact's own version

    def _score(self, texts: list[str]) -> list[Sentiment]:
        probabilities, truncated = self.model.score(texts)
        return to_sentiments(probabilities, truncated)

    async def classify(self, texts: list[str]) -> Batched[Sentiment]:
        check_texts(texts)  # the one check: a bad text fails its own call, not the batch it would have joined
        return await self._submit(texts)


SentimentDeployment = text_deployment("Sentiment", SentimentService)
