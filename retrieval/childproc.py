"""Child processes that die with their parent, and never commit work their parent has abandoned.

A process started to build an index (or to compute embeddings) must not outlive the process that
asked for it: killed with SIGKILL, the parent cannot clean up, and its children would live on under
PID 1, holding memory and still writing the database. Use:

- `die_with_parent(parent_pid)`: call first thing in every child process, e.g. as a pool's
  initializer: ``ProcessPoolExecutor(n, initializer=die_with_parent, initargs=(os.getpid(),))``.
  On Linux the kernel then sends the child SIGKILL when its parent exits (``prctl(PR_SET_PDEATHSIG)``);
  elsewhere a daemon thread checks the parent every `POLL_SECONDS` and kills the child. If the parent
  is already gone when it is called, the child kills itself at once. Grandchildren are covered when
  each generation calls it: a child's death then kills its own children.
  Linux caveat: the signal is sent when the *thread* that started the child exits. Start children
  from a thread that lives as long as they should (the main thread, the event loop's thread, or an
  executor's worker thread, which lives until the executor shuts down).
- `parent_alive(parent_pid)`: whether this process's parent is still `parent_pid`. Check it right
  before committing a result (inside the write transaction, before COMMIT): a child whose parent died
  between the kill and the signal's delivery must not commit a stale build.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

__all__ = ["die_with_parent", "parent_alive", "idle_priority", "POLL_SECONDS"]

POLL_SECONDS = 0.5  # how often the portable fallback looks for its parent
_PR_SET_PDEATHSIG = 1


def idle_priority() -> None:
    """Run this process only on CPU time that others leave idle (a background build or embedding)."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # Linux; children inherit it
    except (AttributeError, OSError):
        os.nice(19)


def parent_alive(parent_pid: int) -> bool:
    """Whether the process that started this one is still alive (a dead parent's children are adopted)."""
    return os.getppid() == parent_pid


def die_with_parent(parent_pid: int) -> None:
    """Arrange for this (child) process to be killed when `parent_pid` exits; see the module docstring."""
    if not (sys.platform.startswith("linux") and _set_parent_death_signal()):
        _watch_parent(parent_pid)
    if not parent_alive(parent_pid):  # the parent died before the signal was armed
        _kill_self()


def _set_parent_death_signal() -> bool:
    """prctl(PR_SET_PDEATHSIG, SIGKILL) through libc; False when it is unavailable."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the running program's symbols, libc's prctl among them
        return libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int) -> None:
    """The portable fallback: a daemon thread that kills this process once its parent is gone."""
    def watch() -> None:
        while parent_alive(parent_pid):
            time.sleep(POLL_SECONDS)
        _kill_self()

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def _kill_self() -> None:
    """End now, without cleanup that could write anything (no atexit, no finally blocks)."""
    if hasattr(signal, "SIGKILL"):
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(1)
