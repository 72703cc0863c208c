"""Calibrated XGBoost churn classifier with per-prediction explanations.

Probabilities are XGBoost scores mapped through an isotonic calibration fitted
on out-of-fold scores (cross-fitting), so the final trees train on every row.
Risk buckets (for the CRM's ChurnRiskBadge):
``low`` < 0.30 ≤ ``medium`` < 0.60 ≤ ``high``. Explanations are XGBoost
``pred_contribs`` (log-odds contributions), top features by magnitude.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from models.churn.features import FEATURES, as_row
from models.errors import ArtifactNotFound, InvalidInput

Bucket = Literal["low", "medium", "high"]
BUCKET_EDGES = (0.30, 0.60)
ARTIFACT_VERSION = 2
TIE_BREAK = 1e-6
# Candidates :func:`select_params` chooses from by inner cross-validation (shallow trees
# with more rounds to deeper ones with fewer: churn data sets are small and noisy).
PARAM_GRID: tuple[dict[str, Any], ...] = (
    {"max_depth": 1, "n_estimators": 1200, "learning_rate": 0.05},
    {"max_depth": 2, "n_estimators": 600, "learning_rate": 0.03},
    {"max_depth": 3, "n_estimators": 400, "learning_rate": 0.03},
    {"max_depth": 4, "n_estimators": 400, "learning_rate": 0.04},
)


def xgboost_options(seed: int, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The classifier's options: the defaults below, overridden by ``params``."""
    return {
        "n_estimators": 400,
        "max_depth": 4,
        "learning_rate": 0.04,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "min_child_weight": 5,
        "reg_lambda": 1.0,
        "tree_method": "hist",
        "random_state": seed,
        "n_jobs": 2,
        **(params or {}),
    }


def bucket_of(probability: float) -> Bucket:
    if probability < BUCKET_EDGES[0]:
        return "low"
    return "medium" if probability < BUCKET_EDGES[1] else "high"


@dataclass(frozen=True)
class Contribution:
    feature: str
    value: float
    contribution: float  # log-odds; positive raises churn risk


@dataclass(frozen=True)
class ChurnScore:
    probability: float
    bucket: Bucket
    top_contributions: list[Contribution]


