"""Unit tests of ``crm_core.anaf.cui``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_core.anaf.cui import InvalidCui, control_digit, is_valid_cui, normalize_cui


@pytest.mark.parametrize("cui", ["18547290", "RO18547290", "ro 18547290", "4267117", "14399840"])
def test_known_cuis_are_valid(cui: str) -> None:
    assert is_valid_cui(cui)


@pytest.mark.parametrize("cui", ["18547291", "1", "RO", "12345678901", "18-547-290", ""])
def test_malformed_cuis_are_rejected(cui: str) -> None:
    with pytest.raises(InvalidCui):
        normalize_cui(cui)


@given(st.integers(min_value=1, max_value=99_999_999))
def test_every_body_has_exactly_one_valid_control_digit(body: int) -> None:
    digits = str(body)
    valid = [d for d in range(10) if is_valid_cui(f"{digits}{d}")]
    assert valid == [control_digit(digits)]
