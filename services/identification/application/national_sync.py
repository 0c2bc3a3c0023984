"""Use cases of the export to the national monitoring system (全国防返贫监测信息系统录入, 002 篇九
第五步; 002 篇二 §(五)): start a run per county (on request, or daily), the background worker that
does it chunk by chunk (resumable after a crash), and the reads (history, one run, its file).

A run: households of the county changed since the county's last completed run (household row,
latest outcome, a case or a measure changed; `FANGFAN_NATIONAL_SYNC_OVERLAP_S` of overlap against
clock skew and long transactions) whose national row differs from what the county's files last
said (a keyed hash per household) — so nothing is sent twice and nothing is missed. Each chunk's
rows are staged (encrypted) in the same transaction as the job's keyset cursor; the file is put
together from the staged rows at the end and the cursor moves only when the file is on disk."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.identification.application.context import extras, knob, monitoring_work
from services.identification.application.monitoring_ports import (
    ROW_CONTEXT,
    Candidate,
    NationalSyncRepository,
    Run,
    StagedRow,
)
from services.identification.application.screening import replica_id
from services.identification.application.stored import Job
from services.identification.domain.national_format import (
    Change,
    FileHeader,
    NationalHousehold,
    encode_header,
    encode_household,
    file_name,
    in_scope,
)
from shared.app import ServiceContext
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import FieldError, Forbidden, NotFound, Unprocessable
from shared.logging import request_id_var
from shared.periodic import every

__all__ = [
    "JOB_KIND",
    "ListSyncRuns",
    "StartNationalSync",
    "StartedSync",
    "national_sync_schedule",
    "national_sync_worker",
    "open_file",
    "read_run",
    "run_due_syncs",
    "run_once",
    "runs_history",
    "start_national_sync",
]

log = logging.getLogger("fangfan.identification.national_sync")

JOB_KIND = "national_sync"
#: `created_by` of the runs the daily schedule starts
SCHEDULER = "system:schedule"
#: the roles the national files are for (they carry ID numbers in clear)
ROLES = frozenset({"province", "county"})


@dataclass(frozen=True, slots=True)
class StartedSync:
    """A county's run: new (`created`), or the one already running."""

    run: Run
    created: bool


@dataclass(frozen=True, slots=True)
class ListSyncRuns:
    county: str | None = None
    status: str | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class StartNationalSync:
    """`region`: a province (2), city (4) or county (6) code inside the caller's region; every
    county of it with households gets a run. `full`: every household, not only the changed."""

    region: str | None = None
    full: bool = False


def _setting(ctx: ServiceContext, key: str, env: str, default: float) -> float:
    return knob(getattr(extras(ctx), key), env, default)


def _chunk_size(ctx: ServiceContext) -> int:
    return max(1, int(_setting(ctx, "national_sync_chunk_size", "FANGFAN_NATIONAL_SYNC_CHUNK", 500)))


def _lease(ctx: ServiceContext) -> dt.timedelta:
    return dt.timedelta(seconds=_setting(ctx, "national_sync_lease_s", "FANGFAN_NATIONAL_SYNC_LEASE_S", 120))


def _overlap(ctx: ServiceContext) -> dt.timedelta:
    return dt.timedelta(seconds=_setting(ctx, "national_sync_overlap_s", "FANGFAN_NATIONAL_SYNC_OVERLAP_S", 600))


def _check_role(principal: Principal) -> None:
    if principal.role not in ROLES:
        raise Forbidden("national sync files are for the province and county roles", code="role_not_allowed")


async def start_national_sync(ctx: ServiceContext, principal: Principal, cmd: StartNationalSync) -> list[StartedSync]:
    """One run (and job) per county of the region; a county already running keeps its run (it
    is returned, `created: false`)."""
    _check_role(principal)
    region = cmd.region if cmd.region is not None else principal.region
    if not region.isdigit() or len(region) not in (2, 4, 6):
        raise Unprocessable("bad region", errors=[FieldError("region", "a 2, 4 or 6 digit region code")])
    if not principal.sees(region):  # another county's (or a wider) region: 404, as for records
        raise NotFound("no such region in your jurisdiction", code="region_not_found")
    out = []
    async with monitoring_work(ctx) as uow:
        counties = [region] if len(region) == 6 else await uow.national_sync.counties_in(region)
        for county in counties:
            run, created = await _start_county(ctx, uow.national_sync, county, full=cmd.full, created_by=principal.sub)
            out.append(StartedSync(run, created))
        await uow.commit()
    ctx.wake("national_sync_wake").set()
    return out


