"""A tenant's own lead-scoring model: calibrated conversion probability with per-lead contributions.

A regularised logistic regression on :func:`feature_row` (the rule's facts, ANAF firmographics, e-mail and
site engagement, intent). Logistic regression because a tenant has hundreds of outcomes, not millions: it is
calibrated by construction, its contributions are exact (coefficient times standardised value), and it is
stored as plain JSON.

:func:`decide` is the gate: the model replaces the rule score only when it beats it on the tenant's
held-out (most recent) leads by more than chance, judged by a paired bootstrap of the AUC difference;
tenants with too few outcomes keep the rule and are told why.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.errors import ArtifactNotFound
from models.leadscore.facts import SOURCES, LeadFacts
from models.leadscore.rules import rule_score

ARTIFACT_VERSION = 1
MIN_PER_CLASS = 20  # converted and lost leads each, before a tenant's own model is even tried
HOLDOUT_SHARE = 0.3
C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)

FEATURES: tuple[str, ...] = (
    "email_business", "email_free", "has_phone", "company_named", "valid_cui", "full_name",
    *(f"source_{s}" for s in SOURCES),
    "firmographics_known", "log_employees", "log_employees_sq", "log_turnover", "vat_registered",
    "log_company_age",
    "log_opens", "log_clicks", "log_visits", "recency", "intent", "intent_known",
)  # fmt: skip
# Contributions are reported per group, as a sales rep reads them: "source referral", not three dummies.
GROUPS: dict[str, tuple[str, ...]] = {
    "e-mail": ("email_business", "email_free"),
    "source": tuple(f"source_{s}" for s in SOURCES),
    "company size": ("firmographics_known", "log_employees", "log_employees_sq", "log_turnover"),
}


def feature_row(facts: LeadFacts) -> list[float]:
    known = facts.employees is not None
    log_employees = math.log1p(facts.employees or 0)
    recency = math.exp(-facts.days_since_activity / 14) if facts.days_since_activity is not None else 0.0
    return [
        float(facts.email_kind == "business"),
        float(facts.email_kind == "free"),
        float(facts.has_phone),
        float(facts.company_named),
        float(facts.valid_cui),
        float(facts.full_name),
        *(float(facts.source == s) for s in SOURCES),
        float(known),
        log_employees,
        log_employees**2,
        math.log1p((facts.turnover_ron or 0.0) / 1000),
        1.0 if facts.vat_registered else 0.0,
        math.log1p(facts.company_age_years or 0.0),
        math.log1p(facts.emails_opened),
        math.log1p(facts.emails_clicked),
        math.log1p(facts.site_visits),
        recency,
        (facts.intent or 0.0) / 100,
        float(facts.intent is not None),
    ]


def feature_matrix(leads: Sequence[LeadFacts]) -> NDArray[np.float64]:
    return np.asarray([feature_row(f) for f in leads], dtype=np.float64).reshape(len(leads), len(FEATURES))


def rule_scores(leads: Sequence[LeadFacts]) -> NDArray[np.float64]:
    return np.asarray([rule_score(f).score for f in leads], dtype=np.float64)


def _logistic(c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=500, solver="newton-cg")


@dataclass(frozen=True)
class Contribution:
    name: str
    log_odds: float  # this lead's push above (+) or below (-) the tenant's average lead


@dataclass
class LeadScoringModel:
    mean: NDArray[np.float64]
    scale: NDArray[np.float64]
    coef: NDArray[np.float64]
    intercept: float
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fit(cls, leads: Sequence[LeadFacts], converted: Sequence[bool], *, seed: int = 7) -> LeadScoringModel:
        """Standardise, choose the L2 strength by 5-fold CV log-loss when there are enough rows, fit."""
        from sklearn.model_selection import StratifiedKFold, cross_val_score

        x, y = feature_matrix(leads), np.asarray(converted, dtype=np.int64)
        if len(set(y.tolist())) < 2:
            raise ValueError("a model needs converted and lost leads")
        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale[scale == 0] = 1.0
        z = (x - mean) / scale
        chosen = 0.3
        if min(int(y.sum()), int(len(y) - y.sum())) >= 25:
            folds = StratifiedKFold(5, shuffle=True, random_state=seed)
            losses = {c: -cross_val_score(_logistic(c), z, y, cv=folds, scoring="neg_log_loss").mean() for c in C_GRID}
            chosen = min(losses, key=lambda c: losses[c])
        fitted = _logistic(chosen).fit(z, y)
        return cls(
            mean=mean,
            scale=scale,
            coef=fitted.coef_[0].astype(np.float64),
            intercept=float(fitted.intercept_[0]),
            metadata={"C": chosen, "rows": len(y), "converted": int(y.sum())},
        )

    def log_odds(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(((x - self.mean) / self.scale) @ self.coef + self.intercept, dtype=np.float64)

    def predict(self, leads: Sequence[LeadFacts]) -> NDArray[np.float64]:
        """P(converted) per lead."""
        return 1.0 / (1.0 + np.exp(-self.log_odds(feature_matrix(leads))))

    def contributions(self, facts: LeadFacts, top: int = 5) -> list[Contribution]:
        """The largest pushes on this lead's log-odds, grouped as in :data:`GROUPS`, biggest first."""
        parts = ((np.asarray(feature_row(facts)) - self.mean) / self.scale) * self.coef
        by_name = dict(zip(FEATURES, parts.tolist(), strict=True))
        grouped: dict[str, float] = {}
        for group, names in GROUPS.items():
            grouped[group] = sum(by_name.pop(n) for n in names)
        grouped |= by_name
        ordered = sorted(grouped.items(), key=lambda kv: -abs(kv[1]))[:top]
        return [Contribution(name, round(value, 4)) for name, value in ordered]

    # -- persistence -------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "artifact_version": ARTIFACT_VERSION,
            "features": list(FEATURES),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "metadata": self.metadata,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LeadScoringModel:
        if data.get("artifact_version") != ARTIFACT_VERSION or data.get("features") != list(FEATURES):
            raise ArtifactNotFound("the stored lead-scoring model has another format: retrain it")
        return cls(
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            coef=np.asarray(data["coef"], dtype=np.float64),
            intercept=float(data["intercept"]),
            metadata=dict(data.get("metadata", {})),
        )

    def save(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_json(), indent=2))
        return path

    @classmethod
    def load(cls, path: Path) -> LeadScoringModel:
        if not path.exists():
            raise ArtifactNotFound(f"no lead-scoring model at {path}")
        return cls.from_json(json.loads(path.read_text()))


