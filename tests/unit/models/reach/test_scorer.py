"""Unit tests of ``models.reach.scorer``: serving features equal training features, scores and their notes,
batching, and the artifact's life cycle."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from models.reach.data import load_trump_tweets
from models.reach.features import KNOWN_AFTER, history_matrix, history_row
from models.reach.scorer import AuthorHistory, ReachScorer, ensure

WHEN = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def scorer(tmp_path_factory: pytest.TempPathFactory) -> ReachScorer:
    return ensure(tmp_path_factory.mktemp("reach"))


def test_the_history_a_store_reads_gives_the_features_the_model_was_trained_on() -> None:
    posts = load_trump_tweets()[:400]
    matrix = history_matrix(posts, prior_mean=5.0)
    for i in (0, 1, 57, 399):
        t = posts[i].created_at
        known = [p for p in posts[:i] if p.created_at <= t - KNOWN_AFTER]
        row = history_row(
            [p.log_engagement for p in known[-100:]],
            len(known),
            (t - posts[i - 1].created_at).total_seconds() / 86400 if i else None,
            sum(1 for p in posts[:i] if p.created_at >= t - timedelta(days=1)),
            5.0,
        )
        assert np.allclose(row, matrix[i]), i


def test_a_score_reads_the_authors_history_and_says_what_it_lacked(scorer: ReachScorer) -> None:
    history = AuthorHistory(known_engagement=[100, 120, 90, 300, 80], known_count=5, days_since_post=1.5)
    scored = scorer.score("Lansăm azi colecția de iarnă!", WHEN, history)
    typical = math.expm1(np.mean([math.log1p(v) for v in (100, 120, 90, 300, 80)]))
    assert scored.author_typical == pytest.approx(typical, abs=0.01)
    assert scored.expected_engagement is not None and scored.expected_engagement > 0
    assert scored.lift == pytest.approx((scored.expected_engagement + 1) / (typical + 1), rel=0.01)
    assert (scored.history_posts, scored.text_used, scored.note) == (5, False, None)

    bare = scorer.score("", WHEN, AuthorHistory(known_engagement=[]))
    assert bare.expected_engagement is None and bare.author_typical is None and bare.lift > 0
    assert bare.note is not None and "no known engagement" in bare.note and "no text" in bare.note


def test_a_batch_scores_each_post_as_alone(scorer: ReachScorer) -> None:
    posts = [
        scorer.prepare(f"Post {i} {'!' * i}", WHEN + timedelta(hours=i), AuthorHistory([50 + i] * (i + 1), i + 1))
        for i in range(6)
    ]
    assert scorer.predict(posts) == [scorer.predict([p])[0] for p in posts]
    assert scorer.predict([]) == []


def test_the_artifact_is_reused_and_one_from_another_version_is_retrained(tmp_path: Path) -> None:
    first = ensure(tmp_path)
    assert ensure(tmp_path).name == first.name  # loaded, not trained again
    manifest = tmp_path / first.name / "manifest.json"
    manifest.write_text(json.dumps(json.loads(manifest.read_text()) | {"sklearn": "0.0"}))
    retrained = ensure(tmp_path)
    assert retrained.name != first.name
    history = AuthorHistory([10, 20], 2)
    assert retrained.score("x", WHEN, history) == first.score("x", WHEN, history)  # same data, same seed
