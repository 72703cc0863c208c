"""The live stream route's Last-Event-ID parsing."""

from __future__ import annotations

import pytest

from dashboard.app import _last_event_id
from infra.errors import InvalidInput


def test_last_event_id_is_a_non_negative_integer() -> None:
    assert _last_event_id(None, None) is None
    assert _last_event_id("42", None) == 42
    assert _last_event_id(None, 7) == 7
    assert _last_event_id("", None) is None
    with pytest.raises(InvalidInput):
        _last_event_id("abc", None)
    with pytest.raises(InvalidInput):
        _last_event_id("-1", None)
