"""Where model passes run when the caller is an event loop.

PyTorch's intra-op thread count is OpenMP's, and OpenMP keeps it per thread: a
``torch.set_num_threads(n)`` made while loading a model does not reach a fresh
worker thread, which starts from ``OMP_NUM_THREADS``. Ray sets that variable to
1 for actors with a fractional CPU share, so a Serve replica that loaded its
model with 2 threads and then ran it through ``asyncio.to_thread`` computed on
one core (``benchmarks/serve_models.py`` showed the replica at 86% of one CPU
while the machine idled). :func:`inference_executor` gives a model its own
worker thread that sets the thread count first, and runs one pass at a time:
passes are CPU-bound, so two at once would only share the same cores.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def _set_torch_threads(threads: int) -> None:
    torch = sys.modules.get("torch")  # loaded by the model already; a model without it (XGBoost) sets its own
    if torch is not None:
        torch.set_num_threads(threads)


def inference_executor(threads: int, name: str = "inference") -> ThreadPoolExecutor:
    """One worker thread whose PyTorch/OpenMP pool has ``threads`` threads.

    The thread starts at the first pass, after the model (and PyTorch) loaded.
    """
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    return ThreadPoolExecutor(
        max_workers=1, thread_name_prefix=name, initializer=_set_torch_threads, initargs=(threads,)
    )


async def run_in(executor: ThreadPoolExecutor, fn: Callable[..., T], /, *args: Any) -> T:
    """``fn(*args)`` on ``executor``, awaited from the running event loop."""
    return await asyncio.get_running_loop().run_in_executor(executor, functools.partial(fn, *args))
