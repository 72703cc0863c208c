"""The packaged sentiment model read whole: long texts in chunks, other languages flagged, aspects."""

from __future__ import annotations

import numpy as np
import pytest

from models.errors import InvalidInput
from models.sentiment.analyzer import SentimentAnalyzer
from models.sentiment.classifier import DEFAULT_ARTIFACT, MiniLMSentiment, load_analyzer
from models.sentiment.long_text import FILE_NAME, Aggregation

COMPLAINT = (
    "Hello, I am writing about order 4471 from last month. "
    "We ordered twelve licences and the onboarding call was scheduled for the first week. "
    "The team that joined was friendly and the platform itself looks fine. "
    "However the delivery of the hardware tokens took three weeks, and two of them arrived broken. "
    "I called support four times and nobody ever called me back. "
    "This is completely unacceptable and we are very disappointed; we will cancel if it is not fixed this week."
)


@pytest.fixture(scope="module")
def analyzer() -> SentimentAnalyzer:
    return load_analyzer(dtype="float32")


def test_the_packaged_artifact_carries_a_fitted_long_text_rule() -> None:
    rule = Aggregation.load(DEFAULT_ARTIFACT)
    assert (DEFAULT_ARTIFACT / FILE_NAME).exists()
    assert "fine-food" in rule.fitted_on


def test_a_long_email_is_read_in_chunks_and_its_closing_complaint_counts(analyzer: SentimentAnalyzer) -> None:
    result = analyzer.analyze([COMPLAINT])[0]
    assert result.chunks > 1
    assert not result.truncated
    assert (result.language, result.supported) == ("en", True)
    assert result.label == "negative"
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-3)


def test_short_texts_score_as_the_bare_model_does(analyzer: SentimentAnalyzer) -> None:
    texts = ["I love this brand, great service!", "Worst purchase ever.", "The store opens at nine."]
    bare = analyzer.model.predict_proba(texts)
    assert np.allclose(analyzer.predict_proba(texts), bare, atol=1e-6)
    assert [r.chunks for r in analyzer.analyze(texts)] == [1, 1, 1]


def test_another_language_is_flagged_and_not_given_an_english_score(analyzer: SentimentAnalyzer) -> None:
    romanian, english = analyzer.analyze(
        ["Sunt foarte nemulțumit, livrarea a întârziat trei săptămâni.", "Very unhappy, delivery was three weeks late."]
    )
    assert (romanian.language, romanian.supported, romanian.label, romanian.score) == ("ro", False, "neutral", 0.0)
    assert romanian.chunks == 0
    assert english.supported
    assert english.label == "negative"


def test_aspects_name_the_topic_of_each_sentence_with_its_sentiment(analyzer: SentimentAnalyzer) -> None:
    mentions = analyzer.aspects([COMPLAINT, "See you on Monday at the office."])
    assert mentions[1] == []
    by_aspect = {m.aspect: m for m in mentions[0]}
    assert {"delivery", "support"} <= set(by_aspect)
    assert by_aspect["support"].label == "negative"
    assert by_aspect["delivery"].sentence.startswith("However the delivery")
    assert all(0.4 <= m.confidence <= 1 for m in mentions[0])


def test_bad_input_is_refused(analyzer: SentimentAnalyzer) -> None:
    with pytest.raises(InvalidInput):
        analyzer.analyze(["   "])
    with pytest.raises(InvalidInput):
        analyzer.aspects([])


def test_the_bare_model_declares_its_languages() -> None:
    assert MiniLMSentiment(dtype="float32").languages == ("en",)
