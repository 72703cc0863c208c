"""Churn features from a customer's orders (and optional engagement signals).

:func:`customer_features` is the only feature code: training calls it for every
customer at the cutoff date, online scoring calls it for one account "as of
now", so the model never sees features computed differently than it was
trained on. All amounts are in the account's currency; times are in days.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
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


def as_row(features: dict[str, float]) -> list[float]:
    missing = [name for name in FEATURES if name not in features]
    if missing:
        raise InvalidInput(f"missing features: {missing}")
    return [features[name] for name in FEATURES]
