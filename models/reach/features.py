"""What is known about a post when it is published: the author's history, its timing, its text.

History uses only posts at least :data:`KNOWN_AFTER` old at publish time, taking their engagement as known
by then; a post's own and later engagement never leaks into its features. Texts become vectors elsewhere
(the sentence encoder); here they give cheap surface features.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import timedelta

import numpy as np
from numpy.typing import NDArray

from models.reach.data import Post

KNOWN_AFTER = timedelta(days=1)
SOURCES = ("Twitter for Android", "Twitter for iPhone", "Twitter Web Client")
HISTORY = ("known_posts_log", "mean_20", "mean_100", "std_100", "median_100", "last_known", "days_since_post",
           "posts_24h")  # fmt: skip
TIMING = ("hour_sin", "hour_cos", "weekday_sin", "weekday_cos")
SURFACE = ("has_text", "chars_log", "words", "urls", "hashtags", "mentions", "exclamations", "upper_share",
           "is_reply", "quote", *(f"source_{i}" for i in range(len(SOURCES))))  # fmt: skip
FEATURES = (*HISTORY, *TIMING, *SURFACE)

_URL = re.compile(r"https?://\S+")


def timing(post: Post) -> list[float]:
    hour = post.created_at.hour + post.created_at.minute / 60
    day = post.created_at.weekday()
    return [
        math.sin(2 * math.pi * hour / 24),
        math.cos(2 * math.pi * hour / 24),
        math.sin(2 * math.pi * day / 7),
        math.cos(2 * math.pi * day / 7),
    ]


def surface(post: Post) -> list[float]:
    """Length, links, tags, tone markers and the client: what a text says without reading it."""
    text = post.text.strip()
    bare = _URL.sub("", text)
    letters = [c for c in bare if c.isalpha()]
    return [
        1.0 if text else 0.0,
        math.log1p(len(bare)),
        float(len(bare.split())),
        float(len(_URL.findall(text))),
        float(text.count("#")),
        float(text.count("@")),
        float(text.count("!")),
        sum(c.isupper() for c in letters) / len(letters) if letters else 0.0,
        1.0 if post.is_reply else 0.0,
        1.0 if text.startswith(('"', "\u201c")) else 0.0,
        *(1.0 if post.source == s else 0.0 for s in SOURCES),
    ]


def history_row(
    known_values: Sequence[float], known_count: int, days_since_post: float | None, posts_24h: int, prior_mean: float
) -> list[float]:
    """:data:`HISTORY` for one post. ``known_values``: the ``log1p`` engagement of the author's last known posts
    (up to 100, oldest first), ``known_count`` how many are known in all; ``days_since_post``: since the
    author's previous post (``None``: none); ``posts_24h``: their posts in the 24 hours before this one."""
    values = np.asarray(known_values[-100:], dtype=np.float64)
    last20 = values[-20:]
    known = len(values) > 0
    return [
        math.log1p(known_count),
        float(last20.mean()) if known else prior_mean,
        float(values.mean()) if known else prior_mean,
        float(values.std()) if len(values) > 1 else 0.0,
        float(np.median(values)) if known else prior_mean,
        float(values[-1]) if known else prior_mean,
        min(days_since_post, 30.0) if days_since_post is not None else 30.0,
        float(posts_24h),
    ]


def history_matrix(posts: Sequence[Post], prior_mean: float) -> NDArray[np.float64]:
    """One row of :data:`HISTORY` per post (``posts`` oldest first, one author).

    ``prior_mean`` stands in for the running means while an author has no known post yet."""
    times = np.array([p.created_at.timestamp() for p in posts])
    values = np.array([p.log_engagement for p in posts])
    known_until = np.searchsorted(times, times - KNOWN_AFTER.total_seconds(), side="right")
    day_ago = np.searchsorted(times, times - 86400.0, side="left")
    rows = np.zeros((len(posts), len(HISTORY)))
    for i, known in enumerate(known_until):
        since = (times[i] - times[i - 1]) / 86400.0 if i else None
        recent = values[max(0, known - 100) : known].tolist()
        rows[i] = history_row(recent, int(known), since, int(i - day_ago[i]), prior_mean)
    return rows


def feature_matrix(posts: Sequence[Post], prior_mean: float) -> NDArray[np.float64]:
    """Every post's :data:`FEATURES` row (one author's posts, oldest first)."""
    history = history_matrix(posts, prior_mean)
    rest = np.array([timing(p) + surface(p) for p in posts], dtype=np.float64).reshape(len(posts), -1)
    return np.hstack([history, rest])
