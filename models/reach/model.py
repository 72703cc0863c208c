"""The reach model and its baseline.

Both predict ``log1p(retweets + favourites)`` as the author's recent mean (``mean_20``) plus a correction:

* :class:`RunningMeanBaseline`: a ridge regression of the correction on the author's history and the post's
  timing (hour, weekday). What an account manager's rule of thumb knows.
* :class:`ReachModel`: gradient-boosted trees on the same history and timing, the text's surface features
  and its sentence embedding (reduced to :data:`EMBEDDING_COMPONENTS` principal components fitted on the
  training posts). A post without text gets a zero vector and ``has_text = 0``: it is scored on the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.reach.features import FEATURES, HISTORY, TIMING

EMBEDDING_COMPONENTS = 24
MEAN_20 = FEATURES.index("mean_20")
BASELINE_COLUMNS = [FEATURES.index(name) for name in (*HISTORY, *TIMING)]


def _residual(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    return y - x[:, MEAN_20]


@dataclass
class RunningMeanBaseline:
    ridge: Any = None

    def fit(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> RunningMeanBaseline:
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.ridge = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(x[:, BASELINE_COLUMNS], _residual(x, y))
        return self

    def predict(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(x[:, MEAN_20] + self.ridge.predict(x[:, BASELINE_COLUMNS]), dtype=np.float64)


@dataclass
class ReachModel:
    """``use_text=False`` keeps history, timing and surface features only (the embedding's share, measured)."""

    use_text: bool = True
    seed: int = 7
    pca: Any = None
    trees: Any = None
    importances: dict[str, float] = field(default_factory=dict)

    def _inputs(self, x: NDArray[np.float64], vectors: NDArray[np.float32] | None) -> NDArray[np.float64]:
        if not self.use_text or vectors is None:
            return x
        components = self.pca.transform(vectors) * x[:, [FEATURES.index("has_text")]]  # no text: zeros
        return np.hstack([x, components])

    def fit(
        self, x: NDArray[np.float64], y: NDArray[np.float64], vectors: NDArray[np.float32] | None = None
    ) -> ReachModel:
        from sklearn.decomposition import PCA
        from sklearn.ensemble import HistGradientBoostingRegressor

        if self.use_text:
            if vectors is None:
                raise ValueError("use_text needs the posts' sentence vectors")
            self.pca = PCA(n_components=EMBEDDING_COMPONENTS, random_state=self.seed).fit(vectors)
        self.trees = HistGradientBoostingRegressor(
            max_iter=400, learning_rate=0.05, max_leaf_nodes=31, min_samples_leaf=40, l2_regularization=1.0,
            early_stopping=True, validation_fraction=0.15, random_state=self.seed,
        ).fit(self._inputs(x, vectors), _residual(x, y))  # fmt: skip
        return self

    def predict(self, x: NDArray[np.float64], vectors: NDArray[np.float32] | None = None) -> NDArray[np.float64]:
        if self.trees is None:
            raise RuntimeError("fit the model first")
        if self.use_text and vectors is None:
            vectors = np.zeros((len(x), self.pca.n_features_in_), dtype=np.float32)
        return np.asarray(x[:, MEAN_20] + self.trees.predict(self._inputs(x, vectors)), dtype=np.float64)


def spearman(predicted: NDArray[np.float64], actual: NDArray[np.float64]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(predicted, actual).statistic)


def top_decile_auc(predicted: NDArray[np.float64], actual: NDArray[np.float64]) -> float:
    """How well the score picks the posts whose engagement ends up in the top tenth (ROC-AUC)."""
    from sklearn.metrics import roc_auc_score

    top = actual >= np.quantile(actual, 0.9)
    return float(roc_auc_score(top, predicted))
