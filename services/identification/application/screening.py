"""Use cases over a region's stored households: the screening job (evaluate every household,
store category / warning / per-capita income, emit `risk.warning_raised` through the outbox)
and the what-if simulation (how many households change category under policy overrides).

Both read households without decrypting personal data and evaluate them with the columnar
evaluator (domain/columnar.py), one policy per village."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import itertools
import json
import logging
import os
import socket
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from services.identification.application.context import extras, knob, monitoring_work
from services.identification.application.monitoring_ports import (
    CHUNK_ROW,
    ChunkRow,
    MonitoringWork,
    OutcomeBuffer,
    OutcomesWrittenMeanwhile,
    ScreeningCodec,
    ScreeningRepository,
)
from services.identification.application.stored import Chunk, Job, StoredHousehold
from services.identification.domain.columnar import ColumnarResult, HouseholdColumns, evaluate, profile_of
from services.identification.domain.risk import RISK_TYPE_ORDER
from services.identification.domain.vectorized import (
    CATEGORIES,
    LOW_INCOME,
    WARNINGS,
    evaluate_profiles,
    fen_str,
    risks_of_mask,
)
from shared.app import ServiceContext
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import FieldError, Forbidden, NotFound, Unprocessable
from shared.events import Event, assert_no_personal_data, event_subject
from shared.identifiers import REGION_LEVELS, time_ordered_uuids
from shared.policy import PolicyNotFound, PolicyParameterMissing, ResolvedPolicy
from shared.policy_store import PolicyStore

from .households import worker_pool

__all__ = [
    "SCREEN_CHUNK",
    "Simulate",
    "StartScreening",
    "chunk_worker",
    "create_screening_job",
    "replica_id",
    "run_one_chunk",
    "screen_chunk",
    "simulate",
    "start_screening",
    "wake_chunk_worker",
]

log = logging.getLogger("fangfan.identification.screening")
_ID, _NUMBER, _REGION, _PROFILE, _WARNING = CHUNK_ROW
#: households per screening chunk (one claim, one transaction)
SCREEN_CHUNK = 10_000
_SCREEN_ROLES = ("admin", "province", "county", "township")


@dataclass(frozen=True)
class StartScreening:
    """Screen every household of `region` (a 2–12 digit prefix) as of `as_of`."""

    region: str
    as_of: dt.date


@dataclass(frozen=True)
class Simulate:
    """What-if: the region's households under the policy in force and under `policy_overrides`."""

    region: str
    as_of: dt.date
    policy_overrides: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CategoryMove:
    """How many households a what-if moves from one category to another (`None`: no category)."""

    from_category: str | None
    to_category: str | None
    count: int


@dataclass(frozen=True, slots=True)
class VillageSimulation:
    village: str
    households: int
    changed: int
    transitions: tuple[CategoryMove, ...]


@dataclass(frozen=True, slots=True)
class Simulation:
    """The answer of a what-if: the region's households, those without a policy in force, those
    whose category the overrides change, by transition and by village."""

    region: str
    as_of: dt.date
    policy_overrides: dict[str, Any]
    households: int
    without_policy: int
    changed: int
    transitions: tuple[CategoryMove, ...]
    by_village: tuple[VillageSimulation, ...]


def _check_region(principal: Principal, region: str, roles: tuple[str, ...]) -> None:
    if principal.role not in roles:
        raise Forbidden(f"role {principal.role} may not run this over a region")
    if region and (not region.isdigit() or len(region) not in REGION_LEVELS):
        raise Unprocessable("bad region", errors=[FieldError("region", "must be 2, 4, 6, 9 or 12 digits")])
    if not principal.sees(region):
        raise NotFound("no such region in your jurisdiction")


async def _evaluate_page(
    work: MonitoringWork,
    store: PolicyStore,
    page: list[StoredHousehold],
    as_of: dt.date,
    cache: dict[str, ResolvedPolicy | None],
    overrides: dict[str, Any] | None = None,
) -> list[tuple[StoredHousehold, ResolvedPolicy | None, ColumnarResult | None, int]]:
    """Each household with its village's policy and (result, index); policy None: none in force."""
    by_village: dict[str, list[StoredHousehold]] = defaultdict(list)
    for h in page:
        by_village[h.region_code].append(h)
    out: list[tuple[StoredHousehold, ResolvedPolicy | None, ColumnarResult | None, int]] = []
    for village, hs in by_village.items():
        if village not in cache:
            try:
                cache[village] = await work.resolve_policy(store, village, as_of)
            except PolicyNotFound:
                cache[village] = None
        policy = cache[village]
        if policy is None:
            out.extend((h, None, None, 0) for h in hs)
            continue
        result = evaluate(
            HouseholdColumns.from_households([h.to_domain() for h in hs]),
            policy,
            as_of=as_of,
            policy_overrides=overrides,
        )
        out.extend((h, policy, result, i) for i, h in enumerate(hs))
    return out


