"""Pages: consecutive, key-ordered, every key in exactly one."""

from __future__ import annotations

import pytest

from serve.batch.runs import PageResult, cut_pages


def test_pages_cover_every_key_once_in_order() -> None:
    keys = [f"k{i:03d}" for i in range(10)]
    pages = cut_pages(keys, 4)
    assert [(p.index, p.lo, p.hi, p.rows) for p in pages] == [
        (0, None, "k003", 4),
        (1, "k003", "k007", 4),
        (2, "k007", "k009", 2),
    ]
    covered = [k for p in pages for k in keys if (p.lo is None or k > p.lo) and k <= p.hi]
    assert covered == keys


def test_no_keys_no_pages_and_a_page_holds_at_least_one_row() -> None:
    assert cut_pages([], 10) == []
    with pytest.raises(ValueError, match="at least one"):
        cut_pages(["a"], 0)


def test_a_page_result_sums_its_skips_and_counts_its_bad_rows() -> None:
    result = PageResult(4, rows=6, written=3, unchanged=1, bad=[{"id": "x", "reason": "the text is empty"}])
    result.skipped = {"no order on record": 2}
    assert result.as_row() == {
        "page": 4,
        "complete": 0,
        "rows": 6,
        "written": 3,
        "unchanged": 1,
        "skipped": 2,
        "bad": 1,
        "skipped_reasons": {"no order on record": 2},
    }
