"""The language detector, with py3langid's packaged model."""

from __future__ import annotations

import pytest

from models.text.language import UNDETERMINED, LanguageDetector


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Livrarea a întârziat două săptămâni și nimeni nu răspunde la telefon.", "ro"),
        ("Die Lieferung kam viel zu spät an und der Kundendienst antwortet nicht.", "de"),
        ("La livraison est arrivée avec deux semaines de retard.", "fr"),
    ],
)
def test_other_languages_are_detected_and_flagged_unsupported(detector: LanguageDetector, text: str, code: str) -> None:
    found = detector.detect(text)
    assert found.code == code
    assert found.confidence >= 0.5
    assert found.supported is False


def test_english_with_handles_links_and_tags_is_english_and_supported(detector: LanguageDetector) -> None:
    found = detector.detect("@united my flight was delayed again, third time this month https://t.co/x #fail")
    assert (found.code, found.supported) == ("en", True)


@pytest.mark.parametrize("text", ["lol", "ok 👍", "@acme #win 2024", "Great!!"])
def test_too_short_to_tell_is_undetermined_and_left_to_the_model(detector: LanguageDetector, text: str) -> None:
    found = detector.detect(text)
    assert found.code == UNDETERMINED
    assert found.supported is True


def test_a_multilingual_model_reads_every_language() -> None:
    found = LanguageDetector(["*"]).detect("Mulțumesc frumos pentru ajutor, totul a mers perfect!")
    assert (found.code, found.supported) == ("ro", True)
    assert LanguageDetector(["en", "ro"]).detect("Mulțumesc frumos pentru ajutor, totul a mers perfect!").supported
