"""README command 1, as a user runs it: `vettify up` from a clean state (Postgres, Ray Serve, CRM, models)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import grpc
import httpx
import psutil
import pytest

from infra.net import free_port
from infra.security import mint_token
from infra.settings import Settings
from protos import inference_pb2 as pb
from protos.inference_pb2_grpc import AnalyticsStub
from tests.support.ray_nodes import listener_of

HEALTH_DEADLINE_S = 60.0
MODELS_DEADLINE_S = 420.0
STOP_DEADLINE_S = 60.0


@pytest.fixture
def ray_tmp() -> Iterator[Path]:
    """A short private RAY_TMPDIR (Unix socket paths are limited to 107 bytes) to find this run's Ray processes."""
    path = Path(tempfile.mkdtemp(prefix="vr", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _ray_processes(ray_tmp: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(str(ray_tmp) in part for part in proc.info.get("cmdline") or []):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def _haproxy_processes(ray_tmp: Path) -> list[psutil.Process]:
    """This engine's HAProxy processes: they inherit the ``RAY_TMPDIR`` of its Ray (the session's Serve stack on
    this machine runs HAProxy too)."""
    found = []
    for proc in psutil.process_iter(["name"]):
        if proc.info.get("name") != "haproxy":
            continue
        with contextlib.suppress(psutil.Error):
            if proc.environ().get("RAY_TMPDIR") == str(ray_tmp):
                found.append(proc)
    return found


def _left_after(
    find: Callable[[], list[psutil.Process]], deadline_s: float = 20, poll_s: float = 0.5
) -> list[psutil.Process]:
    """What ``find`` still names once those processes have had ``deadline_s`` to end (at once when none is left)."""
    deadline = time.monotonic() + deadline_s
    while (left := find()) and time.monotonic() < deadline:
        time.sleep(poll_s)
    return left


def _assert_no_haproxy_left(ray_tmp: Path) -> None:
    assert _left_after(lambda: _haproxy_processes(ray_tmp)) == [], "HAProxy left behind"


def _env(data_dir: Path, ray_tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VETTIFY_", "RAY_"))}
    env.update(
        {
            "VETTIFY_DATA_DIR": str(data_dir),
            "VETTIFY_HTTP_PORT": str(free_port()),
            "VETTIFY_GRPC_PORT": str(free_port()),
            # The ingress replicas' own ports (HAProxy forwards to them), clear of any other engine's on this machine.
            "VETTIFY_DIRECT_HTTP_PORT": str(free_port()),
            "VETTIFY_DIRECT_GRPC_PORT": str(free_port()),
            "RAY_TMPDIR": str(ray_tmp),
        }
    )
    return env


def _postgres_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if proc.info.get("name") == "postgres" and any(str(data_dir) in part for part in cmdline):
            found.append(proc)
    return found


def _sink_processes(data_dir: Path) -> list[psutil.Process]:
    """The local SMTP sink `vettify up` started for ``data_dir`` (it keeps mail in ``<data_dir>/mail``)."""
    return [
        p
        for p in psutil.process_iter(["cmdline"])
        if "crm_core.delivery.sink" in (p.info["cmdline"] or []) and str(data_dir / "mail") in (p.info["cmdline"] or [])
    ]


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


def _campaign_lands_in_the_local_sink(base: str, data_dir: Path, env: dict[str, str]) -> None:
    """A campaign sent through the CRM arrives in the embedded SMTP sink's Maildir; `vettify mail ls` shows it."""
    token = mint_token(
        Settings(_env_file=None),  # type: ignore[call-arg]  # the engine's embedded default secret
        sub="up-test",
        tid="t-up",
        mid="m-1",
        scopes=("crm:read", "crm:write", "marketing:send"),
    )
    auth = {"Authorization": f"Bearer {token}"}
    contact = httpx.post(
        f"{base}/v1/crm/contacts",
        json={"first_name": "Ana", "email": "ana@up.test", "consent_marketing": True},
        headers=auth,
        timeout=10,
    )
    assert contact.status_code == 201, contact.text
    campaign = httpx.post(
        f"{base}/v1/crm/campaigns",
        json={
            "name": "Up",
            "subject": "Salut {{ contact.first_name }}",
            "html": "<p>Bună, {{ contact.first_name }}</p>",
        },
        headers=auth,
        timeout=10,
    ).json()
    sent = httpx.post(f"{base}/v1/crm/campaigns/{campaign['id']}/send", json={}, headers=auth, timeout=10)
    assert sent.status_code == 200 and sent.json()["queued"] == 1, sent.text
    maildir = data_dir / "mail" / "new"
    deadline = time.monotonic() + 30
    while not (maildir.is_dir() and any(maildir.iterdir())):
        assert time.monotonic() < deadline, "the campaign never reached the local SMTP sink"
        time.sleep(0.2)
    [stored] = list(maildir.iterdir())
    message = message_from_bytes(stored.read_bytes(), policy=default)
    unsubscribe = str(message["List-Unsubscribe"]).strip("<>")
    assert unsubscribe.startswith(f"{base}/v1/crm/t/u/")  # links point at this engine's own address
    page = httpx.get(unsubscribe, timeout=10)
    assert page.status_code == 200 and '<form method="post">' in page.text
    assert httpx.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}, timeout=10).status_code == 200
    assert httpx.get(f"{base}/v1/crm/mail/suppressions", headers=auth, timeout=10).json()[0]["email"] == "ana@up.test"
    vettify = Path(sys.executable).with_name("vettify")
    listing = subprocess.run(
        [str(vettify), "mail", "ls"], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert "ana@up.test" in listing.stdout and "Salut Ana" in listing.stdout


@pytest.mark.slow
@pytest.mark.timeout(HEALTH_DEADLINE_S + MODELS_DEADLINE_S + STOP_DEADLINE_S + 120)  # its deadlines, not the default
def test_vettify_up_serves_crm_then_models_and_stops_cleanly_on_sigint(tmp_path: Path, ray_tmp: Path) -> None:
    """The default front, HAProxy: it owns the HTTP and gRPC ports; the CRM, its campaign delivery, the model
    routes, the error contract, gRPC and metrics answer through it; Ctrl-C stops it with everything else."""
    data_dir = tmp_path / "vettify-data"
    env = _env(data_dir, ray_tmp)
    base = f"http://127.0.0.1:{env['VETTIFY_HTTP_PORT']}"
    vettify = Path(sys.executable).with_name("vettify")
    process = subprocess.Popen(
        [str(vettify), "up"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        started = time.monotonic()
        health = _wait_healthy(f"{base}/v1/crm/health", process)
        assert health["status"] == "ok"
        assert health["database"] == "ok"
        assert time.monotonic() - started < HEALTH_DEADLINE_S
        docs = httpx.get(f"{base}/v1/crm/docs", timeout=5)
        assert docs.status_code == 200
        assert "swagger" in docs.text.lower()
        assert "/health" in httpx.get(f"{base}/v1/crm/openapi.json", timeout=5).json()["paths"]
        assert _postgres_processes(data_dir), "embedded postgres should be running"
        assert listener_of(int(env["VETTIFY_HTTP_PORT"])) == listener_of(int(env["VETTIFY_GRPC_PORT"])) == "haproxy"
        assert _haproxy_processes(ray_tmp), "no HAProxy process behind the ports"
        _campaign_lands_in_the_local_sink(base, data_dir, env)

        deadline = time.monotonic() + MODELS_DEADLINE_S
        ready = None
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                ready = httpx.get(f"{base}/readyz", timeout=5)
                if ready.status_code == 200:
                    break
            time.sleep(1)
        if ready is None or ready.status_code != 200:
            process.kill()
            output, _ = process.communicate()
            pytest.fail(f"models did not become ready ({ready and ready.text}):\n{output[-4000:]}")
        scored = httpx.post(f"{base}/v1/sentiment", json={"text": "Great onboarding, thank you!"}, timeout=30)
        assert scored.json()["results"][0]["label"] == "positive"
        blank = httpx.post(f"{base}/v1/sentiment", json={"text": " "}, timeout=30)
        assert blank.status_code == 422 and blank.headers["content-type"].startswith("application/problem+json")
        assert _grpc_sentiment(f"127.0.0.1:{env['VETTIFY_GRPC_PORT']}", "This renewal is a disaster") == "negative"
        assert "vettify_" in httpx.get(f"{base}/metrics", timeout=5).text
        time.sleep(3)  # `vettify up` polls Serve's status every second before it prints "models ready"

        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=STOP_DEADLINE_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert "models ready" in output
    assert f"HAProxy (Ray Serve's HAProxy mode): HTTP {base}" in output
    assert "Ray Serve stopped" in output
    assert "PostgreSQL stopped" in output
    assert "local SMTP sink" in output
    assert _postgres_processes(data_dir) == [], "orphan postgres left behind"
    assert _sink_processes(data_dir) == [], "the SMTP sink outlived vettify up"
    assert not (data_dir / "postgres" / "postmaster.pid").exists()
    _assert_no_ray_left(ray_tmp)
    _assert_no_haproxy_left(ray_tmp)


@pytest.mark.slow
def test_sigterm_while_models_load_stops_everything_cleanly(tmp_path: Path, ray_tmp: Path) -> None:
    data_dir = tmp_path / "vettify-data"
    env = _env(data_dir, ray_tmp)
    vettify = Path(sys.executable).with_name("vettify")
    process = subprocess.Popen(
        [str(vettify), "up"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{env['VETTIFY_HTTP_PORT']}/v1/crm/health", process)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=STOP_DEADLINE_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert "PostgreSQL stopped" in output
    assert _postgres_processes(data_dir) == []
    _assert_no_ray_left(ray_tmp)
    _assert_no_haproxy_left(ray_tmp)


def _assert_no_ray_left(ray_tmp: Path) -> None:
    left = [" ".join(p.cmdline()[:2]) for p in _left_after(lambda: _ray_processes(ray_tmp))]
    assert left == [], f"Ray processes left behind: {left}"


@pytest.mark.slow
def test_killed_vettify_up_leaves_no_orphan_and_restarts_on_the_same_data(tmp_path: Path, ray_tmp: Path) -> None:
    data_dir = tmp_path / "vettify-data"
    vettify = str(Path(sys.executable).with_name("vettify"))
    for attempt in range(2):
        env = _env(data_dir, ray_tmp)
        process = subprocess.Popen(
            [vettify, "up", "--no-models"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            url = f"http://127.0.0.1:{env['VETTIFY_HTTP_PORT']}/v1/crm/health"
            assert _wait_healthy(url, process)["status"] == "ok", attempt
        finally:
            process.kill()  # SIGKILL: no handler runs in vettify itself
            process.communicate()
        orphans = _left_after(lambda: _postgres_processes(data_dir), STOP_DEADLINE_S, poll_s=0.2)
        assert orphans == [], f"orphan postgres after SIGKILL (attempt {attempt})"
        assert _left_after(lambda: _sink_processes(data_dir)) == [], f"orphan SMTP sink (attempt {attempt})"
        _assert_no_ray_left(ray_tmp)
        _assert_no_haproxy_left(ray_tmp)  # the launcher's pdeathsig: a reparented HAProxy kept the ports


@dataclass
class RunningUp:
    """A ``vettify up`` whose output a thread collects line by line while the test talks to it."""

    process: subprocess.Popen[str]
    lines: list[str]

    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_line(self, pattern: str, deadline_s: float) -> re.Match[str]:
        deadline = time.monotonic() + deadline_s
        while self.process.poll() is None and time.monotonic() < deadline:
            found = next((m for line in list(self.lines) if (m := re.search(pattern, line))), None)
            if found is not None:
                return found
            time.sleep(0.5)
        pytest.fail(f"no line matching {pattern!r} within {deadline_s:.0f}s:\n{self.output()[-4000:]}")


@contextlib.contextmanager
def _vettify_up(env: dict[str, str], cwd: Path) -> Iterator[RunningUp]:
    """Run ``vettify up``; on leaving the block, Ctrl-C it (killed if it does not stop in time)."""
    vettify = Path(sys.executable).with_name("vettify")
    process = subprocess.Popen(
        [str(vettify), "up"], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    running = RunningUp(process, [])
    reader = threading.Thread(target=lambda: running.lines.extend(iter(process.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        yield running
        process.send_signal(signal.SIGINT)
        process.wait(timeout=STOP_DEADLINE_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=5)


def _assert_stopped_cleanly(running: RunningUp, ray_tmp: Path) -> None:
    output = running.output()
    assert running.process.returncode == 0, output
    assert "Ray Serve stopped" in output and "PostgreSQL stopped" in output
    _assert_no_ray_left(ray_tmp)


def _grpc_sentiment(target: str, text: str) -> str:
    with grpc.insecure_channel(target) as channel:
        reply = AnalyticsStub(channel).Sentiment(  # type: ignore[no-untyped-call]
            pb.SentimentRequest(texts=[text]), metadata=(("application", "vettify"),), timeout=30
        )
    return str(reply.results[0].label)


@pytest.mark.slow
def test_direct_ingress_answers_the_model_routes_on_their_own_ports(tmp_path: Path, ray_tmp: Path) -> None:
    """Opt-in Serve direct ingress (with Serve's Python proxy in front): the printed direct URLs answer HTTP and
    gRPC; the proxy keeps serving every route on the usual ports."""
    env = _env(tmp_path / "vettify-data", ray_tmp) | {"VETTIFY_SERVE_HAPROXY": "0", "VETTIFY_SERVE_DIRECT_INGRESS": "1"}
    with _vettify_up(env, tmp_path) as running:
        direct = running.wait_for_line(r"direct ingress .*HTTP (\S+), gRPC (\S+)", MODELS_DEADLINE_S)
        http_url, grpc_target = direct.group(1), direct.group(2)
        first = int(env["VETTIFY_DIRECT_HTTP_PORT"])
        assert first <= int(http_url.rsplit(":", 1)[1]) < first + 16, http_url
        scored = httpx.post(f"{http_url}/v1/sentiment", json={"text": "Great onboarding, thank you!"}, timeout=30)
        assert scored.status_code == 200 and scored.json()["results"][0]["label"] == "positive"
        assert httpx.post(f"{http_url}/v1/sentiment", json={"text": ""}, timeout=30).status_code == 422
        assert _grpc_sentiment(grpc_target, "This renewal is a disaster") == "negative"
        proxied = f"http://127.0.0.1:{env['VETTIFY_HTTP_PORT']}"
        assert listener_of(int(env["VETTIFY_HTTP_PORT"])) not in ("", "haproxy")
        assert httpx.get(f"{proxied}/v1/crm/health", timeout=5).json()["status"] == "ok"
        assert httpx.get(f"{proxied}/readyz", timeout=5).status_code == 200
    _assert_stopped_cleanly(running, ray_tmp)


@pytest.mark.slow
def test_serve_proxy_in_front_serves_every_route_on_the_usual_ports_and_stops_cleanly(
    tmp_path: Path, ray_tmp: Path
) -> None:
    """``VETTIFY_SERVE_HAPROXY=0``: Serve's Python proxy, not HAProxy, owns the HTTP and gRPC ports; the model
    routes, the error contract, gRPC, the CRM app, readiness and metrics answer through it; no HAProxy runs."""
    env = _env(tmp_path / "vettify-data", ray_tmp) | {"VETTIFY_SERVE_HAPROXY": "0"}
    base = f"http://127.0.0.1:{env['VETTIFY_HTTP_PORT']}"
    with _vettify_up(env, tmp_path) as running:
        running.wait_for_line("press Ctrl-C", HEALTH_DEADLINE_S + MODELS_DEADLINE_S)
        assert f"Ray Serve proxies: HTTP {base}" in running.output(), running.output()[-4000:]
        assert listener_of(int(env["VETTIFY_HTTP_PORT"])) not in ("", "haproxy")
        scored = httpx.post(f"{base}/v1/sentiment", json={"text": "Great onboarding, thank you!"}, timeout=30)
        assert scored.status_code == 200 and scored.json()["results"][0]["label"] == "positive"
        blank = httpx.post(f"{base}/v1/sentiment", json={"text": " "}, timeout=30)
        assert blank.status_code == 422 and blank.headers["content-type"].startswith("application/problem+json")
        assert _grpc_sentiment(f"127.0.0.1:{env['VETTIFY_GRPC_PORT']}", "This renewal is a disaster") == "negative"
        assert httpx.get(f"{base}/v1/crm/health", timeout=5).json()["status"] == "ok"
        assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200
        assert "vettify_" in httpx.get(f"{base}/metrics", timeout=5).text
        assert _haproxy_processes(ray_tmp) == [], "HAProxy runs although Serve's proxy is in front"
    _assert_stopped_cleanly(running, ray_tmp)
