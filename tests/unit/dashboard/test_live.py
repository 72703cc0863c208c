"""The live stream's pure parts: SSE frames and the commit window that keeps late commits."""

from __future__ import annotations

import pytest

from dashboard import live
from dashboard.live import LIVE_TYPES, StartPoint, _CommitWindow, frame
from streams.schemas import PUBLISHED


def test_a_frame_is_id_event_and_one_line_of_json() -> None:
    assert frame("ready", {"a": 1}) == b'event: ready\ndata: {"a":1}\n\n'
    assert frame("insight", {"t": "x\ny"}, 5).startswith(b"id: 5\nevent: insight\ndata: ")
    assert b"\n" not in frame("insight", {"t": "x\ny\r\n"}, 5).split(b"data: ")[1][:-2]


def test_only_the_published_insights_are_live() -> None:
    assert set(LIVE_TYPES) == set(PUBLISHED)
    assert "crm.contact.created" not in LIVE_TYPES


def test_the_watermark_waits_for_the_grace_period(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(live.time, "monotonic", lambda: now[0])
    window = _CommitWindow(cursor=10, grace_s=5.0)
    window.observed(head=20)  # rows up to 20 exist; some transaction may still hold a smaller seq
    window.sent(18)
    window.sent(20)
    assert (window.watermark, window.newest, window.pending()) == (10, 20, [18, 20])
    now[0] = 104.0
    window.observed(head=25)
    assert window.watermark == 10  # not yet: a transaction open at 100.0 may still commit
    now[0] = 105.5
    window.observed(head=25)
    assert window.watermark == 20  # every transaction open at the first read has ended
    assert window.pending() == []  # sent rows at or below the watermark are forgotten


def test_the_watermark_never_passes_what_was_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    monkeypatch.setattr(live.time, "monotonic", lambda: now[0])
    window = _CommitWindow(cursor=0, grace_s=1.0)
    window.observed(head=50)  # 50 rows exist, but the client has been sent only up to 7 (a page)
    window.sent(7)
    now[0] = 2.0
    window.observed(head=50)
    assert window.watermark == 7


def test_a_fresh_start_reads_late_commits_below_its_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream opened at the head may still get rows below it that commit later; the ones seen are skipped."""
    now = [0.0]
    monkeypatch.setattr(live.time, "monotonic", lambda: now[0])
    window = _CommitWindow.at(StartPoint(cursor=30, floor=20, known=(22, 25, 30)), grace_s=1.0)
    assert (window.watermark, window.newest, window.pending()) == (20, 30, [22, 25, 30])
    window.observed(head=30)
    window.sent(21)  # a late commit below the cursor
    now[0] = 1.5
    window.observed(head=31)
    assert window.watermark == 30 and window.pending() == []


def test_a_resumed_start_is_final() -> None:
    window = _CommitWindow.at(StartPoint(cursor=40), grace_s=1.0)
    assert (window.watermark, window.newest, window.pending()) == (40, 40, [])
