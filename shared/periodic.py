"""Background loops that stop promptly: a step run every so often, woken early by an event, and
returning (not cancelled mid-query) when the service shuts down.

The service's lifespan (`shared.app`) sets `ctx.stopping` and calls every function in
`ctx.stop_hooks`; a loop here registers its wake-up as such a hook, so a loop that sleeps
for five minutes still returns within a moment of the shutdown instead of holding it for the whole
grace period and then being cancelled inside a database call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.app import ServiceContext

__all__ = ["every"]


async def every(
    ctx: ServiceContext,
    step: Callable[[], Awaitable[Any]],
    *,
    interval_s: Callable[[], float] | float,
    name: str,
    log: logging.Logger,
    wake_key: str | None = None,
    run_first: bool = False,
    again_if_true: bool = False,
) -> None:
    """Run `step` every `interval_s` seconds (read again each cycle when a callable) until the
    service stops. `wake_key` names an `asyncio.Event` in `ctx.wakes` that others set to run a
    cycle at once; `run_first` runs a step before the first wait; `again_if_true` runs the next
    step at once when one returns True (it did work and there may be more). A step that raises
    is logged and tried again next cycle."""
    wake = ctx.wake(wake_key) if wake_key else asyncio.Event()
    ctx.stop_hooks.append(wake.set)
    wait_first = not run_first
    while not ctx.stopping:
        if wait_first:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), interval_s() if callable(interval_s) else interval_s)
            wake.clear()
            if ctx.stopping:
                return
        try:
            did = await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; tried again at the next cycle", name)
            did = False
        wait_first = not (again_if_true and did is True)
