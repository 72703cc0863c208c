"""Sentence-aware chunks: every word kept, each chunk within the budget, neighbours sharing a sentence."""

from __future__ import annotations

from models.text.chunks import chunk_text, chunk_texts, sentences


def words(pieces: list[str]) -> list[int]:
    """A tokenizer stand-in for the arithmetic: one token per word."""
    return [len(piece.split()) for piece in pieces]


def test_sentences_split_at_ends_and_lines_and_lose_nothing_but_whitespace() -> None:
    text = "Great coffee. Arrived late!  Would I buy again?\nMaybe…  \n\n  Signed, Ana"
    assert sentences(text) == ["Great coffee.", "Arrived late!", "Would I buy again?", "Maybe…", "Signed, Ana"]


def test_a_text_that_fits_is_one_chunk_unchanged() -> None:
    chunks = chunk_text("Short and sweet. Two sentences.", words, budget=10)
    assert chunks.texts == ["Short and sweet. Two sentences."]
    assert chunks.positions == [1.0]
    assert chunks.dropped == 0


def test_long_texts_are_cut_at_sentence_ends_within_the_budget_with_one_shared_sentence() -> None:
    parts = [f"Sentence {i} has five words." for i in range(12)]  # 5 words each
    chunks = chunk_text(" ".join(parts), words, budget=16)
    assert len(chunks.texts) > 1
    assert all(n <= 16 for n in words(chunks.texts))
    for left, right in zip(chunks.texts, chunks.texts[1:], strict=False):
        assert sentences(left)[-1] == sentences(right)[0]  # the boundary sentence is read twice
    assert {s for chunk in chunks.texts for s in sentences(chunk)} == set(parts)
    assert chunks.positions[0] == 0.0
    assert chunks.positions[-1] == 1.0


def test_a_sentence_longer_than_the_budget_is_cut_at_word_boundaries() -> None:
    run_on = " ".join(f"w{i}" for i in range(50))
    chunks = chunk_text(run_on, words, budget=12)
    assert all(n <= 12 for n in words(chunks.texts))
    assert " ".join(chunks.texts).split() == run_on.split()


def test_past_the_chunk_limit_evenly_spaced_chunks_are_kept_first_and_last_included() -> None:
    parts = [f"Part {i} ends here." for i in range(100)]  # 4 words each, budget 4: one sentence a chunk
    chunks = chunk_text(" ".join(parts), words, budget=4, max_chunks=10)
    assert len(chunks.texts) == 10
    assert chunks.dropped == 90
    assert chunks.texts[0] == parts[0]
    assert chunks.texts[-1] == parts[-1]
    assert chunks.positions == sorted(chunks.positions)


def test_several_texts_are_counted_in_one_pass_and_only_long_ones_are_cut() -> None:
    calls: list[int] = []

    def counting(pieces: list[str]) -> list[int]:
        calls.append(len(pieces))
        return words(pieces)

    long = " ".join(f"Sentence {i} has five words." for i in range(6))
    chunked = chunk_texts(["one two", long, "three"], counting, budget=12)
    assert [len(c.texts) for c in chunked] == [1, 5, 1]  # pairs of sentences, each sharing one
    assert calls[0] == 3  # every text counted at once; the long one's sentences after
    assert chunk_texts([], counting, budget=12) == []
