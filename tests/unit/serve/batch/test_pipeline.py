"""The columns every stage passes on: a page's rows, its placeholder when empty, the writer's per-page view."""

from __future__ import annotations

import json

import numpy as np

from serve.batch.pipeline import _page_items, by_page, page_rows, rows_batch, summary_batch
from serve.batch.runs import Page


def test_a_reader_batch_carries_its_page_and_length() -> None:
    batch = rows_batch(3, [{"key": "a", "text": "x"}, {"key": "b", "text": "y"}], {"key": "", "text": ""})
    assert list(batch["key"]) == ["a", "b"]
    assert list(batch["page"]) == [3, 3] and list(batch["page_len"]) == [2, 2] and all(batch["live"])


def test_an_empty_page_sends_one_placeholder_so_the_writer_can_close_it() -> None:
    batch = rows_batch(5, [], {"key": "", "text": ""})
    assert list(batch["live"]) == [False] and list(batch["page_len"]) == [1]
    ((page, rows, whole),) = list(by_page(batch))
    assert (page, rows, whole) == (5, [0], True)


def test_vectors_become_one_matrix_column() -> None:
    batch = rows_batch(0, [{"v": np.ones(3, dtype=np.float32)}, {"v": np.zeros(3, dtype=np.float32)}], {"v": None})
    assert batch["v"].shape == (2, 3)


def test_the_writer_marks_a_page_only_when_it_holds_all_of_it() -> None:
    whole = rows_batch(0, [{"k": "a"}, {"k": "b"}], {"k": ""})
    other = rows_batch(1, [{"k": "c"}, {"k": "d"}, {"k": "e"}], {"k": ""})
    mixed = {name: np.concatenate([whole[name], other[name][:2]]) for name in whole}  # page 1 arrived split
    assert [(p, w) for p, _, w in by_page(mixed)] == [(0, True), (1, False)]


def test_page_descriptors_round_trip_through_the_first_stage() -> None:
    items = _page_items([Page(0, None, "k1", 2), Page(1, "k1", "k9", 8)])
    batch = {k: np.asarray([i[k] for i in items]) for k in items[0]}
    assert list(page_rows(batch)) == [{"page": 0, "lo": None, "hi": "k1"}, {"page": 1, "lo": "k1", "hi": "k9"}]


def test_the_summary_keeps_counts_and_skip_reasons() -> None:
    row = {"page": 2, "complete": 1, "rows": 5, "written": 3, "unchanged": 1, "skipped": 1, "bad": 0}
    out = summary_batch([{**row, "skipped_reasons": {"no order on record": 1}}])
    assert int(out["written"][0]) == 3 and json.loads(out["skipped_reasons"][0]) == {"no order on record": 1}
