"""The hybrid recommender on small catalogues whose right answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from models.errors import InvalidInput
from models.marketing.recommend import Recommender, Weights, recall_ndcg_at_k

# people 0-2 watched items 0 and 1 together; person 3 watched 2 and 3; item 4 is popular; item 5 is new
PEOPLE = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 7])
ITEMS = np.array([0, 1, 0, 1, 0, 1, 2, 3, 4, 4, 4, 4])


def unit(rows: list[list[float]]) -> np.ndarray:
    array = np.asarray(rows, dtype=np.float32)
    return np.asarray(array / np.linalg.norm(array, axis=1, keepdims=True), dtype=np.float32)


VECTORS = unit([[1, 0, 0], [1, 0.1, 0], [0, 1, 0], [0, 1, 0.1], [0, 0, 1], [0.9, 0.1, 0.1]])


def test_collaborative_signal_finds_what_the_same_people_liked() -> None:
    model = Recommender(items=6, weights=Weights(1.0, 0.0, 0.0)).fit(PEOPLE, ITEMS)
    assert model.recommend([0], 1) == [1]
    assert model.recommend([2], 1) == [3]


def test_content_recommends_a_new_item_nobody_has_touched() -> None:
    model = Recommender(items=6, vectors=VECTORS, weights=Weights(0.0, 1.0, 0.0)).fit(PEOPLE, ITEMS)
    assert model.recommend([0, 1], 1) == [5]  # item 5 reads like 0 and 1, and has no interactions at all


def test_no_history_or_no_consent_falls_back_to_popularity() -> None:
    model = Recommender(items=6, vectors=VECTORS).fit(PEOPLE, ITEMS)
    assert model.recommend([], 1) == [4]
    assert model.recommend([0], 1, personal=False) == [4]


def test_filters_seen_out_of_stock_and_excluded_items() -> None:
    model = Recommender(items=6, vectors=VECTORS).fit(PEOPLE, ITEMS)
    available = np.array([True, True, True, True, False, True])
    picks = model.recommend([0], 6, available=available, exclude={5})
    assert 0 not in picks and 4 not in picks and 5 not in picks and set(picks) <= {1, 2, 3}
    assert 0 in model.recommend([0], 6, exclude_seen=False)


def test_exploration_draws_from_each_items_click_posterior() -> None:
    model = Recommender(items=6, weights=Weights(0.0, 0.0, 1.0)).fit(PEOPLE, ITEMS)
    clicks, shown = np.zeros(6), np.zeros(6)
    clicks[3], shown[3] = 90, 100  # item 3 has been clicked 90 times in 100 recommendations
    shown[4] = 1000  # the popular item was shown a thousand times and never clicked
    rng = np.random.default_rng(0)
    assert model.recommend([], 1) == [4]  # without exploration: the most popular, always
    picks = [model.recommend([], 1, explore=2.0, clicks=clicks, shown=shown, rng=rng)[0] for _ in range(200)]
    assert picks.count(4) == 0  # its posterior says nobody clicks it
    assert picks.count(3) > 20  # the proven item is shown often; never-shown items get their turns too
    assert {0, 1, 2, 5} & set(picks)


def test_bad_input_is_refused() -> None:
    with pytest.raises(InvalidInput, match="outside the catalogue"):
        Recommender(items=3).fit(np.array([0]), np.array([5]))
    with pytest.raises(InvalidInput, match="not fitted"):
        Recommender(items=3).recommend([0], 1)
    with pytest.raises(InvalidInput, match="k must be"):
        Recommender(items=6).fit(PEOPLE, ITEMS).recommend([0], 0)


def test_recall_and_ndcg() -> None:
    recall, ndcg = recall_ndcg_at_k([1, 2, 3], {1, 2, 3}, 3)
    assert recall == 1.0 and ndcg == pytest.approx(1.0)
    recall, ndcg = recall_ndcg_at_k([9, 1], {1}, 2)
    assert recall == 1.0 and ndcg == pytest.approx(1 / np.log2(3))
    assert recall_ndcg_at_k([9, 8], {1}, 2) == (0.0, 0.0)
