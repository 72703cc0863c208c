"""Settings: ``VETTIFY_`` environment, embedded defaults when URLs are absent."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from infra.settings import Settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("VETTIFY_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env file


def test_absent_urls_mean_embedded_defaults() -> None:
    settings = Settings()
    assert settings.database_url is None
    assert settings.uses_embedded_postgres
    assert settings.redis_url is None
    assert settings.amqp_url is None
    assert settings.kafka_bootstrap is None
    assert settings.embedded_pg_dir == settings.data_dir / "postgres"


def test_environment_variables_use_the_vettify_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VETTIFY_DATABASE_URL", "postgresql://app@db:5432/crm")
    monkeypatch.setenv("VETTIFY_REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("VETTIFY_HTTP_PORT", "8081")
    monkeypatch.setenv("VETTIFY_SENTIMENT_MODEL_PATH", str(tmp_path / "ckpt"))
    settings = Settings()
    assert settings.database_url == "postgresql://app@db:5432/crm"
    assert not settings.uses_embedded_postgres
    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.http_port == 8081
    assert settings.sentiment_model_path == tmp_path / "ckpt"


def test_blank_urls_count_as_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VETTIFY_DATABASE_URL", "")
    monkeypatch.setenv("VETTIFY_AMQP_URL", "")
    settings = Settings()
    assert settings.database_url is None
    assert settings.amqp_url is None


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("VETTIFY_GRPC_PORT=9555\n")
    assert Settings().grpc_port == 9555


@pytest.mark.parametrize(("name", "value"), [("VETTIFY_HTTP_PORT", "70000"), ("VETTIFY_DB_POOL_MAX_SIZE", "0")])
def test_out_of_range_values_are_rejected(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_artifacts_default_under_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_artifacts_dir == tmp_path / "artifacts"
