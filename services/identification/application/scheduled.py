"""The scheduled screening (docs/identification.md "Scheduled screening"): a background task of
every replica that, for each county with households, starts the county's screening once per
period of its policy (`screening_interval_months`, `screening_day_of_month`: Anhui monthly at the
month end, 004 §三(二); two concentrated screenings a year, 003 §(二)).

Once across replicas: the replica whose insert of the (county, period) row in
`scheduled_screenings` succeeds creates the screening job and its chunks in the same transaction;
the others' inserts find the row and do nothing. The job is then screened like any other — its
chunks claimed by whichever replica is free (leases in application/screening.py) — and every
warning raised, red ones included (the monthly red-flag analysis: 返贫致贫风险较大的…红色标注),
goes out as `risk.warning_raised` with the screening's job id."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from services.identification.application.context import extras, knob, monitoring_work
from services.identification.domain.screening_schedule import screening_slot
from shared.app import ServiceContext
from shared.periodic import every
from shared.policy import PolicyNotFound

from .screening import _screen_chunk_size, create_screening_job, replica_id, wake_chunk_worker

__all__ = ["SCHEDULER", "ScheduledStart", "run_due_screenings", "scheduled_screening"]

log = logging.getLogger("fangfan.identification.scheduled")
#: `created_by` of the jobs the schedule starts
SCHEDULER = "system:schedule"


@dataclass(frozen=True, slots=True)
class ScheduledStart:
    """A county's screening this replica started for its period."""

    county: str
    period: str
    job_id: str
    households: int


def _poll_s(ctx: ServiceContext) -> float:
    return knob(extras(ctx).schedule_poll_s, "FANGFAN_SCHEDULE_POLL_S", 300)


async def scheduled_screening(ctx: ServiceContext) -> None:
    """Background task: every `FANGFAN_SCHEDULE_POLL_S` (300 s) start the screenings due."""
    await every(
        ctx,
        lambda: run_due_screenings(ctx),
        interval_s=lambda: _poll_s(ctx),
        name="scheduled screening",
        log=log,
        wake_key="schedule_wake",
    )


async def run_due_screenings(ctx: ServiceContext) -> list[ScheduledStart]:
    """Start every county's screening that is due today and not yet started for its period;
    returns what this replica started."""
    today = ctx.today()
    store = extras(ctx).policy_store
    started: list[ScheduledStart] = []
    async with monitoring_work(ctx) as uow:
        counties = await uow.schedule.counties()
    for code in counties:
        async with monitoring_work(ctx) as uow:
            try:
                policy = await uow.resolve_policy(store, code, today)
            except PolicyNotFound:
                continue
            interval, day = policy.get("screening_interval_months"), policy.get("screening_day_of_month")
            if interval is None or day is None:
                continue  # this region screens on demand only
            try:
                slot = screening_slot(today, int(interval), int(day))
            except ValueError as exc:
                log.warning("scheduled screening of %s: %s", code, exc)
                continue
            if not slot.is_due(today):
                continue
            if not await uow.schedule.claim_slot(code, slot.period, replica=replica_id(ctx), at=ctx.now()):
                continue  # another replica (or an earlier poll) started it
            job, total = await create_screening_job(
                uow.screening, region=code, created_by=SCHEDULER, as_of=today, size=_screen_chunk_size(ctx)
            )
            await uow.schedule.set_job(code, slot.period, job.id)
            await uow.commit()
        log.info("scheduled screening of %s for %s: job %s, %d households", code, slot.period, job.id, total)
        started.append(ScheduledStart(code, slot.period, job.id, total))
    if started:
        wake_chunk_worker(ctx)
    return started