def _screen_chunk_size(ctx: ServiceContext) -> int:
    return int(knob(extras(ctx).screening_chunk_size, "FANGFAN_SCREENING_CHUNK", SCREEN_CHUNK))


def _lease(ctx: ServiceContext) -> dt.timedelta:
    return dt.timedelta(seconds=knob(extras(ctx).chunk_lease_s, "FANGFAN_CHUNK_LEASE_S", 60))


_REPLICAS = itertools.count(1)


def replica_id(ctx: ServiceContext) -> str:
    """`hostname-pid` of this replica (a second app in the same process gets a suffix)."""
    own = extras(ctx)
    if own.replica_id is None:
        n = next(_REPLICAS)
        own.replica_id = f"{socket.gethostname()}-{os.getpid()}" + ("" if n == 1 else f"-{n}")
    return own.replica_id


async def start_screening(ctx: ServiceContext, principal: Principal, body: StartScreening) -> Job:
    """Create the screening job and its chunks (slices of the region's households in
    (region_code, id) order, `screening_chunk_size` each) that any replica may claim; returns the
    job (202). This replica starts on the chunks at once; the others find them by polling."""
    _check_region(principal, body.region, _SCREEN_ROLES)
    async with monitoring_work(ctx) as uow:
        job, total = await create_screening_job(
            uow.screening, region=body.region, created_by=principal.sub, as_of=body.as_of, size=_screen_chunk_size(ctx)
        )
        await uow.commit()
    if total >= _pool_from(ctx):  # start the worker processes while the first chunks are read
        pool = worker_pool(ctx)
        if pool is not None:
            for _ in range(_workers_of(pool)):
                pool.submit(int)
    wake_chunk_worker(ctx)
    return job


def _workers_of(pool: ProcessPoolExecutor) -> int:
    """The pool's worker count (typeshed leaves the executor's `_max_workers` undeclared)."""
    workers = getattr(pool, "_max_workers", None)
    return workers if isinstance(workers, int) else os.cpu_count() or 1


async def create_screening_job(
    screening: ScreeningRepository, *, region: str, created_by: str, as_of: dt.date, size: int
) -> tuple[Job, int]:
    """The screening job of `region` and its chunks, in the caller's transaction; returns the
    job and the number of households. (The scheduled screening creates it in the transaction of
    its (county, period) lease row: application/scheduled.py.)"""
    return await screening.create_job(region=region, created_by=created_by, as_of=as_of, size=size)


def wake_chunk_worker(ctx: ServiceContext) -> None:
    event = ctx.wakes.get("chunk_wake")
    if event is not None:
        event.set()


async def chunk_worker(ctx: ServiceContext, *, default_concurrency: int = 2) -> None:
    """Background task of every replica: `FANGFAN_CHUNK_CONCURRENCY` loops (else
    `default_concurrency`: the app passes 4 on PostgreSQL, 2 on SQLite —
    `adapters/screening_repo.default_chunk_concurrency`) that each claim a claimable chunk
    (pending, or its lease run out), do it, repeat —
    several, so that chunks are evaluated in the worker processes while others are read or
    written (on SQLite, where writers queue anyway, more do not help); when there is none, wait
    for a wake-up or a poll."""
    wake = ctx.wake("chunk_wake")
    ctx.stop_hooks.append(wake.set)  # at shutdown: stop waiting, finish, return
    n = int(os.environ.get("FANGFAN_CHUNK_CONCURRENCY", default_concurrency))
    await asyncio.gather(*(_chunk_loop(ctx, wake) for _ in range(max(1, n))))


