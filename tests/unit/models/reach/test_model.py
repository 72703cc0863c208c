"""The reach model against its baseline on posts whose engagement depends on what they say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from models.reach.data import Post
from models.reach.features import feature_matrix
from models.reach.model import ReachModel, RunningMeanBaseline, spearman, top_decile_auc


def _posts_with_a_topic_that_travels(n: int, seed: int) -> tuple[list[Post], np.ndarray, np.ndarray]:
    """Engagement = a slowly growing account level + a bonus for posts near one direction in text space."""
    rng = np.random.default_rng(seed)
    topic = rng.normal(size=32)
    topic /= np.linalg.norm(topic)
    vectors = rng.normal(size=(n, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    level = np.linspace(3.0, 6.0, n)
    log_engagement = level + 6.0 * (vectors @ topic) + rng.normal(scale=0.3, size=n)
    start = datetime(2015, 1, 1, tzinfo=UTC)
    posts = [
        Post(str(i), f"post {i}", start + timedelta(hours=7 * i), "Twitter for iPhone", False,
             int(np.expm1(max(v, 0.0))), 0)
        for i, v in enumerate(log_engagement)
    ]  # fmt: skip
    y = np.array([p.log_engagement for p in posts])
    return posts, vectors, y


def test_text_vectors_carry_what_the_running_mean_cannot() -> None:
    posts, vectors, y = _posts_with_a_topic_that_travels(1600, seed=3)
    cut = 1200
    x = feature_matrix(posts, prior_mean=float(y[:cut].mean()))
    baseline = RunningMeanBaseline().fit(x[:cut], y[:cut])
    model = ReachModel(use_text=True).fit(x[:cut], y[:cut], vectors[:cut])
    base_rho = spearman(baseline.predict(x[cut:]), y[cut:])
    model_rho = spearman(model.predict(x[cut:], vectors[cut:]), y[cut:])
    assert model_rho > base_rho + 0.3, (model_rho, base_rho)
    assert top_decile_auc(model.predict(x[cut:], vectors[cut:]), y[cut:]) > 0.85
    textless = model.predict(x[cut:], None)  # scored on the other features only
    assert np.isfinite(textless).all()


def test_top_decile_auc_is_one_for_a_perfect_ranking_and_half_for_none() -> None:
    actual = np.arange(100, dtype=np.float64)
    assert top_decile_auc(actual, actual) == 1.0
    assert top_decile_auc(np.zeros(100), actual) == 0.5
