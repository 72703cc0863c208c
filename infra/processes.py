"""Child processes that end with the process that started them, even when it is killed outright.

A server the engine starts for itself (its embedded PostgreSQL, its local SMTP sink) must not outlive a
``vettify up`` stopped with SIGKILL or by the OOM killer: nothing of ours runs then, so Linux is asked, in the
child between ``fork`` and ``exec``, to signal it when its parent goes (``PR_SET_PDEATHSIG``).

Linux ties that signal to the *thread* that forked the child: start such a child from the main thread or from a
thread that lives as long as the child should (``asyncio.to_thread``'s executor threads do, until the loop
closes).
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: signal.Signals = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn`` for :class:`subprocess.Popen`: the child receives ``sig`` when its parent dies.

    libc is loaded here, in the parent, so the child runs only the ``prctl`` call before ``exec``. A no-op
    where there is no Linux ``prctl``.
    """
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return lambda: None

    def arm() -> None:  # pragma: no cover - runs in the child
        with contextlib.suppress(OSError, AttributeError):
            libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return arm