async def _start_county(
    ctx: ServiceContext, ns: NationalSyncRepository, county: str, *, full: bool, created_by: str
) -> tuple[Run, bool]:
    """The county's new run and its job (in the caller's transaction), or its running one."""
    running = await ns.running_run(county)
    if running is not None:
        return running, False
    last_sequence, last_until = await ns.get_cursor(county)
    full = full or last_until is None
    until = utcnow()
    lo = None if full or last_until is None else last_until - _overlap(ctx)
    total = await ns.count_candidates(county, lo)
    sequence = last_sequence + 1
    job = await ns.create_job(
        kind=JOB_KIND,
        region=county,
        created_by=created_by,
        params={
            "county": county,
            "full": full,
            "since": None if full or last_until is None else last_until.isoformat(),
            "until": until.isoformat(),
            "sequence": sequence,
        },
        rows_total=total,
    )
    job.result = {"added": 0, "updated": 0, "removed": 0, "unchanged": 0, "skipped": 0}
    await ns.save_progress(job)
    return await ns.create_run(
        {
            "id": job.id,
            "county": county,
            "sequence": sequence,
            "full": full,
            "status": "running",
            "since": None if full else last_until,
            "until": until,
            "period": f"{ctx.today():%Y%m}",
            "file_name": file_name(county, ctx.today(), sequence),
            "phase": "households",
            "created_by": created_by,
            "created_at": until,
        },
    )


def _daily_at(ctx: ServiceContext) -> dt.time | None:
    """`FANGFAN_NATIONAL_SYNC_DAILY_AT` (`HH:MM`, China time): the daily run's time; unset: none."""
    value = extras(ctx).national_sync_daily_at or os.environ.get("FANGFAN_NATIONAL_SYNC_DAILY_AT")
    if not value:
        return None
    hours, minutes = str(value).split(":")
    return dt.time(int(hours), int(minutes))


async def national_sync_schedule(ctx: ServiceContext) -> None:
    """Background task: once a day after `FANGFAN_NATIONAL_SYNC_DAILY_AT`, an incremental run of
    every county with households (checked every `FANGFAN_NATIONAL_SYNC_SCHEDULE_POLL_S`, 300 s)."""
    await every(
        ctx,
        lambda: run_due_syncs(ctx),
        interval_s=lambda: _setting(ctx, "national_sync_schedule_poll_s", "FANGFAN_NATIONAL_SYNC_SCHEDULE_POLL_S", 300),
        name="scheduled national sync",
        log=log,
        wake_key="national_sync_schedule_wake",
    )


async def run_due_syncs(ctx: ServiceContext) -> list[str]:
    """Start today's run of every county not yet started today (once across replicas: the
    replica whose insert of the (county, day) row succeeds starts it). Returns the run ids."""
    at = _daily_at(ctx)
    now = ctx.now()
    if at is None or now.time() < at:
        return []
    started = []
    async with monitoring_work(ctx) as uow:
        counties = await uow.national_sync.counties_in("")
    for county in counties:
        async with monitoring_work(ctx) as uow:
            if not await uow.national_sync.claim_day(county, now.date(), replica_id(ctx)):
                continue
            run, created = await _start_county(ctx, uow.national_sync, county, full=False, created_by=SCHEDULER)
            await uow.national_sync.set_day_run(county, now.date(), run.id)
            await uow.commit()
        if created:
            started.append(run.id)
    if started:
        ctx.wake("national_sync_wake").set()
    return started


async def runs_history(ctx: ServiceContext, principal: Principal, query: ListSyncRuns) -> list[Run]:
    """The runs of the caller's region (or of `query.county`), newest first."""
    _check_role(principal)
    if query.county is not None and not principal.sees(query.county):
        return []
    async with monitoring_work(ctx) as uow:
        return await uow.national_sync.list_runs(
            principal.region, county=query.county, status=query.status, limit=query.limit
        )


async def read_run(ctx: ServiceContext, principal: Principal, run_id: str) -> Run:
    _check_role(principal)
    async with monitoring_work(ctx) as uow:
        run = await uow.national_sync.get_run(run_id)
    if run is None or not principal.sees(run.county):
        raise NotFound("no such national sync run in your jurisdiction")
    return run


