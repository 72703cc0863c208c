"""Whole texts of any length, in any language, scored by a model that reads one window of English.

:class:`SentimentAnalyzer` wraps a :class:`~models.sentiment.classifier.SentimentModel`:

* **language first** (:mod:`models.text.language`): a text in a language the model was not trained on is not
  scored; it is answered neutral with score 0, ``supported: false`` and its language;
* **long texts in chunks** (:mod:`models.text.chunks`): a text over the window is cut at sentence ends, every
  chunk of every text in the call is scored in one batch, and the chunk scores are combined by the rule learned
  in :mod:`models.sentiment.long_text`; ``chunks`` says how many were read;
* **class offsets** (:mod:`models.sentiment.calibration`) fitted on every domain so the answer does not
  lean to one side;
* **aspects on request** (:mod:`models.text.aspects`): which topic each sentence is about, with the
  sentence's own sentiment.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from models.embeddings.encoder import check_texts, token_counts
from models.sentiment.calibration import Calibration
from models.sentiment.classifier import Sentiment, SentimentModel, to_sentiments
from models.sentiment.data import LABELS
from models.sentiment.long_text import Aggregation, aggregate
from models.text.aspects import AspectClassifier, AspectMention
from models.text.chunks import Chunks, chunk_texts, sentences
from models.text.language import LanguageDetector

SPECIAL_TOKENS = 2  # [CLS] … [SEP]
UNSUPPORTED = np.full(len(LABELS), 1 / len(LABELS), dtype=np.float32)


class SentimentAnalyzer:
    def __init__(
        self,
        model: SentimentModel,
        aggregation: Aggregation | None = None,
        *,
        languages: Iterable[str] | None = None,
        encoder_path: Path | None = None,
    ) -> None:
        self.model = model
        artifact = getattr(model, "artifact", None)
        self.aggregation = aggregation or (Aggregation.load(artifact) if artifact is not None else Aggregation())
        self.calibration = Calibration.load(artifact) if artifact is not None else Calibration()
        self.detector = LanguageDetector(languages if languages is not None else model.languages)
        self.version = model.version
        self.budget = int(model.max_tokens) - SPECIAL_TOKENS
        self.encoder_path = encoder_path
        self._aspects: AspectClassifier | None = None

    def _count_tokens(self, pieces: list[str]) -> list[int]:
        return token_counts(self.model.tokenizer, pieces)

    def chunk(self, texts: list[str]) -> list[Chunks]:
        return chunk_texts(texts, self._count_tokens, self.budget)

    def _score_chunks(self, chunked: list[Chunks]) -> tuple[list[NDArray[np.float32]], list[bool]]:
        """Every chunk of every text in one model call; per text its chunk rows and whether any chunk was cut."""
        flat = [piece for chunks in chunked for piece in chunks.texts]
        probabilities, cut = self.model.score(flat) if flat else (np.zeros((0, len(LABELS)), np.float32), [])
        rows, flags, start = [], [], 0
        for chunks in chunked:
            end = start + len(chunks.texts)
            rows.append(probabilities[start:end])
            flags.append(any(cut[start:end]) or chunks.dropped > 0)
            start = end
        return rows, flags

    def chunk_probabilities(self, texts: list[str]) -> list[tuple[NDArray[np.float32], list[float]]]:
        """Per text: its chunks' probability rows and positions (what :mod:`~models.sentiment.long_text` fits)."""
        chunked = self.chunk(texts)
        rows, _ = self._score_chunks(chunked)
        return [(r, c.positions) for r, c in zip(rows, chunked, strict=True)]

    def _read(self, texts: list[str]) -> tuple[NDArray[np.float32], list[bool], list[int]]:
        """Whole texts: calibrated probabilities, whether any part went unread, and the chunks read, per text."""
        chunked = self.chunk(texts)
        rows, cut = self._score_chunks(chunked)
        if not rows:
            return np.zeros((0, len(LABELS)), np.float32), [], []
        combined = np.stack([aggregate(r, c.positions, self.aggregation) for r, c in zip(rows, chunked, strict=True)])
        return self.calibration.apply(combined), cut, [len(c.texts) for c in chunked]

    def predict_proba(self, texts: list[str]) -> NDArray[np.float32]:
        """Chunked and aggregated probabilities, whatever the language (the evaluation's view)."""
        check_texts(texts)
        return self._read(texts)[0]

    def analyze(self, texts: list[str]) -> list[Sentiment]:
        check_texts(texts)
        languages = self.detector.detect_all(texts)
        readable = [i for i, language in enumerate(languages) if language.supported]
        read, cut, counts = self._read([texts[i] for i in readable])
        probabilities = np.tile(UNSUPPORTED, (len(texts), 1))
        probabilities[readable] = read
        truncated = [False] * len(texts)
        chunks = [0] * len(texts)
        for i, flag, count in zip(readable, cut, counts, strict=True):
            truncated[i], chunks[i] = flag, count
        results = []
        for i, scored in enumerate(to_sentiments(probabilities, truncated)):
            language = languages[i]
            results.append(
                Sentiment(
                    scored.label if language.supported else "neutral",
                    scored.score if language.supported else 0.0,
                    scored.probabilities,
                    truncated=truncated[i],
                    chunks=chunks[i],
                    language=language.code,
                    supported=language.supported,
                )
            )
        return results

    @property
    def aspect_classifier(self) -> AspectClassifier:
        if self._aspects is None:
            self._aspects = AspectClassifier.from_seeds(encoder_path=self.encoder_path)
        return self._aspects

    def aspects(self, texts: list[str]) -> list[list[AspectMention]]:
        """Per text, its sentences that are about a known aspect, each with that sentence's sentiment."""
        check_texts(texts)
        languages = self.detector.detect_all(texts)
        per_text = [sentences(text) if lang.supported else [] for text, lang in zip(texts, languages, strict=True)]
        flat = [(t, i, s) for t, parts in enumerate(per_text) for i, s in enumerate(parts)]
        found = self.aspect_classifier.classify([s for _, _, s in flat]) if flat else []
        hits = [(where, aspect) for where, aspect in zip(flat, found, strict=True) if aspect is not None]
        out: list[list[AspectMention]] = [[] for _ in texts]
        if not hits:
            return out
        probabilities, _ = self.model.score([s for (_, _, s), _ in hits])
        probabilities = self.calibration.apply(probabilities)
        for ((t, index, sentence), (aspect, confidence)), sentiment in zip(
            hits, to_sentiments(probabilities), strict=True
        ):
            out[t].append(AspectMention(aspect, sentence, index, confidence, sentiment.label, sentiment.score))
        return out
