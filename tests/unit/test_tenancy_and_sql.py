"""Tenant context validation and the SQL the generic repository builds."""

from __future__ import annotations

import pytest

from crm_core.db.migrate import sqlalchemy_url
from crm_core.db.tenancy import TenantContext, TenantContextError
from crm_core.repositories.accounts import ACCOUNTS
from crm_core.repositories.base import TableSpec
from crm_core.schemas.leads import LeadPublic


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


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("postgresql://u@h:5/db", "postgresql+asyncpg://u@h:5/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_sqlalchemy_url_uses_asyncpg(dsn: str, expected: str) -> None:
    assert sqlalchemy_url(dsn) == expected


def test_sqlalchemy_url_rejects_other_databases_without_echoing_credentials() -> None:
    with pytest.raises(ValueError, match="not a PostgreSQL DSN") as err:
        sqlalchemy_url("mysql://user:secret@h/db")
    assert "secret" not in str(err.value)
