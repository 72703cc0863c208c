"""Unit tests of ``crm_core.repositories.base``."""

from __future__ import annotations

import uuid
from datetime import UTC

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_core.repositories.accounts import ACCOUNTS
from crm_core.repositories.base import Cursor, Sort, TableSpec, like_pattern
from crm_core.schemas.leads import LeadPublic


@given(
    st.one_of(st.datetimes(timezones=st.just(UTC)), st.text(max_size=50), st.integers(-(10**9), 10**9)),
    st.uuids(),
)
def test_cursors_round_trip(value: object, ident: uuid.UUID) -> None:
    cursor = Cursor(value=value, id=ident)
    assert Cursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize("token", ["", "!!!", "e30", "WzEsMiwzXQ"])
def test_garbage_cursors_are_a_clear_error(token: str) -> None:
    with pytest.raises(ValueError, match="invalid cursor"):
        Cursor.decode(token)


def test_sort_parsing() -> None:
    assert Sort.parse("-updated_at") == Sort("updated_at", descending=True)
    assert Sort.parse("name") == Sort("name", descending=False)
    assert Sort.parse(None) == Sort("created_at", descending=True)


def test_like_pattern_escapes_wildcards() -> None:
    assert like_pattern("50%_off\\") == "%50\\%\\_off\\\\%"


def test_columns_outside_the_spec_are_refused() -> None:
    with pytest.raises(ValueError, match="not writable"):
        ACCOUNTS.columns({"tid": "other-tenant"}, ACCOUNTS.writable)
    with pytest.raises(ValueError, match="not writable"):
        ACCOUNTS.columns({"name; DROP TABLE x": 1}, ACCOUNTS.writable)
    assert ACCOUNTS.columns({"name": "Acme", "city": "Cluj"}, ACCOUNTS.writable) == ["name", "city"]


def test_tenancy_keys_are_never_writable_through_a_spec() -> None:
    spec = TableSpec("crm.leads", entity="lead", model=LeadPublic, writable=("email",))
    for key in ("tid", "whid", "mid", "id", "version", "deleted_at"):
        assert key not in spec.writable
