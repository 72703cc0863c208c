"""Churn features from a customer's orders (and optional engagement signals).

:func:`customer_features` is the only feature code: training calls it for every
customer at the cutoff date, online scoring calls it for one account "as of
now", so the model never sees features computed differently than it was
trained on. All amounts are in the account's currency; times are in days.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from models.errors import InvalidInput

WINDOWS_DAYS = (30, 90, 180, 365)


@dataclass(frozen=True, slots=True)
class Order:
    day: date
    amount: float
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class Engagement:
    """Optional CRM signals; ``None`` means unknown (imputed as documented in FEATURES)."""

    sentiment_trend: float | None = None  # slope of daily sentiment over 30 days, -1..1
    support_calls_90d: int | None = None
    campaign_clicks_90d: int | None = None


BASE_FEATURES: tuple[str, ...] = (
    "recency_days",
    "tenure_days",
    "orders_total",
    *(f"orders_{w}d" for w in WINDOWS_DAYS),
    "monetary_total",
    *(f"monetary_{w}d" for w in WINDOWS_DAYS),
    "avg_order_value",
    "max_order_value",
    "units_total",
    "interpurchase_mean_days",
    "interpurchase_std_days",
    "days_since_expected",
    "trend_orders_90d",
    "trend_monetary_90d",
    "repeat_orders",
    "repeat_rate_per_30d",
    "active_span_ratio",
)
ENGAGEMENT_FEATURES: tuple[str, ...] = ("sentiment_trend", "support_calls_90d", "campaign_clicks_90d")
FEATURES: tuple[str, ...] = BASE_FEATURES + ENGAGEMENT_FEATURES
"""Imputation: engagement features are NaN when unknown (XGBoost routes missing values
explicitly); inter-purchase statistics are NaN for customers with a single order."""


def _validated(orders: Iterable[Order], as_of: date) -> list[Order]:
    result = []
    for order in orders:
        if not isinstance(order.day, date):
            raise InvalidInput(f"order date {order.day!r} is not a date")
        if order.day > as_of:
            continue  # the future is not a feature
        if not math.isfinite(order.amount) or order.amount < 0:
            raise InvalidInput(f"order amount must be a finite number >= 0, got {order.amount!r}")
        if order.quantity < 0:
            raise InvalidInput(f"order quantity must be >= 0, got {order.quantity!r}")
        result.append(order)
    if not result:
        raise InvalidInput("no orders on or before the scoring date: churn needs at least one purchase")
    return sorted(result, key=lambda o: o.day)


def customer_features(
    orders: Sequence[Order] | Iterable[Order], as_of: date, engagement: Engagement | None = None
) -> dict[str, float]:
    """Feature vector (ordered as :data:`FEATURES`) for one customer at ``as_of``."""
    history = _validated(orders, as_of)
    first, last = history[0].day, history[-1].day
    ages = [(as_of - o.day).days for o in history]
    amounts = [o.amount for o in history]
    values: dict[str, float] = {
        "recency_days": float((as_of - last).days),
        "tenure_days": float((as_of - first).days),
        "orders_total": float(len(history)),
        "monetary_total": float(sum(amounts)),
        "avg_order_value": float(sum(amounts) / len(amounts)),
        "max_order_value": float(max(amounts)),
        "units_total": float(sum(o.quantity for o in history)),
    }
    for window in WINDOWS_DAYS:
        in_window = [o for o, age in zip(history, ages, strict=True) if age < window]
        values[f"orders_{window}d"] = float(len(in_window))
        values[f"monetary_{window}d"] = float(sum(o.amount for o in in_window))
    distinct_days = sorted({o.day for o in history})
    gaps = [(b - a).days for a, b in itertools.pairwise(distinct_days)]
    if gaps:
        mean = sum(gaps) / len(gaps)
        values["interpurchase_mean_days"] = float(mean)
        values["interpurchase_std_days"] = float(math.sqrt(sum((g - mean) ** 2 for g in gaps) / len(gaps)))
        values["days_since_expected"] = values["recency_days"] - mean
    else:
        values["interpurchase_mean_days"] = math.nan
        values["interpurchase_std_days"] = math.nan
        values["days_since_expected"] = math.nan
    recent = [o for o, age in zip(history, ages, strict=True) if age < 90]
    previous = [o for o, age in zip(history, ages, strict=True) if 90 <= age < 180]
    values["trend_orders_90d"] = float(len(recent) - len(previous))
    values["trend_monetary_90d"] = float(sum(o.amount for o in recent) - sum(o.amount for o in previous))
    # BG/NBD-style, tenure-relative: comparable between customers acquired at different times.
    tenure = max(values["tenure_days"], 1.0)
    values["repeat_orders"] = float(len(distinct_days) - 1)
    values["repeat_rate_per_30d"] = values["repeat_orders"] / tenure * 30
    values["active_span_ratio"] = (last - first).days / tenure
    e = engagement or Engagement()
    values["sentiment_trend"] = math.nan if e.sentiment_trend is None else float(e.sentiment_trend)
    values["support_calls_90d"] = math.nan if e.support_calls_90d is None else float(e.support_calls_90d)
    values["campaign_clicks_90d"] = math.nan if e.campaign_clicks_90d is None else float(e.campaign_clicks_90d)
    return {name: values[name] for name in FEATURES}


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """What a caller may send for one feature: its meaning, its range, and whether it may be unknown."""

    description: str
    minimum: float | None = 0.0
    maximum: float | None = None
    optional: bool = False  # may be null/absent: the model routes a missing value (NaN) explicitly


_WINDOW_SPECS = {
    **{f"orders_{w}d": FeatureSpec(f"orders in the last {w} days") for w in WINDOWS_DAYS},
    **{f"monetary_{w}d": FeatureSpec(f"amount spent in the last {w} days") for w in WINDOWS_DAYS},
}
FEATURE_SPECS: dict[str, FeatureSpec] = {
    "recency_days": FeatureSpec("days since the last order"),
    "tenure_days": FeatureSpec("days since the first order"),
    "orders_total": FeatureSpec("orders ever"),
    "monetary_total": FeatureSpec("amount spent ever"),
    "avg_order_value": FeatureSpec("mean order amount"),
    "max_order_value": FeatureSpec("largest order amount"),
    "units_total": FeatureSpec("units bought ever"),
    "interpurchase_mean_days": FeatureSpec("mean days between order days (unknown with one order day)", optional=True),
    "interpurchase_std_days": FeatureSpec("spread of the days between order days", optional=True),
    "days_since_expected": FeatureSpec(
        "recency minus the mean gap: > 0 means the next order is overdue", minimum=None, optional=True
    ),
    "trend_orders_90d": FeatureSpec("orders in the last 90 days minus the 90 before", minimum=None),
    "trend_monetary_90d": FeatureSpec("amount in the last 90 days minus the 90 before", minimum=None),
    "repeat_orders": FeatureSpec("distinct order days after the first"),
    "repeat_rate_per_30d": FeatureSpec("repeat orders per 30 days of tenure"),
    "active_span_ratio": FeatureSpec("first-to-last order span over tenure", maximum=1.0),
    "sentiment_trend": FeatureSpec("slope of daily sentiment over 30 days", minimum=-1.0, maximum=1.0, optional=True),
    "support_calls_90d": FeatureSpec("support calls in the last 90 days", optional=True),
    "campaign_clicks_90d": FeatureSpec("campaign clicks in the last 90 days", optional=True),
    **_WINDOW_SPECS,
}
assert set(FEATURE_SPECS) == set(FEATURES), "every feature has a spec"


def features_help() -> str:
    """The feature list as a Markdown table (OpenAPI descriptions, the README)."""
    lines = ["| feature | meaning | range | may be null |", "| --- | --- | --- | --- |"]
    for name in FEATURES:
        spec = FEATURE_SPECS[name]
        low = "" if spec.minimum is None else f"≥ {spec.minimum:g}"
        high = "" if spec.maximum is None else f"≤ {spec.maximum:g}"
        bounds = ", ".join(b for b in (low, high) if b) or "any"
        lines.append(f"| `{name}` | {spec.description} | {bounds} | {'yes' if spec.optional else 'no'} |")
    return "\n".join(lines)


def _violation(name: str, value: float | None) -> str | None:
    spec = FEATURE_SPECS[name]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None if spec.optional else "is required (it cannot be unknown)"
    if not math.isfinite(value):
        return "must be a finite number"
    if spec.minimum is not None and value < spec.minimum:
        return f"must be >= {spec.minimum:g}, got {value:g}"
    if spec.maximum is not None and value > spec.maximum:
        return f"must be <= {spec.maximum:g}, got {value:g}"
    return None


def as_row(features: Mapping[str, float | None]) -> list[float]:
    """One account's features in model order; an optional feature that is null or absent is NaN (unknown).

    Unknown names, missing required features and values out of range are :class:`InvalidInput` naming every
    field (``violations``: field and description, which the gRPC face sends as ``google.rpc.BadRequest``)."""
    violations = [
        {"field": name, "description": "is not a churn feature"} for name in features if name not in FEATURE_SPECS
    ]
    for name in FEATURES:
        if name not in features and not FEATURE_SPECS[name].optional:
            violations.append({"field": name, "description": "is missing"})
        elif (problem := _violation(name, features.get(name))) is not None and name in features:
            violations.append({"field": name, "description": problem})
    if violations:
        listed = "; ".join(f"{v['field']} {v['description']}" for v in violations)
        raise InvalidInput(f"invalid churn features: {listed}", violations=violations)
    values = [features.get(name) for name in FEATURES]
    return [math.nan if value is None else float(value) for value in values]
