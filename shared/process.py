"""Child processes that die with their parent (Linux `PR_SET_PDEATHSIG`): the services `fangfan
up` starts, and a service's worker pools — a parent killed with SIGKILL leaves nothing behind.
And the allocator's arenas of a service process, capped (`limit_malloc_arenas`)."""

from __future__ import annotations

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1
_M_ARENA_MAX = -8  # glibc mallopt parameter, = the MALLOC_ARENA_MAX environment variable
#: a service's malloc arenas unless the operator sets MALLOC_ARENA_MAX
DEFAULT_ARENAS = 2


def limit_malloc_arenas(arenas: int = DEFAULT_ARENAS) -> bool:
    """Cap glibc's malloc arenas (from now on). glibc gives threads that allocate at once arenas
    of their own — up to 8 per core — and memory freed in an arena mostly stays mapped at its
    high-water mark: the threads that prepare an import's first pieces and the database driver's
    left ≈ 30 MB more resident after a million-household import (bench/README.md). An operator's
    `MALLOC_ARENA_MAX` wins; elsewhere than glibc this does nothing. True when the cap was set."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


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