class ChurnModel:
    def __init__(
        self,
        booster: Any,
        calibration_x: NDArray[np.float64],
        calibration_y: NDArray[np.float64],
        features: tuple[str, ...] = FEATURES,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.booster = booster
        self.calibration_x = calibration_x
        self.calibration_y = calibration_y
        self.features = features
        self.metadata = metadata or {}

    # -- training ------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        x: NDArray[np.float64],
        y: NDArray[np.float64],
        *,
        seed: int = 7,
        calibration_folds: int = 5,
        params: dict[str, Any] | None = None,
        features: tuple[str, ...] = FEATURES,
    ) -> ChurnModel:
        import xgboost as xgb
        from sklearn.isotonic import IsotonicRegression
        from sklearn.model_selection import StratifiedKFold

        if len(x) != len(y) or len(x) < 50:
            raise InvalidInput(f"need at least 50 labelled rows with matching labels, got {len(x)}/{len(y)}")
        options = xgboost_options(seed, params)
        # Cross-fitting: the calibration map is learnt from out-of-fold scores, so the
        # final trees can use every row and the map never sees scores of its own trees.
        out_of_fold = np.zeros(len(y))
        for fit_idx, cal_idx in StratifiedKFold(calibration_folds, shuffle=True, random_state=seed).split(x, y):
            fold_model = xgb.XGBClassifier(**options).fit(x[fit_idx], y[fit_idx], verbose=False)
            out_of_fold[cal_idx] = fold_model.get_booster().inplace_predict(x[cal_idx])
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(out_of_fold, y)
        booster = xgb.XGBClassifier(**options).fit(x, y, verbose=False).get_booster()
        return cls(
            booster,
            np.asarray(iso.X_thresholds_),
            np.asarray(iso.y_thresholds_),
            features,
            {
                "seed": seed,
                "params": {k: v for k, v in options.items() if k != "n_jobs"},
                "calibration": f"isotonic on {calibration_folds}-fold out-of-fold scores",
            },
        )

    # -- scoring -------------------------------------------------------------------
    def predict(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Calibrated churn probabilities (0-1) for a matrix ordered as :attr:`features`."""
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise InvalidInput(f"expected a (n, {len(self.features)}) matrix, got {x.shape}")
        if np.isinf(x).any():
            raise InvalidInput("features contain ±inf; missing values must be NaN")
        raw = np.asarray(self.booster.inplace_predict(x), dtype=np.float64)
        # The isotonic map has flat steps; a negligible share of the raw score keeps
        # the ranking of customers inside a step (calibration moves by < 1e-6).
        calibrated = np.interp(raw, self.calibration_x, self.calibration_y)
        return np.clip(calibrated + TIE_BREAK * (raw - 0.5), 0.0, 1.0)

    def score(self, features: Mapping[str, float | None], top: int = 3) -> ChurnScore:
        import xgboost as xgb

        row = np.asarray([as_row(features)], dtype=np.float64)
        probability = float(self.predict(row)[0])
        contributions = self.booster.predict(xgb.DMatrix(row, feature_names=list(self.features)), pred_contribs=True)[
            0
        ][:-1]
        order = np.argsort(-np.abs(contributions))[:top]
        explained = [Contribution(self.features[i], float(row[0, i]), round(float(contributions[i]), 4)) for i in order]
        return ChurnScore(probability=round(probability, 4), bucket=bucket_of(probability), top_contributions=explained)

    def score_batch(self, rows: Sequence[Mapping[str, float | None]], top: int = 3) -> list[ChurnScore]:
        """:meth:`score` for many feature dicts with one prediction pass (what the batched deployment calls)."""
        import xgboost as xgb

        if not rows:
            return []
        matrix = np.asarray([as_row(features) for features in rows], dtype=np.float64)
        probabilities = self.predict(matrix)
        contributions = self.booster.predict(
            xgb.DMatrix(matrix, feature_names=list(self.features)), pred_contribs=True
        )[:, :-1]
        scores = []
        for row, probability, contribution in zip(matrix, probabilities, contributions, strict=True):
            order = np.argsort(-np.abs(contribution))[:top]
            explained = [Contribution(self.features[i], float(row[i]), round(float(contribution[i]), 4)) for i in order]
            scores.append(
                ChurnScore(
                    probability=round(float(probability), 4),
                    bucket=bucket_of(float(probability)),
                    top_contributions=explained,
                )
            )
        return scores

    # -- persistence ---------------------------------------------------------------
    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(folder / "booster.json")
        manifest = {
            "artifact_version": ARTIFACT_VERSION,
            "features": list(self.features),
            "calibration_x": self.calibration_x.tolist(),
            "calibration_y": self.calibration_y.tolist(),
            "bucket_edges": list(BUCKET_EDGES),
            "metadata": self.metadata,
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=_jsonable))
        return folder

    @classmethod
    def load(cls, folder: Path) -> ChurnModel:
        import xgboost as xgb

        manifest_path = folder / "manifest.json"
        if not manifest_path.exists():
            raise ArtifactNotFound(f"no churn model in {folder}: build it with `python -m models.churn.train`")
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("artifact_version") != ARTIFACT_VERSION:
            raise ArtifactNotFound(f"{folder} holds artifact version {manifest.get('artifact_version')}; retrain")
        booster = xgb.Booster()
        booster.load_model(folder / "booster.json")
        booster.set_param({"nthread": 1})
        return cls(
            booster,
            np.asarray(manifest["calibration_x"]),
            np.asarray(manifest["calibration_y"]),
            tuple(manifest["features"]),
            manifest.get("metadata", {}),
        )


def select_params(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    *,
    seed: int = 7,
    folds: int = 4,
    grid: tuple[dict[str, Any], ...] = PARAM_GRID,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The grid entry with the best mean ROC-AUC over ``folds`` inner folds of ``(x, y)``, and every score.

    Only the rows given are used, so an evaluation that calls this on its training
    split (nested cross-validation) never chooses parameters on its test rows.
    """
    import xgboost as xgb
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y))
    table = []
    for candidate in grid:
        options = xgboost_options(seed, candidate)
        aucs = []
        for fit_idx, test_idx in splits:
            booster = xgb.XGBClassifier(**options).fit(x[fit_idx], y[fit_idx], verbose=False).get_booster()
            aucs.append(roc_auc_score(y[test_idx], booster.inplace_predict(x[test_idx])))
        table.append({**candidate, "inner_cv_auc": round(float(np.mean(aucs)), 4)})
    best = max(range(len(grid)), key=lambda i: table[i]["inner_cv_auc"])
    return dict(grid[best]), table


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)