@dataclass(frozen=True)
class Comparison:
    """The model against the rule on the same held-out leads."""

    holdout: int
    model_auc: float
    rule_auc: float
    difference_low: float  # the 5th percentile of the bootstrapped AUC difference (model - rule)

    @property
    def model_wins(self) -> bool:
        return self.difference_low > 0.0


@dataclass(frozen=True)
class Decision:
    """What scores a tenant's leads: ``"model"`` (fitted on every outcome) or ``"rule"``, and why."""

    use: str
    reason: str
    comparison: Comparison | None = None
    model: LeadScoringModel | None = None


def auc(labels: NDArray[np.int64], scores: NDArray[np.float64]) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def compare(
    model: LeadScoringModel,
    leads: Sequence[LeadFacts],
    converted: Sequence[bool],
    *,
    resamples: int = 400,
    seed: int = 7,
) -> Comparison:
    """AUC of model and rule on ``leads``, and a paired bootstrap's lower bound on their difference."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(converted, dtype=np.int64)
    ours, rule = model.predict(leads), rule_scores(leads)
    rng = np.random.default_rng(seed)
    differences = []
    for _ in range(resamples):
        pick = rng.integers(0, len(y), len(y))
        if y[pick].min() == y[pick].max():
            continue
        differences.append(roc_auc_score(y[pick], ours[pick]) - roc_auc_score(y[pick], rule[pick]))
    low = float(np.quantile(differences, 0.05)) if differences else -1.0
    return Comparison(len(y), round(auc(y, ours), 4), round(auc(y, rule), 4), round(low, 4))


def decide(leads: Sequence[LeadFacts], converted: Sequence[bool], *, seed: int = 7) -> Decision:
    """Fit on the older leads, compare on the newest :data:`HOLDOUT_SHARE`, adopt the model only if it wins.

    ``leads`` must be in the order they were created (oldest first): the held-out leads are the newest,
    as the model will meet them."""
    y = np.asarray(converted, dtype=bool)
    won, lost = int(y.sum()), int(len(y) - y.sum())
    if min(won, lost) < MIN_PER_CLASS:
        return Decision(
            "rule", f"{won} converted and {lost} lost leads: the tenant's model needs {MIN_PER_CLASS} of each"
        )
    cut = int(len(y) * (1 - HOLDOUT_SHARE))
    held_y = y[cut:]
    if held_y.all() or not held_y.any():
        return Decision("rule", "the newest leads are all one outcome: nothing to compare on yet")
    trial = LeadScoringModel.fit(leads[:cut], y[:cut].tolist(), seed=seed)
    comparison = compare(trial, leads[cut:], held_y.tolist(), seed=seed)
    if not comparison.model_wins:
        return Decision(
            "rule",
            f"the model's AUC {comparison.model_auc:.3f} vs the rule's {comparison.rule_auc:.3f} on "
            f"{comparison.holdout} held-out leads is not a clear win",
            comparison,
        )
    model = LeadScoringModel.fit(leads, y.tolist(), seed=seed)
    model.metadata["comparison"] = {
        "holdout": comparison.holdout,
        "model_auc": comparison.model_auc,
        "rule_auc": comparison.rule_auc,
        "difference_low": comparison.difference_low,
    }
    return Decision(
        "model",
        f"the model's AUC {comparison.model_auc:.3f} beats the rule's {comparison.rule_auc:.3f} on "
        f"{comparison.holdout} held-out leads",
        comparison,
        model,
    )
