"""Which language a text is written in, with py3langid (its naive-Bayes model ships in the wheel; 97 languages).

The sentiment model was trained on English; a Romanian or German mention scored by it gets an English guess
with English confidence. The detector flags such texts so they are answered ``supported: false`` instead.
Short texts (a few letters once links, @handles, #tags and numbers are removed) carry too little to tell and
are left to the model (``und``); a guess below ``min_confidence`` is ``und`` too, so an English tweet full
of slang is not refused for looking Danish.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

UNDETERMINED = "und"
_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#]\w+|\d+|&amp;|&\w+;", re.UNICODE)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1, or "und" when the text is too short or the guess too unsure
    confidence: float  # the detector's normalised probability for ``code`` (0 for "und" on short texts)
    supported: bool  # the model reading it was trained for this language (or it cannot be told)


class LanguageDetector:
    """Detects a text's language and whether the model behind it reads that language."""

    def __init__(
        self, supported: Iterable[str] = ("en",), *, min_confidence: float = 0.5, min_letters: int = 10
    ) -> None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self.identifier: Any = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        self.supported = frozenset(code.strip().lower() for code in supported)
        self.min_confidence = min_confidence
        self.min_letters = min_letters

    @property
    def any_language(self) -> bool:
        return "*" in self.supported

    def detect(self, text: str) -> Language:
        cleaned = _NOISE.sub(" ", text)
        if len(_LETTER.findall(cleaned)) < self.min_letters:
            return Language(UNDETERMINED, 0.0, True)
        code, probability = self.identifier.classify(cleaned)
        confidence = round(float(probability), 4)
        if confidence < self.min_confidence:
            return Language(UNDETERMINED, confidence, True)
        return Language(str(code), confidence, self.any_language or code in self.supported)

    def detect_all(self, texts: list[str]) -> list[Language]:
        return [self.detect(text) for text in texts]
