"""``<data_dir>/engine.json``: where a running ``vettify up`` keeps its database and Redis.

The embedded PostgreSQL and the in-memory Redis listen on ports picked at start, so commands run beside the
engine (``vettify batch …``) read them here instead of asking the user. The file is written once the stores
are up, readable by its owner only (the DSNs may hold passwords), and removed when the engine stops; a file
left by a killed engine names a process that is gone, and is then ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

NAME = "engine.json"


@dataclass(frozen=True)
class EngineFile:
    database_url: str  # the application role (RLS applies)
    worker_database_url: str | None  # background jobs (tenant scans)
    redis_url: str
    pid: int


def path_in(data_dir: Path) -> Path:
    return data_dir / NAME


def write(data_dir: Path, engine: EngineFile) -> Path:
    target = path_in(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".json.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(engine), handle, indent=2)
    partial.replace(target)
    return target


def read(data_dir: Path) -> EngineFile | None:
    """The running engine's file; ``None`` when there is none or its process has gone."""
    try:
        data = json.loads(path_in(data_dir).read_text(encoding="utf-8"))
        engine = EngineFile(**data)
    except (OSError, ValueError, TypeError):
        return None
    return engine if _alive(engine.pid) else None


def remove(data_dir: Path) -> None:
    path_in(data_dir).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True
