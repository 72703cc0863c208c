"""Reach features: only what is known at publish time."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from models.reach.data import Post
from models.reach.features import FEATURES, HISTORY, feature_matrix, history_matrix, surface

START = datetime(2016, 3, 1, 9, 0, tzinfo=UTC)


def _post(i: int, hours: float, engagement: int, text: str = "Great rally tonight!") -> Post:
    return Post(str(i), text, START + timedelta(hours=hours), "Twitter for Android", False, engagement, 0)


def test_history_counts_only_posts_a_day_old_and_never_the_post_itself() -> None:
    posts = [_post(0, 0, 99), _post(1, 2, 9), _post(2, 30, 999), _post(3, 31, 0)]
    rows = history_matrix(posts, prior_mean=5.0)
    col = {name: i for i, name in enumerate(HISTORY)}
    # Posts 0 and 1 have no post a day older: the prior stands in.
    assert rows[0, col["known_posts_log"]] == 0.0 and rows[1, col["mean_20"]] == 5.0
    # Post 2 (30 h) knows posts 0 and 1 (30 h and 28 h old); post 3 (31 h) knows the same two, not post 2.
    expected = (math.log1p(99) + math.log1p(9)) / 2
    assert rows[2, col["mean_20"]] == pytest.approx(expected)
    assert rows[3, col["mean_20"]] == pytest.approx(expected)
    assert rows[3, col["known_posts_log"]] == pytest.approx(math.log1p(2))
    assert rows[3, col["last_known"]] == pytest.approx(math.log1p(9))
    assert rows[1, col["posts_24h"]] == 1.0 and rows[3, col["posts_24h"]] == 1.0
    assert rows[2, col["days_since_post"]] == pytest.approx(28 / 24)


def test_surface_features_read_links_tags_and_tone_and_mark_a_post_without_text() -> None:
    post = _post(0, 0, 1, "MAKE AMERICA GREAT AGAIN! #MAGA @someone https://t.co/abc")
    values = dict(zip(FEATURES[-len(surface(post)) :], surface(post), strict=True))
    assert (values["has_text"], values["urls"], values["hashtags"], values["mentions"]) == (1.0, 1.0, 1.0, 1.0)
    assert values["exclamations"] == 1.0 and values["upper_share"] > 0.7 and values["source_0"] == 1.0
    empty = dict(zip(FEATURES[-len(surface(post)) :], surface(_post(1, 0, 1, "  ")), strict=True))
    assert empty["has_text"] == 0.0 and empty["words"] == 0.0


def test_feature_matrix_has_one_named_column_per_feature() -> None:
    posts = [_post(i, i * 13, i * 10) for i in range(6)]
    assert feature_matrix(posts, prior_mean=1.0).shape == (6, len(FEATURES))
