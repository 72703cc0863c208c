"""Sentence-aware chunks of a long text, each within an encoder's token window.

The sentiment encoder reads 64 tokens; a review or an e-mail is often ten times that. Instead of
reading only its opening lines, the text is cut at sentence ends into chunks that fit, neighbouring
chunks sharing one sentence so a verdict that spans a boundary is read whole at least once. A sentence
longer than the window is cut at word boundaries. Every chunk is scored in the same batch and the scores
are combined by :mod:`models.sentiment.long_text`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\s*\n+\s*")

CountTokens = Callable[[list[str]], list[int]]
"""Token counts (no special tokens) of several pieces of text, in one tokenizer pass."""

MAX_CHUNKS = 64
"""Chunks scored per text at most (about 4,000 words at 64 tokens); beyond it, evenly spaced ones are kept."""


@dataclass(frozen=True)
class Chunks:
    texts: list[str]
    positions: list[float]  # where each chunk sits in the text: 0 = its start, 1 = its end
    dropped: int  # chunks left out past MAX_CHUNKS


def sentences(text: str) -> list[str]:
    """The text's sentences (and lines), blank pieces dropped; nothing is lost but whitespace."""
    return [piece.strip() for piece in _SENTENCE_END.split(text) if piece and piece.strip()]


def _split_long(sentence: str, tokens: int, budget: int) -> list[str]:
    """A sentence over the budget, cut into runs of words of about ``budget`` tokens each."""
    words = sentence.split()
    pieces = max(2, -(-tokens // budget))
    per_piece = max(1, -(-len(words) // pieces))
    return [" ".join(words[i : i + per_piece]) for i in range(0, len(words), per_piece)]


def chunk_texts(texts: list[str], count_tokens: CountTokens, budget: int) -> list[Chunks]:
    """:func:`chunk_text` for several texts, counting them in one tokenizer pass (most fit as they are)."""
    counts = count_tokens(texts) if texts else []
    return [
        Chunks([text], [1.0], 0) if count <= budget else chunk_text(text, count_tokens, budget, tokens=count)
        for text, count in zip(texts, counts, strict=True)
    ]


def chunk_text(
    text: str, count_tokens: CountTokens, budget: int, *, max_chunks: int = MAX_CHUNKS, tokens: int | None = None
) -> Chunks:
    """Cut ``text`` into chunks of at most ``budget`` tokens (a text that fits is one chunk, unchanged).

    ``budget`` excludes the encoder's special tokens; ``tokens`` is the text's count when already known.
    Consecutive chunks share their boundary sentence when it is at most half the budget.
    """
    if (tokens if tokens is not None else count_tokens([text])[0]) <= budget:
        return Chunks([text], [1.0], 0)
    parts = sentences(text)
    counts = count_tokens(parts)
    units: list[tuple[str, int]] = []
    for part, count in zip(parts, counts, strict=True):
        if count <= budget:
            units.append((part, count))
        else:
            pieces = _split_long(part, count, budget)
            units += zip(pieces, count_tokens(pieces), strict=True)
    chunks: list[list[tuple[str, int]]] = []
    current: list[tuple[str, int]] = []
    used = 0
    for unit in units:
        if current and used + unit[1] > budget:
            chunks.append(current)
            last = current[-1]
            carried = [last] if last[1] * 2 <= budget and last[1] + unit[1] <= budget else []
            current, used = carried, sum(c for _, c in carried)
        current.append(unit)
        used += unit[1]
    if current:
        chunks.append(current)
    texts = [" ".join(piece for piece, _ in chunk) for chunk in chunks]
    dropped = 0
    if len(texts) > max_chunks:
        keep = sorted({round(i * (len(texts) - 1) / (max_chunks - 1)) for i in range(max_chunks)})
        dropped = len(texts) - len(keep)
        texts = [texts[i] for i in keep]
        positions = [i / (len(chunks) - 1) for i in keep]
    else:
        positions = [i / (len(texts) - 1) if len(texts) > 1 else 1.0 for i in range(len(texts))]
    return Chunks(texts, positions, dropped)
