"""Serve direct ingress is opt-in and, when on, gets its flag and port ranges before Ray starts."""

from __future__ import annotations

import os

import pytest

from infra.settings import Settings
from serve import direct_ingress

KEYS = (
    direct_ingress.FLAG,
    "RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT",
    "RAY_SERVE_DIRECT_INGRESS_MAX_HTTP_PORT",
    "RAY_SERVE_DIRECT_INGRESS_MIN_GRPC_PORT",
    "RAY_SERVE_DIRECT_INGRESS_MAX_GRPC_PORT",
    "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)


def test_off_by_default_and_then_nothing_is_set() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.serve_direct_ingress is False
    assert direct_ingress.configure(settings) is False
    assert not any(key in os.environ for key in KEYS)


def test_on_sets_the_flag_port_ranges_and_a_short_drain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VETTIFY_SERVE_DIRECT_INGRESS", "1")
    monkeypatch.setenv("VETTIFY_DIRECT_HTTP_PORT", "18100")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert direct_ingress.configure(settings) is True
    assert os.environ[direct_ingress.FLAG] == "1"
    assert os.environ["RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT"] == "18100"
    assert os.environ["RAY_SERVE_DIRECT_INGRESS_MAX_HTTP_PORT"] == "18115"
    assert os.environ["RAY_SERVE_DIRECT_INGRESS_MIN_GRPC_PORT"] == str(settings.direct_grpc_port)
    assert os.environ["RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S"] == "2"
