"""README command 1, as a user runs it: `vettify up` from a clean state."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from crm_core.db.embedded import free_port

HEALTH_DEADLINE_S = 60.0
STOP_DEADLINE_S = 30.0


def _postgres_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if proc.info.get("name") == "postgres" and any(str(data_dir) in part for part in cmdline):
            found.append(proc)
    return found


def _wait_healthy(url: str, process: subprocess.Popen[str]) -> dict[str, object]:
    deadline = time.monotonic() + HEALTH_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"vettify up exited with {process.returncode}:\n{output}")
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                body: dict[str, object] = response.json()
                return body
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"vettify up did not answer {url} within {HEALTH_DEADLINE_S:.0f}s")


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_vettify_up_serves_health_and_docs_then_stops_cleanly(tmp_path: Path, stop_signal: signal.Signals) -> None:
    data_dir = tmp_path / "vettify-data"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VETTIFY_")}
    env.update({"VETTIFY_DATA_DIR": str(data_dir), "VETTIFY_HTTP_PORT": str(port)})
    vettify = Path(sys.executable).with_name("vettify")
    process = subprocess.Popen(
        [str(vettify), "up"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        started = time.monotonic()
        health = _wait_healthy(f"http://127.0.0.1:{port}/health", process)
        assert health["status"] == "ok"
        assert health["database"] == "ok"
        assert time.monotonic() - started < HEALTH_DEADLINE_S
        docs = httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5)
        assert docs.status_code == 200
        assert "swagger" in docs.text.lower()
        openapi = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).json()
        assert "/health" in openapi["paths"]
        assert _postgres_processes(data_dir), "embedded postgres should be running"

        process.send_signal(stop_signal)
        output, _ = process.communicate(timeout=STOP_DEADLINE_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert "PostgreSQL stopped" in output
    assert _postgres_processes(data_dir) == [], "orphan postgres left behind"
    assert not (data_dir / "postgres" / "postmaster.pid").exists()


@pytest.mark.slow
def test_killed_vettify_up_leaves_no_orphan_and_restarts_on_the_same_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "vettify-data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VETTIFY_")}
    env["VETTIFY_DATA_DIR"] = str(data_dir)
    vettify = str(Path(sys.executable).with_name("vettify"))
    for attempt in range(2):
        port = free_port()
        env["VETTIFY_HTTP_PORT"] = str(port)
        process = subprocess.Popen(
            [vettify, "up"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            assert _wait_healthy(f"http://127.0.0.1:{port}/health", process)["status"] == "ok", attempt
        finally:
            process.kill()  # SIGKILL: no handler runs in vettify itself
            process.communicate()
        deadline = time.monotonic() + STOP_DEADLINE_S
        while _postgres_processes(data_dir) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _postgres_processes(data_dir) == [], f"orphan postgres after SIGKILL (attempt {attempt})"
