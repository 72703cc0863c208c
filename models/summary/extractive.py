"""Extractive summary of a transcript or an email thread.

Sentences are embedded, scored by centrality (degree in the cosine-similarity
graph, LexRank-style power iteration) and picked greedily with maximal marginal
relevance, so the summary covers the thread instead of repeating its most
central point. Picked sentences come back in their original order.

The embedding function is injected (``embed(texts) -> (n, d) unit vectors``):
in-process it is :class:`models.embeddings.encoder.SentenceEncoder`, under Ray
Serve the batched embedding deployment. Quoted reply lines (``>``), signatures
after ``-- `` and header lines (``From:``/``Sent:``…) are dropped first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.errors import InvalidInput

MAX_CHARS = 200_000
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"'(\[]?[A-Z0-9])")
_HEADER = re.compile(r"^(from|to|cc|bcc|sent|date|subject|on .+ wrote):", re.IGNORECASE)

Embed = Callable[[list[str]], NDArray[np.float32]]


@dataclass(frozen=True)
class SummarySentence:
    index: int  # position among the document's sentences
    text: str
    score: float  # centrality


@dataclass(frozen=True)
class Summary:
    sentences: list[SummarySentence]
    total_sentences: int

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)


def clean_lines(document: str) -> list[str]:
    lines = []
    for raw in document.splitlines():
        line = raw.strip()
        if line == "--" or line.startswith("-- "):
            break  # signature block
        if not line or line.startswith(">") or _HEADER.match(line):
            continue
        lines.append(line)
    return lines


def split_sentences(document: str, min_words: int = 3) -> list[str]:
    """Sentences of at least ``min_words`` words; speaker labels (``Ana:``) are kept with their line."""
    sentences = []
    for line in clean_lines(document):
        for part in _SENTENCE_END.split(line):
            sentence = part.strip()
            if len(sentence.split()) >= min_words:
                sentences.append(sentence)
    return sentences


def centrality(vectors: NDArray[np.float32], damping: float = 0.85, iterations: int = 50) -> NDArray[np.float64]:
    similarity = np.clip(vectors @ vectors.T, 0.0, None).astype(np.float64)
    np.fill_diagonal(similarity, 0.0)
    degree = similarity.sum(axis=1, keepdims=True)
    n = len(vectors)
    transition = np.where(degree > 0, similarity / np.where(degree > 0, degree, 1.0), 1.0 / n)
    score = np.full(n, 1.0 / n)
    for _ in range(iterations):
        updated = (1 - damping) / n + damping * transition.T @ score
        if np.abs(updated - score).sum() < 1e-9:
            score = updated
            break
        score = updated
    return np.asarray(score / score.max(), dtype=np.float64)


def select(vectors: NDArray[np.float32], scores: NDArray[np.float64], k: int, diversity: float = 0.3) -> list[int]:
    """Greedy maximal marginal relevance: ``(1-diversity)*score - diversity*max similarity to picked``."""
    picked: list[int] = []
    candidates = set(range(len(vectors)))
    while candidates and len(picked) < k:

        def value(i: int) -> float:
            redundancy = max((float(vectors[i] @ vectors[j]) for j in picked), default=0.0)
            return (1 - diversity) * float(scores[i]) - diversity * redundancy

        best = max(sorted(candidates), key=value)
        picked.append(best)
        candidates.remove(best)
    return sorted(picked)


def summarize(document: str, embed: Embed, *, max_sentences: int = 3, diversity: float = 0.3) -> Summary:
    if not isinstance(document, str) or not document.strip():
        raise InvalidInput("the document is empty")
    if len(document) > MAX_CHARS:
        raise InvalidInput(f"the document has {len(document):,} characters; the limit is {MAX_CHARS:,}")
    if not 1 <= max_sentences <= 50:
        raise InvalidInput("max_sentences must be between 1 and 50")
    if not 0.0 <= diversity <= 1.0:
        raise InvalidInput("diversity must be between 0 and 1")
    sentences = split_sentences(document)
    if not sentences:
        raise InvalidInput("no sentence of three or more words in the document")
    if len(sentences) <= max_sentences:
        return Summary([SummarySentence(i, s, 1.0) for i, s in enumerate(sentences)], len(sentences))
    vectors = np.asarray(embed(sentences), dtype=np.float32)
    scores = centrality(vectors)
    chosen = select(vectors, scores, max_sentences, diversity)
    return Summary([SummarySentence(i, sentences[i], round(float(scores[i]), 4)) for i in chosen], len(sentences))
