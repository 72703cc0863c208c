"""What a sentence is about: price, quality, support, delivery, onboarding, billing, competitor, or none of them.

A logistic regression over all-MiniLM-L6-v2 sentence vectors, fitted at load (well under a second) on the
labelled seed sentences in ``aspect_seeds.tsv``: 18 per aspect plus 30 about nothing in particular
(``other``), written for this project in the voices of customers, buyers and account managers. A sentence is
given an aspect when that aspect is the most probable class, is not ``other``, and has probability
``min_confidence`` or more. ``python -m models.sentiment.evaluate`` reports per-aspect F1 on a held-out third
of the seeds (fitted on the other two thirds).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

SEEDS = Path(__file__).with_name("aspect_seeds.tsv")
ASPECTS = ("price", "quality", "support", "delivery", "onboarding", "billing", "competitor")
NO_ASPECT = "other"
MIN_CONFIDENCE = 0.4


@dataclass(frozen=True)
class AspectMention:
    aspect: str
    sentence: str
    sentence_index: int  # position among the text's sentences (models.text.chunks.sentences)
    confidence: float  # the aspect's probability
    label: str  # the sentence's own sentiment
    score: float  # P(positive) - P(negative) of the sentence


def load_seeds(path: Path = SEEDS) -> list[tuple[str, str]]:
    """(aspect, sentence) pairs; lines starting with ``#`` are comments."""
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        aspect, _, sentence = line.partition("\t")
        if aspect not in (*ASPECTS, NO_ASPECT) or not sentence.strip():
            raise ValueError(f"{path}:{number}: expected '<aspect>\\t<sentence>' with a known aspect, got {line!r}")
        pairs.append((aspect, sentence.strip()))
    return pairs


class AspectClassifier:
    """Sentence vectors → aspect (or none)."""

    def __init__(self, encoder: Any, *, min_confidence: float = MIN_CONFIDENCE) -> None:
        self.encoder = encoder
        self.min_confidence = min_confidence
        self.head: Any = None

    @classmethod
    def from_seeds(cls, *, encoder_path: Path | None = None, encoder: Any = None) -> AspectClassifier:
        from models.embeddings.encoder import SentenceEncoder

        classifier = cls(encoder or SentenceEncoder(encoder_path, dtype="float32"))
        seeds = load_seeds()
        classifier.fit([s for _, s in seeds], [a for a, _ in seeds])
        return classifier

    def vectors(self, texts: list[str]) -> NDArray[np.float32]:
        return np.asarray(self.encoder.encode(texts).vectors, dtype=np.float32)

    def fit(self, texts: list[str], aspects: list[str]) -> AspectClassifier:
        from sklearn.linear_model import LogisticRegression

        self.head = LogisticRegression(C=8.0, max_iter=2000, class_weight="balanced").fit(self.vectors(texts), aspects)
        return self

    def probabilities(self, texts: list[str]) -> tuple[list[str], NDArray[np.float64]]:
        return [str(c) for c in self.head.classes_], self.head.predict_proba(self.vectors(texts))

    def predict(self, texts: list[str]) -> list[str]:
        """The aspect of each text, ``other`` when none is probable enough."""
        return [found[0] if found else NO_ASPECT for found in self.classify(texts)]

    def classify(self, texts: list[str]) -> list[tuple[str, float] | None]:
        """Per text ``(aspect, probability)``, or ``None`` when it is about none of them."""
        if not texts:
            return []
        classes, rows = self.probabilities(texts)
        out: list[tuple[str, float] | None] = []
        for row in rows:
            best = int(np.argmax(row))
            aspect, probability = classes[best], float(row[best])
            out.append(
                (aspect, round(probability, 4)) if aspect != NO_ASPECT and probability >= self.min_confidence else None
            )
        return out
