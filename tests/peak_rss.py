"""Peak-RSS growth of a piece of work, for the memory tests (run inside a fresh subprocess:
``python -c SCRIPT`` with this folder on ``sys.path``)."""

from __future__ import annotations

import threading
from collections.abc import Callable


def status(field: str) -> int:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise LookupError(field)


def peak_growth(warm: Callable[[], object], work: Callable[[], object]) -> int:
    """Run ``warm()`` (load libraries, codecs and thread pools), then ``work()``; return how far
    the peak RSS rose above the RSS just before ``work``. The kernel's peak (VmHWM) is reset
    after the warm-up through ``/proc/self/clear_refs``; where that is not allowed, a thread
    samples the RSS every 2 ms instead."""
    warm()
    before = status("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        peak, done = [before], threading.Event()

        def sample() -> None:
            while not done.wait(0.002):
                peak[0] = max(peak[0], status("VmRSS"))

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            work()
        finally:
            done.set()
            sampler.join()
        return max(peak[0], status("VmRSS")) - before
    work()
    return status("VmHWM") - before
