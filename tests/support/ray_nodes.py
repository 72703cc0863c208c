"""A Ray cluster of separate nodes on this machine, started as an operator would (cluster/README.md).

Each node is its own ``ray start --block`` process group: a head and workers, each with a share of the CPUs.
:meth:`LocalRayCluster.kill_worker` loses a worker node the way a crashed machine does (SIGKILL to its raylet,
its agents and every worker process on it). Each worker node's Serve proxy binds ports of its own
(``RAY_SERVE_WORKER_PROXY_HTTP_PORT`` / ``_GRPC_PORT``), so a test can call every node's proxy.

:class:`RayProbe` answers questions about the cluster (nodes, where each Serve replica runs) from a long-lived
subprocess: the pytest process is already the driver of the session's single-node Ray.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from infra.net import free_port
from infra.settings import Settings
from serve import direct_ingress
from serve.ray_env import SERVE_ENVIRONMENT

MARK = "@@probe "
RAY = str(Path(sys.executable).with_name("ray"))


def quiet_port(host: str = "127.0.0.1") -> int:
    """A free TCP port below Linux's ephemeral range (32768-60999). A port from ``free_port`` is ephemeral:
    between picking it and the Serve proxy binding it, the cluster's own processes start and may be handed
    it (CI saw "Failed to bind to address '127.0.0.1:33451'")."""
    return quiet_range(1, host)


def quiet_range(size: int, host: str = "127.0.0.1") -> int:
    """The first of ``size`` consecutive free ports between 20000 and 32000 (see :func:`quiet_port`)."""
    for first in random.sample(range(20000, 32001 - size), 200):
        sockets: list[socket.socket] = []
        try:
            for port in range(first, first + size):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.bind((host, port))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return first
    raise RuntimeError(f"no {size} free consecutive ports between 20000 and 32000")


def listener_of(port: int) -> str:
    """The name of the process that listens on ``port`` on this machine ("" when none does)."""
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return str(psutil.Process(conn.pid).name())
    return ""


@dataclass
class Node:
    process: subprocess.Popen[str]
    log: Path
    http_port: int
    grpc_port: int
    head: bool

    def kill(self) -> None:
        """SIGKILL the node's processes at once: ``ray start``, its raylet, agents and the workers they spawned."""
        try:
            root = psutil.Process(self.process.pid)
            victims = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            victims = []
        for proc in victims:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs(victims, timeout=15)
        self.process.wait(timeout=15)

    def stop(self) -> None:
        """Ask the node to leave (SIGTERM to its group), then make sure nothing of it is left."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, 15)
                self.process.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self.kill()


@dataclass
class LocalRayCluster:
    """A head node and worker nodes started with the ``ray`` CLI on this machine.

    With ``haproxy`` every node gets Serve's HAProxy-mode variables, as cluster/README.md tells an operator;
    each worker gets HAProxy stats and exporter ports of its own. The direct-ingress ranges are the head's:
    Serve's controller picks every node's replica ports from its own environment, so nodes on one machine
    hand out the same ports (:mod:`serve.grpc_reuseport` makes a held gRPC port move a replica on). Every
    port the cluster is given is reserved here, so no two of them overlap.
    """

    workdir: Path
    head_cpus: float = 2
    worker_cpus: float = 2
    haproxy: bool = False
    gcs_port: int = field(default_factory=free_port)
    head: Node | None = None
    workers: list[Node] = field(default_factory=list)
    started_workers: int = 0
    _direct_base: int | None = None
    _reserved: list[range] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.gcs_port}"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "VETTIFY_"))}
        env.update(SERVE_ENVIRONMENT)  # as cluster/README.md starts each node
        env.update({"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"})
        if self.haproxy:
            env.update(direct_ingress.environment(self.haproxy_settings()))
        return env

    def haproxy_settings(self) -> Settings:
        """The engine's settings for HAProxy mode on this cluster: direct ranges below the ephemeral ports."""
        if self._direct_base is None:
            self._direct_base = self.reserve(2 * direct_ingress.PORTS_PER_FRONT)
        base = self._direct_base
        return Settings(
            serve_haproxy=True,
            direct_http_port=base,
            direct_grpc_port=base + direct_ingress.PORTS_PER_FRONT,
            _env_file=None,  # type: ignore[call-arg]
        )

    def reserve(self, size: int = 1) -> int:
        """The first of ``size`` free ports that overlap none this cluster was given before."""
        for _ in range(100):
            first = quiet_range(size)
            wanted = range(first, first + size)
            if all(wanted.stop <= taken.start or taken.stop <= wanted.start for taken in self._reserved):
                self._reserved.append(wanted)
                return first
        raise RuntimeError(f"no {size} free ports apart from the {len(self._reserved)} ranges already given")

    def _common(self, cpus: float) -> list[str]:
        return [
            "--block",
            "--num-cpus",
            f"{cpus:g}",
            "--object-store-memory",
            str(120 * 1024 * 1024),
            "--disable-usage-stats",
            # Nodes on one machine must not share their agents' ports.
            "--dashboard-agent-listen-port",
            str(free_port()),
            "--metrics-export-port",
            str(free_port()),
        ]

    def _start(self, argv: list[str], env: dict[str, str], name: str, *, head: bool, http: int, grpc: int) -> Node:
        log = self.workdir / f"{name}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                argv, env=env, stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True
            )
        return Node(process, log, http, grpc, head)

    def start_head(self, http_port: int, grpc_port: int) -> Node:
        argv = [
            RAY,
            "start",
            "--head",
            "--port",
            str(self.gcs_port),
            "--include-dashboard",
            "false",
            "--ray-client-server-port",
            str(free_port()),
            "--temp-dir",
            str(self.workdir / "ray"),
            *self._common(self.head_cpus),
        ]
        self.head = self._start(argv, self.environment(), "head", head=True, http=http_port, grpc=grpc_port)
        return self.head

    def add_worker(self) -> Node:
        self.started_workers += 1
        http_port, grpc_port = self.reserve(), self.reserve()
        env = {
            **self.environment(),
            "RAY_SERVE_WORKER_PROXY_HTTP_PORT": str(http_port),
            "RAY_SERVE_WORKER_PROXY_GRPC_PORT": str(grpc_port),
        }
        if self.haproxy:  # the head's HAProxy holds the shared stats and exporter ports
            env.update({name: str(self.reserve()) for name in direct_ingress.HAPROXY_PORT_VARIABLES})
        argv = [RAY, "start", "--address", self.address, *self._common(self.worker_cpus)]
        worker = self._start(argv, env, f"worker-{self.started_workers}", head=False, http=http_port, grpc=grpc_port)
        self.workers.append(worker)
        return worker

    def kill_worker(self, worker: Node) -> None:
        worker.kill()
        self.workers.remove(worker)

    def stop(self) -> None:
        for worker in list(self.workers):
            worker.stop()
        self.workers.clear()
        if self.head is not None:
            self.head.stop()
            self.head = None

    def logs(self) -> str:
        """Every node's ``ray start`` output (for a failure message)."""
        parts = []
        for path in sorted(self.workdir.glob("*.log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)


class RayProbe:
    """A driver of the cluster in a subprocess (:mod:`tests.support.ray_probe_main`), asked one thing at a time."""

    def __init__(self, address: str, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.ray_probe_main", address],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.ask("ping")

    def ask(self, *command: str) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"the Ray probe exited ({self.process.poll()})")
            if line.startswith(MARK):
                break
        answer = json.loads(line[len(MARK) :])
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["result"]

    def alive_nodes(self) -> list[dict[str, Any]]:
        return list(self.ask("nodes"))

    def replicas(self, app: str, deployment: str) -> dict[str, Any]:
        """``{"states": {"RUNNING": n, ...}, "nodes": [node id of each live replica actor]}``."""
        return dict(self.ask("replicas", app, deployment))

    def actors_on(self, node_id: str) -> list[str]:
        """Class names of the live actors on that node."""
        return list(self.ask("actors_on", node_id))

    def actors(self, class_substring: str) -> list[dict[str, Any]]:
        """Every actor whose class name contains the substring, in any state: class, state, node_id, restarts, death."""
        return list(self.ask("actors", class_substring))

    def hold_cpus(self, node_id: str) -> float:
        """Take the node's free CPUs with an idle actor until :meth:`release`; the CPUs taken."""
        return float(self.ask("hold_cpus", node_id))

    def release(self) -> None:
        self.ask("release")

    def wait_for(
        self,
        what: str,
        fetch: Callable[[], Any],
        timeout_s: float,
        every_s: float = 1.0,
        *,
        until: Callable[[Any], bool] = bool,
    ) -> Any:
        """Poll ``fetch()`` until ``until(value)`` holds and return that value; fail naming ``what``."""
        deadline = time.monotonic() + timeout_s
        last: Any = None
        while time.monotonic() < deadline:
            last = fetch()
            if until(last):
                return last
            time.sleep(every_s)
        raise AssertionError(f"{what}: not within {timeout_s:.0f}s (last {last!r})")

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(RuntimeError, BrokenPipeError, OSError):
                self.ask("quit")
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
