"""The deadline sweep of appeals and complaints in the running service: one pass in its own unit
of work (`run_grievance_sweep`) and the background loop that runs it."""

from __future__ import annotations

import logging

from services.civil_affairs.adapters.context import extras_of
from services.civil_affairs.adapters.programmes_runtime import work
from services.civil_affairs.application.appeals_sweep import sweep_grievances
from shared.app import ServiceContext
from shared.periodic import every

__all__ = ["grievance_sweep", "run_grievance_sweep"]

log = logging.getLogger("fangfan.civil_affairs.appeals_sweep")


async def run_grievance_sweep(ctx: ServiceContext) -> dict[str, int]:
    """One pass; returns how many alerts of each kind it published."""
    async with work(ctx) as uow:
        return (await sweep_grievances(uow, ctx.now())).by_kind()


async def grievance_sweep(ctx: ServiceContext) -> None:
    """Background task: a pass every `CivilAffairsExtras.grievance_sweep_interval_s` seconds."""

    async def step() -> None:
        counts = await run_grievance_sweep(ctx)
        if any(counts.values()):
            log.info("grievance sweep published %s", counts)

    await every(
        ctx, step, interval_s=lambda: extras_of(ctx).grievance_sweep_interval_s, name="grievance sweep", log=log
    )
