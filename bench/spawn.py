"""Launcher: ``python -S -I bench/spawn.py RESULT.json TIMEOUT -- PROGRAM ARGS...``.

Runs PROGRAM as its child, reaps it with ``os.wait4`` and writes ``{"code", "wall", "cpu",
"maxrss_kb"}`` (exit code as ``subprocess`` reports it, wall seconds from spawn to reap, user +
system CPU seconds, peak RSS in KiB) to RESULT.json.

Why a launcher: Linux carries a process's RSS high-water mark across ``fork`` and ``exec``
(``exec`` records the old address space's peak), so a child spawned straight from the bench,
which holds decoded images of hundreds of MB, would report the bench's own size as its peak
RSS. Spawned from this small interpreter (``-S -I``: no site packages, about 8 MB), the
child's ``ru_maxrss`` is its own peak, or this launcher's 8 MB when the child stays smaller.

Stdlib only, no imports from the repo (``-I`` ignores PYTHONPATH); the child inherits the
environment, working directory and standard streams. TIMEOUT (seconds, 0 = none) kills the
child with SIGKILL; so do SIGTERM and SIGHUP sent to the launcher.
"""

import json
import os
import signal
import sys
import time


def main(argv):
    if len(argv) < 4 or argv[2] != "--":
        sys.stderr.write("usage: spawn.py RESULT.json TIMEOUT -- PROGRAM ARGS...\n")
        return 2
    result_path, timeout, args = argv[0], float(argv[1]), argv[3:]
    t0 = time.perf_counter()
    try:
        pid = os.posix_spawnp(args[0], args, os.environ)
    except OSError as exc:
        with open(result_path, "w") as fh:
            json.dump(
                {"code": 127, "wall": 0.0, "cpu": 0.0, "maxrss_kb": 0, "error": f"cannot run {args[0]}: {exc}"}, fh
            )
        return 0

    def kill_child(*_):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    # Terminated (the bench was stopped): take the child along instead of orphaning it.
    signal.signal(signal.SIGTERM, kill_child)
    signal.signal(signal.SIGHUP, kill_child)
    if timeout > 0:
        signal.signal(signal.SIGALRM, kill_child)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    _, status, usage = os.wait4(pid, 0)  # retried on EINTR (the alarm handler runs first)
    wall = time.perf_counter() - t0
    signal.setitimer(signal.ITIMER_REAL, 0)
    with open(result_path, "w") as fh:
        json.dump(
            {
                "code": os.waitstatus_to_exitcode(status),
                "wall": wall,
                "cpu": usage.ru_utime + usage.ru_stime,
                "maxrss_kb": usage.ru_maxrss,
            },
            fh,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
