"""Shared audio for the voice tests: espeak-ng speech (installed by `make test`) as 16 kHz samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from models.voice.evaluate import CUSTOMER_VOICE, REP_VOICE, speak

REP_LINE = "Thanks for joining the call today, I wanted to walk you through the renewal proposal."
CUSTOMER_LINE = "We are comparing your product with two other vendors this quarter."


@pytest.fixture(scope="session")
def two_voices(tmp_path_factory: pytest.TempPathFactory) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """(rep, customer): a male and a female espeak-ng voice, one sentence each, silence trimmed."""
    folder: Path = tmp_path_factory.mktemp("voices")
    return speak(REP_LINE, REP_VOICE, folder), speak(CUSTOMER_LINE, CUSTOMER_VOICE, folder)


def pause(seconds: float) -> NDArray[np.float32]:
    return np.zeros(int(seconds * 16000), dtype=np.float32)
