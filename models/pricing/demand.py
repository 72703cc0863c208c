"""Demand models that estimate price elasticity.

* :class:`LogLogDemand`: ``log q = e·log p + c·log p_comp + i·log income +
  state effect + year effect`` by least squares (two-way fixed effects). ``e``
  is the own-price elasticity, with its standard error; segments (states) get
  their own elasticity, shrunk towards the pooled one.
* :class:`MonotoneGbmDemand`: XGBoost on the same signals with a monotone
  *decreasing* constraint on price, so a higher price never predicts more demand.

Both predict quantities (not logs) for a frame with the Cigar columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.errors import InvalidInput

SIGNALS = ("log_real_price", "log_real_competitor_price", "log_real_income")


def _check(frame: Any) -> None:
    missing = [c for c in (*SIGNALS, "state", "year") if c not in frame]
    if missing:
        raise InvalidInput(f"demand data lacks columns {missing}")
    values = frame[list(SIGNALS)].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise InvalidInput("prices and income must be positive and finite (their logs are used)")


@dataclass
class LogLogDemand:
    coefficients: dict[str, float] = field(default_factory=dict)
    std_errors: dict[str, float] = field(default_factory=dict)
    state_effects: dict[int, float] = field(default_factory=dict)
    year_effects: dict[int, float] = field(default_factory=dict)
    segment_elasticity: dict[int, float] = field(default_factory=dict)
    intercept: float = 0.0
    residual_std: float = 0.0

    @property
    def elasticity(self) -> float:
        return self.coefficients["log_real_price"]

    def fit(self, frame: Any, shrinkage: float = 20.0) -> LogLogDemand:
        _check(frame)
        states = sorted(frame["state"].unique())
        years = sorted(frame["year"].unique())
        x = [frame[list(SIGNALS)].to_numpy(dtype=float)]
        x += [(frame["state"] == s).to_numpy(dtype=float)[:, None] for s in states[1:]]
        x += [(frame["year"] == y).to_numpy(dtype=float)[:, None] for y in years[1:]]
        design = np.hstack([np.ones((len(frame), 1)), *x])
        target = frame["log_sales"].to_numpy(dtype=float)
        beta, *_ = np.linalg.lstsq(design, target, rcond=None)
        residuals = target - design @ beta
        dof = max(len(target) - design.shape[1], 1)
        sigma2 = float(residuals @ residuals / dof)
        covariance = sigma2 * np.linalg.pinv(design.T @ design)
        self.intercept = float(beta[0])
        self.residual_std = float(np.sqrt(sigma2))
        for i, name in enumerate(SIGNALS, start=1):
            self.coefficients[name] = float(beta[i])
            self.std_errors[name] = float(np.sqrt(covariance[i, i]))
        offset = 1 + len(SIGNALS)
        self.state_effects = {int(states[0]): 0.0} | {int(s): float(beta[offset + k]) for k, s in enumerate(states[1:])}
        offset += len(states) - 1
        self.year_effects = {int(years[0]): 0.0} | {int(y): float(beta[offset + k]) for k, y in enumerate(years[1:])}
        self._segment_elasticities(frame, residuals, shrinkage)
        return self

    def _segment_elasticities(self, frame: Any, residuals: NDArray[np.float64], shrinkage: float) -> None:
        """Per-state slope of residual demand on price, shrunk towards the pooled elasticity."""
        log_price = frame["log_real_price"].to_numpy(dtype=float)
        for state in sorted(frame["state"].unique()):
            mask = (frame["state"] == state).to_numpy()
            centred = log_price[mask] - log_price[mask].mean()
            spread = float(centred @ centred)
            local = float(centred @ residuals[mask]) / spread if spread > 0 else 0.0
            weight = spread / (spread + shrinkage * 0.01)
            self.segment_elasticity[int(state)] = self.elasticity + weight * local

    def predict(self, frame: Any) -> NDArray[np.float64]:
        _check(frame)
        log_q = np.full(len(frame), self.intercept)
        for name in SIGNALS:
            log_q += self.coefficients[name] * frame[name].to_numpy(dtype=float)
        log_q += frame["state"].map(self.state_effects).fillna(0.0).to_numpy(dtype=float)
        last_year = max(self.year_effects)
        # Years after the training window carry the last known year effect forward.
        log_q += (
            frame["year"]
            .map(lambda y: self.year_effects.get(int(y), self.year_effects[last_year]))
            .to_numpy(dtype=float)
        )
        # exp(log q) estimates the median; the lognormal mean adds sigma^2 / 2.
        return np.asarray(np.exp(log_q + self.residual_std**2 / 2), dtype=np.float64)


@dataclass
class MonotoneGbmDemand:
    seed: int = 7
    model: Any = None
    features: tuple[str, ...] = (*SIGNALS, "state")  # no year: trees cannot extrapolate time

    def fit(self, frame: Any) -> MonotoneGbmDemand:
        import xgboost as xgb

        _check(frame)
        constraints = tuple(-1 if name == "log_real_price" else 0 for name in self.features)
        self.model = xgb.XGBRegressor(
            n_estimators=600,
            max_depth=4,
            learning_rate=0.03,
            subsample=0.8,
            colsample_bytree=0.9,
            monotone_constraints=constraints,
            random_state=self.seed,
            n_jobs=2,
            tree_method="hist",
        )
        self.model.fit(frame[list(self.features)].to_numpy(dtype=float), frame["log_sales"].to_numpy(dtype=float))
        return self

    def predict(self, frame: Any) -> NDArray[np.float64]:
        _check(frame)
        if self.model is None:
            raise InvalidInput("fit the model first")
        return np.asarray(np.exp(self.model.predict(frame[list(self.features)].to_numpy(dtype=float))), np.float64)


def wape(actual: NDArray[np.float64], predicted: NDArray[np.float64]) -> float:
    return float(np.abs(actual - predicted).sum() / np.abs(actual).sum())


def mape(actual: NDArray[np.float64], predicted: NDArray[np.float64]) -> float:
    return float(np.mean(np.abs(actual - predicted) / np.abs(actual)))
