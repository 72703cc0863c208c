"""A child armed with ``die_with_parent`` ends when its parent is SIGKILLed; an unarmed one, the control, does not."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time

import psutil

PARENT = """
import subprocess, sys, time
from infra.processes import die_with_parent
sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
subprocess.Popen([*sleeper, "armed"], preexec_fn=die_with_parent(), start_new_session=True)
subprocess.Popen([*sleeper, "control"], start_new_session=True)  # nothing asks Linux to signal this one
time.sleep(120)
"""


def test_an_armed_child_ends_with_its_killed_parent_and_an_unarmed_one_does_not() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT])
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 15
        while len(children) < 2 and time.monotonic() < deadline:
            children = sorted(psutil.Process(parent.pid).children(), key=lambda c: c.cmdline()[-1])
            time.sleep(0.1)
        assert len(children) == 2, "the parent did not start both children"
        armed, control = children
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        gone, _ = psutil.wait_procs([armed], timeout=10)
        assert gone, "the armed child outlived its parent"
        time.sleep(1)
        assert control.is_running() and control.status() != psutil.STATUS_ZOMBIE, "the control should live on"
    finally:
        parent.kill()
        for child in children:
            with contextlib.suppress(psutil.Error):
                child.kill()
