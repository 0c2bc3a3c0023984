"""Child processes that die with their parent (Linux `PR_SET_PDEATHSIG`): the services `fangfan
up` starts, and a service's worker pools — a parent killed with SIGKILL leaves nothing behind."""

from __future__ import annotations

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM, *, parent: int | None = None) -> None:
    """Call in the child (between fork and exec, or first thing in a worker). A spawned worker
    runs this only after its interpreter has started — the parent may be gone by then — so it
    passes the `parent` pid it was started by: a different parent means it is already orphaned."""
    parent = parent or os.getppid()
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)
    except (OSError, AttributeError):
        return  # not Linux: nothing to do
    if os.getppid() != parent:  # the parent died before we asked
        os.kill(os.getpid(), sig)
