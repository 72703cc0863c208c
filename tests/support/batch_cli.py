"""``vettify batch`` as an operator runs it: a subprocess with its own local Ray and no engine settings leaking in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

LEAKY = ("VETTIFY_DATABASE_URL", "VETTIFY_WORKER_DATABASE_URL", "VETTIFY_REDIS_URL")


def batch_env(tmp: Path, **extra: str) -> dict[str, str]:
    """This environment without the connection variables, a private data dir, and no Ray cluster address."""
    env = {k: v for k, v in os.environ.items() if k not in LEAKY}
    return {**env, "VETTIFY_DATA_DIR": str(tmp / "data"), "RAY_ADDRESS": "", **extra}


def batch_argv(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("vettify")), "batch", *args, "--num-cpus", "2"]


def run_batch(env: dict[str, str], argv: list[str], timeout_s: float = 600) -> tuple[Any, str]:
    """Run to the end; it must exit 0. The JSON summary (its last stdout line) and stderr."""
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout_s, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr
