"""The sentiment model (three-class MiniLM + LoRA, batched at the model's pace) and its deployment.

The model behind is :class:`~models.sentiment.analyzer.SentimentAnalyzer`: texts over the encoder's window are
read in chunks, texts in a language it was not trained on are answered ``supported: false``. Aspects are
opt-in and computed apart from the batched pass (a sentence split, a second encoder and a score per sentence):
callers that do not ask for them do not pay for them.
"""

from __future__ import annotations

from models.embeddings.encoder import check_texts
from models.runtime import run_in
from models.sentiment.classifier import Sentiment
from models.text.aspects import AspectMention
from serve.deployments.base import Batched, TextModel, text_deployment


class SentimentService(TextModel[Sentiment]):
    """Sentiment scoring with batching; hosted by :data:`SentimentDeployment` and by the gateway."""

    name = "sentiment"

    def _version(self) -> str:
        return str(self.model.version)  # the trained artifact's own version

    def _score(self, texts: list[str]) -> list[Sentiment]:
        result: list[Sentiment] = self.model.analyze(texts)
        return result

    async def classify(self, texts: list[str]) -> Batched[Sentiment]:
        check_texts(texts)  # the one check: a bad text fails its own call, not the batch it would have joined
        return await self._submit(texts)

    async def aspects(self, texts: list[str]) -> Batched[list[AspectMention]]:
        """Per text, its sentences about price, quality, support, … with each sentence's sentiment."""
        check_texts(texts)
        mentions: list[list[AspectMention]] = await run_in(self.pool, self.model.aspects, texts)
        return Batched(mentions, len(texts), self.version)


SentimentDeployment = text_deployment("Sentiment", SentimentService)
