"""The inference thread carries the PyTorch thread count that Ray's OMP_NUM_THREADS=1 would cut."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from models.runtime import inference_executor

PROBE = """
import asyncio, ctypes, glob, os, torch
from models.runtime import inference_executor, run_in

# OpenMP's own view of the calling thread's pool (torch.get_num_threads() reports the global setting).
gomp = ctypes.CDLL(glob.glob(os.path.join(os.path.dirname(torch.__file__), "lib", "libgomp*"))[0])
torch.set_num_threads(2)

async def main():
    plain = await asyncio.to_thread(gomp.omp_get_max_threads)
    pinned = await run_in(inference_executor(2), gomp.omp_get_max_threads)
    print(plain, pinned)

asyncio.run(main())
"""


def test_inference_thread_gets_the_configured_torch_threads_under_ray_env() -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # what Ray sets for a replica with num_cpus < 1
    done = subprocess.run(
        [sys.executable, "-c", PROBE], check=False, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    plain, pinned = done.stdout.split()
    assert plain == "1"  # the bug: a fresh worker thread computes on one core
    assert pinned == "2"


def test_thread_count_is_validated() -> None:
    with pytest.raises(ValueError, match="threads"):
        inference_executor(0)
