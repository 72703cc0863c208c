"""The model registry loads models by name with their options and warm-up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.churn.data import load_cdnow
from models.churn.evaluate import cdnow_matrix
from models.churn.model import ChurnModel
from models.errors import ModelError
from models.registry import EmbedRequest, ModelOptions, UnknownModel, registry


def test_unknown_models_name_the_known_ones() -> None:
    with pytest.raises(UnknownModel, match="embedding"):
        registry.spec("sentimentt")


def test_embedding_loads_warm_and_matches_its_schema() -> None:
    model = registry.load("embedding", ModelOptions(threads=2))
    request = EmbedRequest(texts=["salut"])
    result = model.encode(request.texts)
    spec = registry.spec("embedding")
    response = spec.output_schema(
        model_version=spec.version,
        vectors=result.vectors.tolist(),
        dimensions=result.vectors.shape[1],
        truncated=result.truncated,
        chunks=[row.chunks for row in result.rows()],
    )
    assert response.dimensions == 384
    assert response.chunks == [1]


def test_churn_loads_from_a_trained_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model_path"):
        registry.load("churn")
    x, y = cdnow_matrix(load_cdnow()[::10])
    ChurnModel.fit(x, y, params={"n_estimators": 30}).save(tmp_path / "churn")
    model = registry.load("churn", ModelOptions(model_path=tmp_path / "churn"))
    assert 0 <= float(model.predict(np.asarray(x[:1]))[0]) <= 1
    assert registry.spec("churn").evaluate == "models.churn.evaluate"
