"""Domain-balanced training, a held-out domain and a warm start, on a few texts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.sentiment.classifier import DEFAULT_ARTIFACT, MiniLMSentiment
from models.sentiment.train import main

pytestmark = pytest.mark.slow


def test_a_warm_start_with_no_learning_reproduces_its_artifact_and_records_the_recipe(tmp_path: Path) -> None:
    argv = ["--out", str(tmp_path), "--version", "smoke", "--epochs", "1", "--balanced", "4", "--lr", "0"]
    argv += ["--hold-out", "nyt_editorials", "--init", str(DEFAULT_ARTIFACT), "--validation-per-domain", "5"]
    main(argv)
    folder = tmp_path / "smoke"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["training_texts"] == 16  # 4 texts from each of the 4 domains left in
    assert metrics["hyperparameters"]["hold_out"] == "nyt_editorials"
    assert metrics["hyperparameters"]["init"] == str(DEFAULT_ARTIFACT)
    assert json.loads((folder / "meta.json").read_text())["version"] == "smoke"
    texts = ["I love this!", "Worst service ever.", "The store opens at nine."]
    trained = MiniLMSentiment(folder, dtype="float32").predict_proba(texts)
    original = MiniLMSentiment(dtype="float32").predict_proba(texts)
    np.testing.assert_allclose(trained, original, atol=1e-5)
