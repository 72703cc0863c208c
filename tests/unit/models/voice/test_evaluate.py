"""The evaluation's diarization error rate."""

from __future__ import annotations

import pytest

from models.voice.evaluate import diarization_error

REFERENCE = [("rep", 0.0, 4.0), ("customer", 5.0, 9.0)]


def test_der_is_zero_for_a_perfect_answer_under_any_names() -> None:
    assert diarization_error(REFERENCE, [("S2", 0.0, 4.0), ("S1", 5.0, 9.0)], 10.0) == 0.0


def test_der_counts_confusion_missed_and_false_alarm() -> None:
    one_speaker = [("S1", 0.0, 4.0), ("S1", 5.0, 9.0)]
    # outside the 0.25 s collars, 3.5 s of each side is scored: half of it is confused
    assert diarization_error(REFERENCE, one_speaker, 10.0) == pytest.approx(0.5, abs=0.01)
    assert diarization_error(REFERENCE, [], 10.0) == pytest.approx(1.0)
    extra = [("S1", 0.0, 4.0), ("S2", 5.0, 9.0), ("S1", 9.5, 10.0)]
    assert diarization_error(REFERENCE, extra, 10.0) > 0.0
