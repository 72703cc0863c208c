"""Churn features and model on real CDNOW purchases (no servers)."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from models.churn.data import churned_after, load_cdnow
from models.churn.evaluate import CUTOFF, cdnow_matrix
from models.churn.features import FEATURES, Engagement, Order, as_row, customer_features, features_help
from models.churn.model import ChurnModel, bucket_of
from models.errors import ArtifactNotFound, InvalidInput

AS_OF = date(2026, 11, 1)


def test_features_describe_the_history() -> None:
    orders = [Order(date(2026, 1, 10), 100.0, 2), Order(date(2026, 7, 1), 50.0), Order(date(2026, 10, 2), 30.0)]
    f = customer_features(orders, AS_OF)
    assert list(f) == list(FEATURES)
    assert f["recency_days"] == 30
    assert f["orders_total"] == 3
    assert f["orders_90d"] == 1
    assert f["monetary_365d"] == 180
    assert f["units_total"] == 4
    assert f["interpurchase_mean_days"] == pytest.approx((172 + 93) / 2)
    assert math.isnan(f["sentiment_trend"])  # unknown engagement is NaN, not 0


def test_future_orders_are_ignored_and_engagement_is_used() -> None:
    orders = [Order(date(2026, 10, 1), 10.0), Order(date(2027, 1, 1), 999.0)]
    f = customer_features(orders, AS_OF, Engagement(sentiment_trend=-0.4, support_calls_90d=3))
    assert f["monetary_total"] == 10
    assert f["sentiment_trend"] == -0.4
    assert f["support_calls_90d"] == 3
    assert math.isnan(f["interpurchase_mean_days"])  # a single order has no gaps


@pytest.mark.parametrize(
    ("orders", "message"),
    [
        ([], "no orders"),
        ([Order(date(2027, 1, 1), 5.0)], "no orders"),
        ([Order(date(2026, 1, 1), -5.0)], "amount"),
        ([Order(date(2026, 1, 1), float("nan"))], "amount"),
        ([Order(date(2026, 1, 1), 5.0, -1)], "quantity"),
    ],
)
def test_bad_histories_are_typed_errors(orders: list[Order], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        customer_features(orders, AS_OF)


def test_missing_features_are_refused() -> None:
    with pytest.raises(InvalidInput, match="tenure_days is missing"):
        as_row({"recency_days": 1.0})


def test_feature_rules_name_every_bad_field_and_optional_ones_may_be_unknown() -> None:
    good = customer_features([Order(date(2026, 1, 1), 50.0), Order(date(2026, 2, 1), 20.0)], AS_OF)
    bad = {**good, "recency_days": -5.0, "orders_total": -1.0, "active_span_ratio": 1.5, "recnecy": 1.0}
    with pytest.raises(InvalidInput) as err:
        as_row(bad)
    fields = [v["field"] for v in err.value.extra["violations"]]
    assert fields == ["recnecy", "recency_days", "orders_total", "active_span_ratio"]
    assert "must be >= 0, got -5" in err.value.detail
    unknown = {k: v for k, v in good.items() if k not in ("sentiment_trend", "support_calls_90d")}
    unknown["campaign_clicks_90d"] = None  # type: ignore[assignment]
    row = as_row(unknown)
    assert np.isnan(row[FEATURES.index("sentiment_trend")]) and np.isnan(row[FEATURES.index("campaign_clicks_90d")])
    with pytest.raises(InvalidInput, match="recency_days is required"):
        as_row({**good, "recency_days": None})
    assert "| `recency_days` | days since the last order | ≥ 0 | no |" in features_help()


def test_buckets() -> None:
    assert [bucket_of(p) for p in (0.1, 0.3, 0.59, 0.6, 0.99)] == ["low", "medium", "medium", "high", "high"]


@pytest.fixture(scope="module")
def cdnow_model() -> tuple[ChurnModel, np.ndarray, np.ndarray]:
    customers = load_cdnow()
    assert len(customers) == 23570
    x, y = cdnow_matrix(customers[::4])
    return ChurnModel.fit(x, y, seed=3, params={"n_estimators": 80}), x, y


def test_model_learns_from_real_purchases(cdnow_model: tuple[ChurnModel, np.ndarray, np.ndarray]) -> None:
    from sklearn.metrics import roc_auc_score

    model, x, y = cdnow_model
    p = model.predict(x)
    assert ((p >= 0) & (p <= 1)).all()
    assert roc_auc_score(y, p) > 0.7
    assert abs(p.mean() - y.mean()) < 0.05  # calibrated on average


def test_online_scoring_matches_batch_and_explains(
    cdnow_model: tuple[ChurnModel, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    model, x, _ = cdnow_model
    customer = load_cdnow()[0]
    features = customer_features(customer.orders, CUTOFF)
    online = model.score(features)
    batch = model.predict(np.asarray([as_row(features)]))[0]
    assert online.probability == pytest.approx(batch, abs=1e-4)  # same pipeline, no skew
    assert len(online.top_contributions) == 3
    assert all(c.feature in FEATURES for c in online.top_contributions)
    reloaded = ChurnModel.load(model.save(tmp_path / "churn"))
    np.testing.assert_allclose(reloaded.predict(x[:50]), model.predict(x[:50]), atol=1e-6)
    assert isinstance(churned_after(customer, CUTOFF), bool)


def test_model_input_errors(cdnow_model: tuple[ChurnModel, np.ndarray, np.ndarray], tmp_path: Path) -> None:
    model, x, _ = cdnow_model
    with pytest.raises(InvalidInput, match="matrix"):
        model.predict(x[:, :3])
    bad = x[:2].copy()
    bad[0, 0] = np.inf
    with pytest.raises(InvalidInput, match="inf"):
        model.predict(bad)
    with pytest.raises(ArtifactNotFound, match=r"models\.churn\.train"):
        ChurnModel.load(tmp_path / "nothing-here")


def test_parameter_search_scores_every_candidate_on_the_rows_given(
    cdnow_model: tuple[ChurnModel, np.ndarray, np.ndarray],
) -> None:
    from models.churn.model import select_params

    _, x, y = cdnow_model
    grid = (
        {"max_depth": 1, "n_estimators": 40, "learning_rate": 0.1},
        {"max_depth": 3, "n_estimators": 40, "learning_rate": 0.1},
    )
    best, table = select_params(x[:2000], y[:2000], seed=3, folds=3, grid=grid)
    assert [row["max_depth"] for row in table] == [1, 3]
    assert all(0.6 < row["inner_cv_auc"] <= 1 for row in table)  # real signal on real purchases
    winner = max(range(len(grid)), key=lambda i: table[i]["inner_cv_auc"])
    assert best == grid[winner]


def test_telco_derived_columns_are_finite() -> None:
    from models.churn.evaluate import telco_frame

    x, y, columns = telco_frame()
    assert len(y) == 7043 and set(np.unique(y)) == {0.0, 1.0}
    for name in ("log_tenure", "average_charge", "charge_above_average", "protection_addons", "services"):
        column = x[:, columns.index(name)]
        assert np.isfinite(column[~np.isnan(column)]).all()
    services = x[:, columns.index("services")]
    assert services.min() >= 0 and services.max() <= 9
