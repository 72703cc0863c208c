"""Unit tests of ``streams.api``."""

from __future__ import annotations

import json

import pytest

from streams.api import split_body


def test_split_body_takes_one_envelope_or_an_array() -> None:
    one = b'{"type": "a.b.c"}'
    assert split_body(one) == [one]
    assert [json.loads(b) for b in split_body(b'[{"a": 1}, {"b": 2}]')] == [{"a": 1}, {"b": 2}]
    with pytest.raises(json.JSONDecodeError):
        split_body(b"{broken")