async def open_file(ctx: ServiceContext, principal: Principal, run_id: str, name: str) -> Iterator[bytes]:
    """The plain file of a completed run, as a stream of chunks (decrypted on the way out)."""
    run = await read_run(ctx, principal, run_id)
    if run.status != "completed" or name != run.file_name:
        raise NotFound("no such file in this run")
    path = extras(ctx).national_files.path(ctx.settings.data_dir, run.county, name)
    if not path.exists():
        raise NotFound("the file is no longer on disk", code="file_gone")
    # the file carries clear ID numbers: its download is one row of the hash-chained audit log
    # (the run id in the household column: one row per file, not one per household)
    async with monitoring_work(ctx) as uow:
        await uow.national_sync.record_unmasked_read(
            actor=principal.sub,
            role=principal.role,
            household_id=run.id,
            fields="national_sync_file",
            reason=f"national monitoring system file {name}",
            request_id=request_id_var.get(),
        )
        await uow.commit()
    return extras(ctx).national_files.read(path, ctx.cipher)


# --- the worker ----------------------------------------------------------------------------


async def national_sync_worker(ctx: ServiceContext) -> None:
    """Background task of every replica: claim a running run (unheld, lease run out, or held by
    this replica before a restart) and do it; when there is none, wait for a wake-up or a poll."""
    # a run that fails is retried by whichever replica claims it after its lease
    await every(
        ctx,
        lambda: run_once(ctx),
        interval_s=lambda: _setting(ctx, "national_sync_poll_s", "FANGFAN_NATIONAL_SYNC_POLL_S", 5),
        name="national sync run",
        log=log,
        wake_key="national_sync_wake",
        run_first=True,
        again_if_true=True,
    )


async def run_once(ctx: ServiceContext) -> bool:
    """Claim one run and take it as far as it goes. False when there was nothing to claim."""
    replica = replica_id(ctx)
    async with monitoring_work(ctx) as uow:
        run = await uow.national_sync.claim_run(replica=replica, lease=_lease(ctx))
        await uow.commit()
    if run is None:
        return False
    phase = run.phase
    if phase == "households":
        if not await _households(ctx, run, replica):
            return True
        phase = "removals"
    if phase == "removals" and not await _removals(ctx, run, replica):
        return True
    await _write_file(ctx, run, replica)
    return True


def _row(c: Candidate, change: Change) -> NationalHousehold:
    return NationalHousehold(
        change=change,
        household_number=c.household_number,
        household_id=c.id,
        region_code=c.region_code,
        status=c.status,
        escaped_poverty=c.escaped_poverty,
        category=c.category,
        risk_types=c.risk_types,
        low_income_category=c.low_income_category,
        per_capita_income=c.per_capita_income,
        income=c.income,
        monitored_since=c.monitored_since,
        eliminated_on=c.eliminated_on,
        measures=c.measures,
        members=c.members,
    )


def _staged(ctx: ServiceContext, h: NationalHousehold, row_hash: str, text: str | None = None) -> StagedRow:
    text = text if text is not None else encode_household(h).decode()
    return StagedRow(
        household_id=h.household_id,
        region_code=h.region_code,
        household_number=h.household_number,
        change=h.change.value,
        row_hash=row_hash,
        row_enc=ctx.cipher.encrypt(text, context=ROW_CONTEXT),
    )