async def _chunk_loop(ctx: ServiceContext, wake: asyncio.Event) -> None:
    # wait first: a replica that just started (or a short-lived one) touches the database only
    # when woken by a new job of its own or at the next poll
    while not ctx.stopping:
        poll = knob(extras(ctx).chunk_poll_s, "FANGFAN_CHUNK_POLL_S", 2.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), poll)
        wake.clear()
        while not ctx.stopping:  # no new chunk once the service is stopping
            try:
                did = await run_one_chunk(ctx)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("screening chunk worker: claiming failed; retrying")
                did = False
            if not did:
                break
            await asyncio.sleep(0)  # let requests in between chunks


async def run_one_chunk(ctx: ServiceContext) -> bool:
    """Claim one chunk and do it. False when there was nothing to claim."""
    replica = replica_id(ctx)
    async with monitoring_work(ctx) as uow:
        chunk = await uow.screening.claim_chunk(replica=replica, lease=_lease(ctx))
        await uow.commit()
    if chunk is None:
        return False
    try:
        await screen_chunk(ctx, chunk, replica=replica)
    except (PolicyParameterMissing, ValueError, KeyError) as exc:
        await _fail(ctx, chunk.job_id, f"chunk {chunk.seq}: {exc}")
    except Exception as exc:
        log.exception("screening %s chunk %s failed", chunk.job_id, chunk.seq)
        await _fail(ctx, chunk.job_id, f"chunk {chunk.seq}: {type(exc).__name__}: {exc}")
    return True


async def _fail(ctx: ServiceContext, job_id: str, why: str) -> None:
    """A screening that cannot go on is marked failed (its other chunks are no longer claimed)."""
    async with monitoring_work(ctx) as uow:
        job = await uow.screening.lock_job(job_id)
        if job is None or job.status != "running":
            return
        job.status = "failed"
        job.finished_at = utcnow()
        job.result["error"] = why
        job.add_errors([{"household_number": None, "path": "", "message": why}])
        await uow.screening.save_progress(job)
        await uow.commit()


async def screen_chunk(ctx: ServiceContext, chunk: Chunk, *, replica: str) -> None:
    """Evaluate the chunk's households and, in one transaction: mark the chunk done (only if this
    replica still holds it), store every outcome, write one `risk.warning_raised` outbox row per
    raised warning, and add the counts to the job (completing it with its last chunk).

    Villages whose policies come from the same versions are evaluated together with the numpy
    evaluator (domain/vectorized.py; the per-household columnar evaluator where it cannot be
    exact); only raised warnings become Python objects and events."""
    store: PolicyStore = extras(ctx).policy_store
    groups: dict[tuple[Any, ...], tuple[ResolvedPolicy, set[str]]] = {}
    unresolved: set[str] = set()
    async with monitoring_work(ctx) as uow:  # read only: rolled back
        job = await uow.screening.get_job(chunk.job_id)
        if job is None or job.status != "running":
            return
        as_of = dt.date.fromisoformat(job.params["as_of"])
        await _resolve(uow, store, await uow.screening.chunk_villages(chunk), as_of, groups, unresolved)
        rows = await uow.screening.chunk_rows(chunk)
        codec = uow.screening.codec()
    now = utcnow()
    task = functools.partial(screen_rows, rows, list(groups.values()), unresolved, as_of, now, job.id, codec)
    pool = worker_pool(ctx) if chunk.rows >= _pool_from(ctx) else None
    if pool is not None:  # the CPU work in the service's worker processes, off the event loop
        done = await asyncio.get_running_loop().run_in_executor(pool, task)
    else:
        done = task()
    if done.missing:  # stored before profiles existed, or in a village imported since: done here
        async with monitoring_work(ctx) as uow:
            rest = [
                (*r[:_PROFILE], r[_PROFILE] or await _profile_of_stored(uow.screening, r[_ID]), r[_WARNING])
                for r in done.missing
            ]
            await _resolve(uow, store, {r[_REGION] for r in rest}, as_of, groups, unresolved)
        done.missing = []
        done.add(screen_rows(rest, list(groups.values()), unresolved, as_of, now, job.id, codec))
    for attempt in range(2):
        try:
            await _write_chunk(ctx, chunk, done, replica=replica, upsert_all=attempt > 0)
            break
        except OutcomesWrittenMeanwhile:
            # an application stored an outcome for one of the chunk's new households meanwhile
            if attempt:
                raise
            log.info("screening %s chunk %s: outcomes written meanwhile; upserting all", chunk.job_id, chunk.seq)
    if done.outbox:
        ctx.relay.wake()


