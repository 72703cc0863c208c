from __future__ import annotations

import re

from models.topics.brands import WatchedBrand, sql_pattern


def _matches(brand: WatchedBrand, folded_text: str) -> bool:
    # PostgreSQL's [[:alnum:]] and Python's [^\W_] agree on the folded (diacritic-free) text.
    return re.search(sql_pattern(brand).replace("[^[:alnum:]]", r"[\W_]"), folded_text) is not None


def test_terms_are_folded_deduplicated_and_longest_first() -> None:
    brand = WatchedBrand("Leroy Merlin", ("LEROY", "leroy", "Leroy-Merlin.ro"))
    assert brand.terms() == ["leroy-merlin.ro", "leroy merlin", "leroy"]


def test_the_pattern_matches_whole_words_only_and_escapes_regex_characters() -> None:
    brand = WatchedBrand("eMAG", ("emag.ro", "C++ Shop"))
    pattern = sql_pattern(brand)
    assert r"emag\.ro" in pattern and r"c\+\+ shop" in pattern
    assert _matches(brand, "comanda de la emag azi")
    assert _matches(brand, "#emag")
    assert _matches(brand, "emag.ro livreaza")
    assert not _matches(brand, "emagazin nou")
    assert not _matches(brand, "emagro")
