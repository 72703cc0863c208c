"""Extractive summaries with the real sentence encoder."""

from __future__ import annotations

import numpy as np
import pytest

from models.embeddings.encoder import SentenceEncoder
from models.errors import InvalidInput
from models.summary.extractive import centrality, clean_lines, select, split_sentences, summarize

CALL = """Rep: Thanks for making time today to review the renewal of your analytics licence.
Customer: Our main concern is the price increase on the renewal. We need a discount to renew.
Customer: The price increase on the renewal is the main problem for our finance team.
Rep: I understand. I can offer a ten percent discount if you sign a two year renewal.
Customer: By the way, the coffee machine in our office broke again.
Rep: I will send the revised renewal proposal with the discount by Friday.
"""


@pytest.fixture(scope="module")
def embed() -> object:
    encoder = SentenceEncoder(threads=2)
    return lambda texts: encoder.encode(texts).vectors


def test_summary_is_central_diverse_and_in_order(embed: object) -> None:
    summary = summarize(CALL, embed, max_sentences=3)  # type: ignore[arg-type]
    assert summary.total_sentences == 8
    indices = [s.index for s in summary.sentences]
    assert indices == sorted(indices)
    assert "coffee" not in summary.text
    # The two near-duplicate complaints about the price increase are not both picked.
    assert sum("price increase" in s.text for s in summary.sentences) <= 1


def test_email_noise_is_dropped() -> None:
    email = (
        "From: a@b.c\nSubject: renewal\nHello team, the renewal is approved.\n"
        "> quoted old text here\n-- \nSignature line"
    )
    assert clean_lines(email) == ["Hello team, the renewal is approved."]
    assert split_sentences("One two three. Four five six! Ok") == ["One two three.", "Four five six!"]


def test_selection_penalises_redundancy() -> None:
    vectors = np.asarray([[1, 0], [1, 0], [0, 1]], dtype=np.float32)
    scores = centrality(vectors)
    assert select(vectors, np.asarray([1.0, 0.99, 0.5]), 2, diversity=0.5) == [0, 2]
    assert scores.max() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("document", "kwargs", "message"),
    [("", {}, "empty"), ("ok.", {}, "no sentence"), ("a b c d.", {"max_sentences": 0}, "max_sentences")],
)
def test_bad_input(document: str, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        summarize(document, lambda texts: np.zeros((len(texts), 2), dtype=np.float32), **kwargs)  # type: ignore[arg-type]