async def _write_chunk(ctx: ServiceContext, chunk: Chunk, done: _ChunkDone, *, replica: str, upsert_all: bool) -> None:
    outbox_rows, errors = done.outbox, done.errors
    o = done.outcomes
    outcomes = o.rows + o.new
    counts = {"done": len(outcomes), "failed": len(errors), "warnings_raised": len(outbox_rows)}
    async with monitoring_work(ctx) as uow:
        screening = uow.screening
        if not await screening.finish_chunk(chunk, replica=replica, counts=counts):
            log.info("screening %s chunk %s: taken over by another replica", chunk.job_id, chunk.seq)
            return
        if upsert_all:
            await screening.write_outcomes(outcomes)
        else:
            await screening.write_outcomes(o.rows, new=o.new)
        await screening.write_outbox(outbox_rows)
        locked = await screening.lock_job(chunk.job_id)
        if locked is None or locked.status != "running":
            return  # failed meanwhile: roll back
        locked.rows_done += len(outcomes)
        locked.rows_failed += len(errors)
        locked.add_errors(errors)
        locked.result["warnings_raised"] = locked.result.get("warnings_raised", 0) + len(outbox_rows)
        if await screening.chunks_left(chunk.job_id) == 0:
            locked.status = "completed"
            locked.finished_at = utcnow()
        await screening.save_progress(locked)
        await uow.commit()


def _pool_from(ctx: ServiceContext) -> int:
    """Chunks of at least this many households are evaluated in the worker processes."""
    return int(knob(extras(ctx).screening_pool_from, "FANGFAN_SCREENING_POOL_FROM", 2000))


