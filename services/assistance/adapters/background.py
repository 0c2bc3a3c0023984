"""The overdue sweep as the service runs it: a pass in its own unit of work, and the background
task repeating it every `AssistanceExtras.sweep_interval_s` seconds."""

from __future__ import annotations

import asyncio
import logging

from services.assistance.application.context import AssistanceExtras
from services.assistance.application.sweep import SweepResult, sweep_overdue
from shared.app import ServiceContext

from .unit_of_work import assistance_work

__all__ = ["overdue_sweep", "run_sweep"]

log = logging.getLogger("fangfan.assistance.sweep")


async def run_sweep(ctx: ServiceContext[AssistanceExtras]) -> SweepResult:
    """One pass at the service clock's now; returns how many events of each kind it published."""
    async with ctx.uow() as uow:
        return await sweep_overdue(assistance_work(uow), ctx.now())


async def overdue_sweep(ctx: ServiceContext[AssistanceExtras]) -> None:
    """Background task: a pass every `ctx.extras.sweep_interval_s` seconds."""
    while True:
        await asyncio.sleep(float(ctx.extras.sweep_interval_s))
        try:
            counts = await run_sweep(ctx)
            if counts.published:
                log.info("overdue sweep published %s", counts)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("overdue sweep failed: %s: %s", type(exc).__name__, exc)
