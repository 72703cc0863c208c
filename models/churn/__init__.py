"""Churn risk: order-history features, an XGBoost classifier, evaluation on real data."""