async def _households(ctx: ServiceContext, run: Run, replica: str) -> bool:
    """Chunks of changed households until none is left (True) or the lease is lost (False)."""
    lo = None if run.since is None else run.since - _overlap(ctx)
    size = _chunk_size(ctx)
    hook = extras(ctx).national_sync_after_chunk
    n = 0
    while True:
        async with monitoring_work(ctx) as uow:
            ns = uow.national_sync
            if not await ns.still_holds(run.id, replica=replica, lease=_lease(ctx)):
                return False
            job = await _job(ns, run.id)
            after = tuple(job.cursor) if job.cursor else None
            batch = await ns.candidates(ctx.cipher, run.county, lo=lo, after=after, limit=size)
            if not batch:
                await ns.set_phase(run.id, "removals")
                await uow.commit()
                return True
            known = await ns.exported_hashes(run.county, [c.id for c in batch])
            staged = []
            counts = job.result
            for c in batch:
                if not in_scope(status=c.status, escaped_poverty=c.escaped_poverty):
                    if c.id in known:  # left the national system's scope: removed from the file
                        staged.append(_staged(ctx, _removed(c.id, c.household_number, c.region_code), ""))
                        counts["removed"] += 1
                    else:
                        counts["skipped"] += 1
                    continue
                # the hash is of the row as an update: an unchanged household is not sent again
                row = _row(c, Change.UPDATED)
                text = encode_household(row).decode()
                row_hash = ctx.cipher.keyed_hash(text)
                previous = known.get(c.id)
                if previous == row_hash and not run.full:  # a full file repeats unchanged ones
                    counts["unchanged"] += 1
                    continue
                if previous is None:  # the same row, as an addition ("F|U|…" → "F|A|…")
                    row, text = _row(c, Change.ADDED), f"F|{Change.ADDED.value}|{text[4:]}"
                counts["added" if previous is None else "updated"] += 1
                staged.append(_staged(ctx, row, row_hash, text))
            await ns.stage_rows(run.id, staged)
            last = batch[-1]
            job.cursor = [last.region_code, last.id]
            job.rows_done += len(batch)
            await ns.save_progress(job)
            await uow.commit()
        n += 1
        if hook is not None:
            await hook(run.id, n)
        await asyncio.sleep(0)


def _removed(household_id: str, number: str, village: str) -> NationalHousehold:
    return NationalHousehold(
        change=Change.REMOVED, household_number=number, household_id=household_id, region_code=village
    )


async def _removals(ctx: ServiceContext, run: Run, replica: str) -> bool:
    """Households the county's files hold that left the county (deleted, merged, moved)."""
    async with monitoring_work(ctx) as uow:
        ns = uow.national_sync
        if not await ns.still_holds(run.id, replica=replica, lease=_lease(ctx)):
            return False
        gone = await ns.removals(run.county, run.id)
        await ns.stage_rows(run.id, [_staged(ctx, _removed(*g), "") for g in gone])
        if gone:
            job = await _job(ns, run.id)
            job.result["removed"] += len(gone)
            await ns.save_progress(job)
        await ns.set_phase(run.id, "file")
        await uow.commit()
    return True


async def _body(ctx: ServiceContext, run_id: str) -> Any:
    """The file's body rows in order, one short read transaction per page."""
    after: tuple[str, str] | None = None
    while True:
        async with monitoring_work(ctx) as uow:
            page = await uow.national_sync.staged_page(run_id, after=after, limit=1000)
        if not page:
            return
        for r in page:
            yield ctx.cipher.decrypt(r.row_enc, context=ROW_CONTEXT).encode()
        after = (page[-1].region_code, page[-1].household_id)


async def _write_file(ctx: ServiceContext, run: Run, replica: str) -> None:
    """Put the file together (two passes over the staged rows: the header needs the body's
    count and checksum), write it encrypted and atomically, then — one transaction — move the
    cursor, record what the file said, complete the run and its job. A crash before that commit
    writes the same plain bytes again on resumption."""
    digest, count = hashlib.sha256(), 0
    async for part in _body(ctx, run.id):
        digest.update(part)
        count += 1
    header = encode_header(
        FileHeader(run.county, run.period, run.sequence, run.full, run.since, run.until, count, digest.hexdigest())
    )
    path: Path = extras(ctx).national_files.path(ctx.settings.data_dir, run.county, run.file_name)
    writer = extras(ctx).national_files.writer(path, ctx.cipher)
    size = len(header)
    try:
        writer.add(header)
        async for part in _body(ctx, run.id):
            writer.add(part)
            size += len(part)
    except BaseException:
        writer.abort()
        raise
    await asyncio.to_thread(writer.finish)
    async with monitoring_work(ctx) as uow:
        ns = uow.national_sync
        if not await ns.still_holds(run.id, replica=replica, lease=_lease(ctx)):
            return
        now = utcnow()
        await ns.complete_run(run, households_count=count, checksum=digest.hexdigest(), size=size, at=now)
        job = await _job(ns, run.id)
        job.status = "completed"
        job.finished_at = now
        job.result["file"] = run.file_name
        job.result["households"] = count
        job.result["checksum"] = digest.hexdigest()
        await ns.save_progress(job)
        await uow.commit()
    log.info("national sync run %s of county %s: %d households, %d bytes", run.id, run.county, count, size)


async def _job(ns: NationalSyncRepository, run_id: str) -> Job:
    job = await ns.get_job(run_id)
    if job is None:
        raise RuntimeError(f"national sync run {run_id} has no job")
    return job
