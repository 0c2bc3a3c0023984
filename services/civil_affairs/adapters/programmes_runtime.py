"""Wiring of the dibao / 特困 procedure into the running service: units of work, idempotent
requests, the economic-check dispatcher and poller, the monthly payment run, and the consumers of
`subsidy.decision_*` and `employment.offers_refused`."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

from services.civil_affairs.adapters.context import extras_of
from services.civil_affairs.adapters.economic_check import CheckSystems
from services.civil_affairs.adapters.unit_of_work import CivilAffairsUnitOfWork
from services.civil_affairs.application import applications as app_uc
from services.civil_affairs.application import enrolments as enrol_uc
from services.civil_affairs.domain.enrolments import month_of
from shared import idempotency
from shared.app import ConsumerSpec, ServiceContext
from shared.auth import Principal
from shared.consumer import EventHandler, PoisonEvent
from shared.db import UnitOfWork
from shared.events import Event
from shared.periodic import every

__all__ = [
    "BACKGROUND",
    "CONSUMERS",
    "checks",
    "dispatch_check",
    "idempotent",
    "payment_decision",
    "refusing_member",
    "run_check_cycle",
    "work",
]

log = logging.getLogger("fangfan.civil_affairs.programmes")

R = TypeVar("R")


def checks(ctx: ServiceContext) -> CheckSystems:
    extras = extras_of(ctx)
    if extras.check_systems is None:
        extras.check_systems = CheckSystems(ctx.settings.data_dir)
    return extras.check_systems


def unit_of_work(uow: UnitOfWork) -> CivilAffairsUnitOfWork:
    """The unit of work `ctx.uow()` builds (`ServiceSpec.unit_of_work`), with its type."""
    assert isinstance(uow, CivilAffairsUnitOfWork), "the civil-affairs app sets its unit of work (main.spec)"
    return uow


@contextlib.asynccontextmanager
async def work(ctx: ServiceContext) -> AsyncIterator[CivilAffairsUnitOfWork]:
    async with ctx.uow() as uow:
        yield unit_of_work(uow)


async def idempotent(
    ctx: ServiceContext,
    principal: Principal,
    *,
    route: str,
    key: str | None,
    body: Any,
    status: int,
    run: Callable[[CivilAffairsUnitOfWork], Awaitable[R]],
    answer: Callable[[R], dict[str, Any]],
) -> tuple[int, dict[str, Any]]:
    """Run `run` once per Idempotency-Key: the response — `answer` of the use case's result, the
    JSON the client gets — is stored in the use case's own transaction; a replay answers the
    stored response."""
    table = ctx.tables["idempotency_keys"]
    claim = await idempotency.claim(ctx.uow, table, scope=idempotency.scope_for(route, principal), key=key, body=body)
    if claim.replay is not None:
        return claim.replay
    try:
        async with work(ctx) as w:

            async def store(result: Any) -> None:
                await idempotency.complete(w.session, table, claim, status, answer(result))

            w.before_commit.append(store)
            out = answer(await run(w))
    except BaseException:
        await idempotency.release(ctx.uow, table, claim)
        raise
    return status, out


# --------------------------------------------------------------------------- economic checks


async def dispatch_check(ctx: ServiceContext, check_id: str) -> bool:
    """Send one check request to its county system (after the commit that created it). A failure
    leaves it unsent; the background cycle retries."""
    # one sender at a time in this process (the request handler and the background cycle);
    # across replicas a request may still go twice: the county system keys on `check_id`
    sending = extras_of(ctx).economic_checks_sending
    if check_id in sending:
        return False
    sending.add(check_id)
    try:
        async with work(ctx) as w:
            check = await w.checks.get(check_id)
            if check is None or check.sent_at is not None or check.status != "pending":
                return False
            sealed = await w.applications.sealed_members(check.application_id)
        ids = [ctx.cipher.decrypt_text(t, context=app_uc.SEAL_CONTEXT) for t in sealed]
        system = checks(ctx).for_county(check.county)
        try:
            reference = await system.send(check, app_uc.check_request_with_ids(check, ids))
        except Exception as exc:  # the county system is down: retried by the cycle
            log.warning(
                "economic check %s: sending to county %s failed: %s", check.id, check.county, type(exc).__name__
            )
            return False
        async with work(ctx) as w:
            await app_uc.mark_check_sent(w, check.id, reference, ctx.now())
        return True
    finally:
        sending.discard(check_id)


async def run_check_cycle(ctx: ServiceContext) -> dict[str, int]:
    """Send unsent requests, collect results (polling / result files), time out the overdue."""
    counts = {"sent": 0, "answered": 0, "timed_out": 0}
    async with work(ctx) as w:
        open_checks = await w.checks.open_checks()
    # an unsent request is retried from its second sighting: the request handler that created it
    # sends it itself right after its commit
    unsent = extras_of(ctx).economic_checks_unsent
    for check in open_checks:
        if check.sent_at is None:
            if check.id in unsent:
                counts["sent"] += int(await dispatch_check(ctx, check.id))
            else:
                unsent.add(check.id)
            continue
        unsent.discard(check.id)
        system = checks(ctx).for_county(check.county)
        try:
            result = await system.poll(check)
        except Exception as exc:
            log.warning("economic check %s: polling failed: %s", check.id, type(exc).__name__)
            continue
        if result is None:
            continue
        try:
            async with work(ctx) as w:
                await app_uc.record_check_result(
                    app_uc.RecordCheckResult(check_id=check.id, result=result, at=ctx.now()), w
                )
        except Exception as exc:
            log.warning("economic check %s: result not recorded: %s", check.id, exc)
            continue
        await system.forget(check)
        counts["answered"] += 1
    async with work(ctx) as w:
        counts["timed_out"] = await app_uc.time_out_checks(w, ctx.today(), ctx.now())
    return counts


async def _every(ctx: ServiceContext, interval_s: float, step: Callable[[], Awaitable[Any]], name: str) -> None:
    await every(ctx, step, interval_s=interval_s, name=name, log=log, run_first=True)


async def economic_check_loop(ctx: ServiceContext) -> None:
    interval = float(os.environ.get("FANGFAN_ECONOMIC_CHECK_POLL_S", "30"))
    await _every(ctx, interval, lambda: run_check_cycle(ctx), "economic check cycle")


async def monthly_payments_loop(ctx: ServiceContext) -> None:
    """Orders the current month's payments for every enrolment (idempotent: an enrolment has at
    most one order a month), hourly by default; `FANGFAN_PAYMENTS_AUTO_RUN=0` turns it off (tests
    run the month with `POST /social-assistance/payments:run`)."""
    default = "0" if ctx.settings.env == "test" else "1"
    if os.environ.get("FANGFAN_PAYMENTS_AUTO_RUN", default) != "1":
        return
    interval = float(os.environ.get("FANGFAN_PAYMENTS_RUN_INTERVAL_S", "3600"))

    async def step() -> None:
        async with work(ctx) as w:
            await enrol_uc.run_payments(
                enrol_uc.RunPayments(period=month_of(ctx.today()), region_prefix="", at=ctx.now(), by="monthly run"), w
            )

    await _every(ctx, interval, step, "monthly payment run")


BACKGROUND = [economic_check_loop, monthly_payments_loop]


# --------------------------------------------------------------------------- consumers


def payment_decision(data: Mapping[str, Any], at: dt.datetime) -> enrol_uc.RecordPaymentDecision | None:
    """`subsidy.decision_*` as a command: None when it is not about a payment order (no `payment_id`)."""
    payment_id = data.get("payment_id")
    if not isinstance(payment_id, str):
        return None
    return enrol_uc.RecordPaymentDecision(
        payment_id=payment_id,
        decision_id=str(data.get("decision_id", "")),
        decision_state=str(data.get("state", "")),
        amount=str(data.get("amount")),
        at=at,
    )


def refusing_member(data: Mapping[str, Any], at: dt.datetime) -> enrol_uc.ExcludeRefusingMember:
    """`employment.offers_refused` as a command (ValueError: it names no household or person)."""
    household_id, person_ref = data.get("household_id"), data.get("person_ref")
    if not isinstance(household_id, str) or not isinstance(person_ref, str):
        raise ValueError("offers_refused without household_id / person_ref")
    return enrol_uc.ExcludeRefusingMember(
        household_id=household_id,
        person_ref=person_ref,
        refusals=int(data.get("refusals", 3)),
        recommendation_ids=tuple(str(x) for x in data.get("recommendation_ids") or ()),
        at=at,
    )


def _decision_handler(ctx: ServiceContext) -> EventHandler:
    async def handle(uow: UnitOfWork, ev: Event) -> None:
        if not ev.name.startswith("decision_"):
            return
        cmd = payment_decision(ev.data, ctx.now())
        if cmd is None:
            return
        try:
            with unit_of_work(uow).in_consumer() as w:
                await enrol_uc.payment_recorded(cmd, w)
        except ValueError as exc:
            raise PoisonEvent(str(exc)) from None

    return handle


def _offers_refused_handler(ctx: ServiceContext) -> EventHandler:
    async def handle(uow: UnitOfWork, ev: Event) -> None:
        try:
            cmd = refusing_member(ev.data, ctx.now())
            with unit_of_work(uow).in_consumer() as w:
                await enrol_uc.offers_refused(cmd, w)
        except ValueError as exc:
            raise PoisonEvent(str(exc)) from None

    return handle


CONSUMERS = [
    ConsumerSpec(name="payments-recorded", filter_subjects=["fangfan.subsidy.>"], handler=_decision_handler),
    ConsumerSpec(
        name="offers-refused", filter_subjects=["fangfan.employment.offers_refused.>"], handler=_offers_refused_handler
    ),
]