@dataclass
class _ChunkDone:
    """What `screen_rows` made of a chunk: the outcome rows for `write_outcomes`, the outbox rows
    of the warnings raised, the errors (villages without a policy) and the rows it could not
    evaluate (no stored profile — written before profiles existed — or a village whose policy was
    not resolved: imported after the chunk's villages were listed)."""

    outcomes: OutcomeBuffer
    outbox: list[tuple[str, str, bytes, dt.datetime]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    missing: list[Sequence[Any]] = field(default_factory=list)

    def add(self, other: _ChunkDone) -> None:
        self.outcomes.rows.extend(other.outcomes.rows)
        self.outcomes.new.extend(other.outcomes.new)
        self.outbox.extend(other.outbox)
        self.errors.extend(other.errors)
        self.missing.extend(other.missing)


def screen_rows(
    rows: bytes | Sequence[ChunkRow],
    groups: list[tuple[ResolvedPolicy, set[str]]],
    unresolved: set[str],
    as_of: dt.date,
    now: dt.datetime,
    job_id: str,
    codec: ScreeningCodec,
) -> _ChunkDone:
    """The CPU side of a chunk (pure, picklable: runs in a worker process for large chunks):
    the chunk's rows (`_chunk_rows`: COPY text from PostgreSQL, tuples from SQLite) grouped by
    the policy versions of their villages, each group evaluated at once; returns the outcome rows
    and the outbox rows of the warnings raised (a colour differing from the previous one)."""
    tuples = codec.decode(rows)
    done = _ChunkDone(codec.outcomes(now, as_of, job_id))
    group_of = {v: i for i, (_, villages) in enumerate(groups) for v in villages}
    members: list[list[Sequence[Any]]] = [[] for _ in groups]
    for r in tuples:
        g = group_of.get(r[_REGION])
        if g is None:
            if r[_REGION] in unresolved:
                done.errors.append(
                    {
                        "household_number": r[_NUMBER],
                        "path": "region_code",
                        "message": f"no identification policy in force on {as_of}",
                    }
                )
            else:  # a village imported after the chunk's villages were resolved
                done.missing.append(r)
        elif r[_PROFILE] is None:
            done.missing.append(r)
        else:
            members[g].append(r)
    for (policy, _), hs in zip(groups, members, strict=True):
        if not hs:
            continue
        pc, category, low, warning, risks = _evaluate_group([h[_PROFILE] for h in hs], policy, as_of)
        done.outcomes.add(hs, pc, category, low, warning, policy)
        text = _WARNING_TEXT
        raised = [i for i, (h, w) in enumerate(zip(hs, warning, strict=True)) if text[w] and text[w] != h[_WARNING]]
        if raised:
            events = _WarningEvents(as_of=as_of, policy=policy, job_id=job_id, now=now)
            done.outbox.extend(
                events.row(event_id, hs[i], text[warning[i]], category[i], low[i], risks[i], pc[i])  # type: ignore[arg-type]
                for event_id, i in zip(time_ordered_uuids(len(raised)), raised, strict=True)
            )
    return done


_CATEGORY_TEXT = [None if c is None else str(c) for c in CATEGORIES]
_LOW_TEXT = [None if c is None else str(c) for c in LOW_INCOME]
_WARNING_TEXT = [None if c is None else str(c) for c in WARNINGS]


def _evaluate_group(
    profiles: list[str], policy: ResolvedPolicy, as_of: dt.date
) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
    """Per household: per-capita income in fen and the codes of category, low-income category,
    warning (indexes into CATEGORIES, LOW_INCOME, WARNINGS) and the risk-type bit mask."""
    vec = evaluate_profiles(profiles, policy, as_of=as_of)
    if vec is not None:
        return (
            vec.per_capita_fen.tolist(),
            vec.category.tolist(),
            vec.low_income_category.tolist(),
            vec.warning.tolist(),
            vec.risks.tolist(),
        )
    cols = HouseholdColumns()
    for p in profiles:
        cols.append_profile(p)
    r = evaluate(cols, policy, as_of=as_of)
    bits = {t: 1 << i for i, t in enumerate(RISK_TYPE_ORDER)}
    return (
        [int(x.scaleb(2)) for x in r.per_capita_income],
        [CATEGORIES.index(c) for c in r.category],
        [LOW_INCOME.index(c) for c in r.low_income_category],
        [WARNINGS.index(c) for c in r.warning],
        [sum(bits[t] for t in ts) for ts in r.risk_types],
    )


_SUBJECTS: dict[str, str] = {}
_WARNING_TYPE = Event("risk", "warning_raised", "", "", {}).type


class _WarningEvents:
    """The outbox rows of `risk.warning_raised` for one group of a chunk: the CloudEvents JSON
    `encode_event` writes, byte for byte (tests/identification/unit/test_screening_events.py),
    written from the group's constant parts and the household's values. The personal-data guard
    runs over the constant parts once and over each event's variable values (household id,
    number, region, income, event id) — every string of the event, not a second scan of each
    whole body."""

    def __init__(self, *, as_of: dt.date, policy: ResolvedPolicy, job_id: str, now: dt.datetime) -> None:
        self.now = now
        at = now.isoformat().replace("+00:00", "Z")
        assert_no_personal_data(" ".join((at, as_of.isoformat(), policy.id, policy.version, job_id)))
        self._head = f',"type":"{_WARNING_TYPE}","source":"identification","time":{_json_str(at)},"subject":'
        self._tail = (
            f',"as_of":"{as_of.isoformat()}","policy":{{"id":{_json_str(policy.id)},'
            f'"version":{_json_str(policy.version)}}},"screening_job_id":{_json_str(job_id)}}}}}'
        )

    def row(
        self, event_id: str, h: Any, colour: str, category: int, low: int, risks: int, pc: int
    ) -> tuple[str, str, bytes, dt.datetime]:
        hid, number, region, previous = h[_ID], h[_NUMBER], h[_REGION], h[_WARNING] or None
        income = fen_str(pc)
        assert_no_personal_data(f"{event_id} {hid} {number} {region} {income} {previous}")
        jid = _json_str(hid)
        body = (
            f'{{"specversion":"1.0","id":{_json_str(event_id)}{self._head}{jid},"region":{_json_str(region)},'
            f'"datacontenttype":"application/json","data":{{"household_id":{jid},'
            f'"household_number":{_json_str(number)},"warning":"{colour}",'
            f'"previous_warning":{"null" if previous is None else _json_str(previous)},'
            f'"category":{_JSON_TEXT[_CATEGORY_TEXT[category]]},"low_income_category":{_JSON_TEXT[_LOW_TEXT[low]]},'
            f'"risk_types":{_risk_list(risks)},"per_capita_income":"{income}"{self._tail}'
        )
        subject = _SUBJECTS.get(region)
        if subject is None:
            subject = _SUBJECTS[region] = event_subject("risk", "warning_raised", region)
        return (event_id, subject, body.encode(), self.now)


_json_str = json.encoder.encode_basestring  # = json.dumps(str, ensure_ascii=False), in C
_JSON_TEXT = {None: "null"} | {str(c): _json_str(str(c)) for c in (*CATEGORIES, *LOW_INCOME) if c is not None}
_RISK_LISTS: dict[int, str] = {}


def _risk_list(mask: int) -> str:
    text = _RISK_LISTS.get(mask)
    if text is None:
        text = _RISK_LISTS[mask] = "[" + ",".join(_json_str(str(x)) for x in risks_of_mask(mask)) + "]"
    return text


async def _resolve(
    work: MonitoringWork,
    store: PolicyStore,
    villages: Iterable[str],
    as_of: dt.date,
    groups: dict[tuple[Any, ...], tuple[ResolvedPolicy, set[str]]],
    unresolved: set[str],
) -> None:
    """Each village's policy on `as_of`, its village added to the group of villages under the
    same policy versions (or to `unresolved`: no policy in force)."""
    for village in villages:
        if village in unresolved or any(village in vs for _, vs in groups.values()):
            continue
        try:
            policy = await work.resolve_policy(store, village, as_of)
        except PolicyNotFound:
            unresolved.add(village)
            continue
        key = tuple((v.id, v.version) for v in policy.versions)
        groups.setdefault(key, (policy, set()))[1].add(village)


async def _profile_of_stored(screening: ScreeningRepository, household_id: str) -> str:
    """The screening profile of a household stored without one (written before profiles)."""
    h = await screening.stored_household(household_id)
    assert h is not None
    canon = dict(h.facts)
    canon.update(
        escaped_poverty=h.escaped_poverty,
        dibao_status=h.dibao_status,
        members=[
            {
                "id_number": f"000000{m.birth_date:%Y%m%d}0000",
                "labor_capacity": m.labor_capacity,
                "disability_grade": m.disability_grade,
                "disability_kind": m.disability_kind,
                "serious_illness": m.serious_illness,
                "schooling": m.schooling,
            }
            for m in h.members
        ],
    )
    return profile_of(canon, h.region_code)


async def simulate(
    *, work: MonitoringWork, store: PolicyStore, principal: Principal, body: Simulate, batch_size: int = 2000
) -> Simulation:
    """Run the region's stored households under the policy in force and under the overrides;
    count, per village, the households whose category changes (from → to)."""
    _check_region(principal, body.region, ("admin", "province", "county", "township", "village"))
    overrides = store.check_parameters(body.policy_overrides, path="policy_overrides") if body.policy_overrides else {}
    cache: dict[str, ResolvedPolicy | None] = {}
    villages: dict[str, Counter[tuple[str | None, str | None]]] = defaultdict(Counter)
    counts: Counter[str] = Counter()
    after: tuple[str, str] | None = None
    try:
        while True:
            page = await work.screening.region_page(body.region, after=after, limit=batch_size)
            if not page:
                break
            after = (page[-1].region_code, page[-1].id)
            base = await _evaluate_page(work, store, page, body.as_of, cache)
            what_if = await _evaluate_page(work, store, page, body.as_of, cache, overrides)
            for (h, policy, r0, i), (_, _, r1, j) in zip(base, what_if, strict=True):
                counts["households"] += 1
                if policy is None or r0 is None or r1 is None:
                    counts["without_policy"] += 1
                    continue
                c0, c1 = r0.category[i], r1.category[j]
                villages[h.region_code][(None if c0 is None else str(c0), None if c1 is None else str(c1))] += 1
    except PolicyParameterMissing as exc:
        raise Unprocessable(str(exc), code="policy_incomplete", errors=[FieldError("region", str(exc))]) from None
    by_village = []
    totals: Counter[tuple[str | None, str | None]] = Counter()
    for village in sorted(villages):
        moves = villages[village]
        changed_moves = {k: n for k, n in moves.items() if k[0] != k[1]}
        totals.update(changed_moves)
        by_village.append(
            VillageSimulation(
                village=village,
                households=sum(moves.values()),
                changed=sum(changed_moves.values()),
                transitions=_transitions(changed_moves),
            )
        )
    return Simulation(
        region=body.region,
        as_of=body.as_of,
        policy_overrides=dict(overrides),
        households=counts["households"],
        without_policy=counts["without_policy"],
        changed=sum(v.changed for v in by_village),
        transitions=_transitions(totals),
        by_village=tuple(by_village),
    )


def _transitions(moves: Mapping[tuple[str | None, str | None], int]) -> tuple[CategoryMove, ...]:
    return tuple(CategoryMove(a, b, n) for (a, b), n in sorted(moves.items(), key=lambda kv: (-kv[1], str(kv[0]))))
