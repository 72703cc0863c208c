"""Aspect seeds and the aspect classifier over the packaged MiniLM encoder."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from models.embeddings.encoder import SentenceEncoder
from models.text.aspects import ASPECTS, NO_ASPECT, AspectClassifier, load_seeds


def test_every_aspect_has_its_seed_sentences_and_none_repeats() -> None:
    seeds = load_seeds()
    counts = Counter(aspect for aspect, _ in seeds)
    assert set(counts) == {*ASPECTS, NO_ASPECT}
    assert min(counts.values()) >= 15
    assert len({sentence.lower() for _, sentence in seeds}) == len(seeds)


def test_a_bad_seed_line_is_refused_with_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "seeds.tsv"
    path.write_text("price\tToo dear.\nweather\tSunny today.\n")
    with pytest.raises(ValueError, match=r"seeds.tsv:2"):
        load_seeds(path)


@pytest.fixture(scope="module")
def classifier() -> AspectClassifier:
    return AspectClassifier.from_seeds(encoder=SentenceEncoder(dtype="float32"))


@pytest.mark.parametrize(
    ("sentence", "aspect"),
    [
        ("The courier was three days late and the box was crushed.", "delivery"),
        ("Your support line never picks up the phone.", "support"),
        ("I was invoiced twice in March.", "billing"),
        ("Way overpriced for what it does.", "price"),
        ("The onboarding call was super useful.", "onboarding"),
    ],
)
def test_unseen_sentences_get_their_aspect(classifier: AspectClassifier, sentence: str, aspect: str) -> None:
    found = classifier.classify([sentence])[0]
    assert found is not None
    assert found[0] == aspect


def test_small_talk_has_no_aspect(classifier: AspectClassifier) -> None:
    assert classifier.predict(["See you at the meeting on Monday.", "Happy birthday, Ioana!"]) == [NO_ASPECT] * 2
    assert classifier.classify([]) == []
