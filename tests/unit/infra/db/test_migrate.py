"""Unit tests of ``infra.db.migrate``."""

from __future__ import annotations

import pytest

from infra.db.migrate import sqlalchemy_url


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
