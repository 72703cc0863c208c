"""Serve direct ingress and HAProxy mode are opt-in and, when on, get their flags and ports before Ray starts."""

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
    direct_ingress.HAPROXY_FLAG,
    "RAY_SERVE_HAPROXY_METRICS_PORT",
    "RAY_SERVE_HAPROXY_STATS_PORT",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)


def test_off_by_default_and_then_nothing_is_set() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.serve_direct_ingress is False
    assert settings.serve_haproxy is False
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
    assert direct_ingress.HAPROXY_FLAG not in os.environ  # direct ingress alone keeps Serve's Python proxy


def test_haproxy_mode_sets_direct_ingress_and_its_ports_above_the_replica_ranges(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VETTIFY_SERVE_HAPROXY", "1")
    monkeypatch.setenv("VETTIFY_DIRECT_HTTP_PORT", "18100")
    monkeypatch.setenv("VETTIFY_DIRECT_GRPC_PORT", "19100")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert direct_ingress.configure(settings) is True
    assert os.environ[direct_ingress.HAPROXY_FLAG] == "1"
    assert os.environ[direct_ingress.FLAG] == "1"  # HAProxy forwards to the replicas' own ports
    assert os.environ["RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S"] == "2"  # else each stop waits Ray's 30 s
    # Ray's own defaults (9101, 8404) could fall inside the replica ranges; these sit just above them.
    assert os.environ["RAY_SERVE_HAPROXY_METRICS_PORT"] == "19116"
    assert os.environ["RAY_SERVE_HAPROXY_STATS_PORT"] == "18116"
    replica_ports = set(range(18100, 18116)) | set(range(19100, 19116))
    assert not {int(p) for p in direct_ingress.haproxy_ports(settings).values()} & replica_ports


def test_an_operators_own_haproxy_ports_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VETTIFY_SERVE_HAPROXY", "1")
    monkeypatch.setenv("RAY_SERVE_HAPROXY_STATS_PORT", "28404")
    assert direct_ingress.configure(Settings(_env_file=None)) is True  # type: ignore[call-arg]
    assert os.environ["RAY_SERVE_HAPROXY_STATS_PORT"] == "28404"
