"""Unit tests of ``infra.db.tenancy``."""

from __future__ import annotations

import pytest

from infra.db.tenancy import TenantContext, TenantContextError


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tid": "", "mid": "m"},
        {"tid": "t", "mid": "  "},
        {"tid": "t", "mid": "m", "whid": ""},
        {"tid": "t" * 200, "mid": "m"},
    ],
)
def test_tenant_context_rejects_blank_or_oversized_ids(kwargs: dict[str, str]) -> None:
    with pytest.raises(TenantContextError):
        TenantContext(**kwargs)


def test_tenant_context_allows_tenant_wide_access() -> None:
    assert TenantContext(tid="t", mid="m").whid is None
