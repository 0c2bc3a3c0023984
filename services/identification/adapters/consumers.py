"""Consumers of assistance's events (contract in docs/procedure.md "The loops"). Each handler
runs in the inbox consumer's transaction: a redelivered event finds its inbox row and has no
second effect. Events that can never be handled (no household id, no 12-digit village, no
date where one is needed) are poison → dead letters."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast

from services.identification.adapters.unit_of_work import IdentificationUnitOfWork
from services.identification.application.loops import (
    ApplyIncomeUpdate,
    RecordMeasure,
    RecordMeasuresSince,
    apply_income_update,
    income_of,
    record_measure,
    record_measures_since,
)
from services.identification.application.negative_flags import OffersRefused, apply_offers_refused
from shared import contracts
from shared.app import ConsumerSpec, ServiceContext
from shared.consumer import EventHandler, PoisonEvent, event_day, household_and_village
from shared.contracts.assistance import VisitIncome
from shared.db import UnitOfWork
from shared.events import Event

__all__ = ["CONSUMERS"]

log = logging.getLogger("fangfan.identification.consumers")
#: the consumer's unit of work is the service's (`ctx.uow`): its repositories are there
Handler = Callable[[IdentificationUnitOfWork, Event], Awaitable[None]]
_view = dataclass(frozen=True, slots=True, kw_only=True)


@contracts.reads("identification.income-updated", "assistance.income_updated")
@_view
class _IncomeUpdated(VisitIncome):
    """The kinds in `income`, else their top-level copies (`income_of`)."""

    income: VisitIncome | None = None
    visited_on: dt.date | None = None
    visit_id: str | None = None


@_view
class _Measure:
    id: str
    type: str | None = None


@contracts.reads("identification.measures", "assistance.plan_created")
@_view
class _PlanCreated:
    plan_id: str | None = None
    measures: list[_Measure] = field(default_factory=list)


@contracts.reads("identification.measures", "assistance.plan_drawn_up")
@_view
class _PlanDrawnUp:
    drawn_up_on: dt.date


@contracts.reads("identification.measures", "assistance.measure_status_changed")
@_view
class _MeasureStatusChanged:
    measure_id: str
    to: str
    plan_id: str | None = None
    type: str | None = None
    on: dt.date | None = None


@contracts.reads("identification.offers-refused", "employment.offers_refused")
@_view
class _OffersRefused:
    person_ref: str
    recommendation_ids: list[str]
    refusals: int | None = None
    decided_at: dt.datetime | None = None


def on_income_updated(ctx: ServiceContext) -> Handler:
    """A visit's income update: the household's stored income and its re-assessment."""

    async def handle(uow: IdentificationUnitOfWork, ev: Event) -> None:
        household_id, _village = household_and_village(ev)
        d = contracts.read(ev, _IncomeUpdated)
        income = income_of(ev.data)
        if not income:
            raise PoisonEvent(f"{ev.type} {ev.id}: no income amount")
        cmd = ApplyIncomeUpdate(
            household_id=household_id,
            income=income,
            visited_on=d.visited_on or event_day(ev),
            visit_id=d.visit_id or None,
            at=ctx.now(),
        )
        outcome = await apply_income_update(ctx, uow, cmd)
        log.debug("income_updated %s for %s: %s", ev.id, household_id, outcome or "no warning change")

    return handle


def on_plan_created(ctx: ServiceContext) -> Handler:
    """The plan's recommended measures, each `proposed`."""

    async def handle(uow: IdentificationUnitOfWork, ev: Event) -> None:
        household_id, village = household_and_village(ev)
        d = contracts.read(ev, _PlanCreated)
        at = ctx.now()
        for m in d.measures:
            cmd = RecordMeasure(
                household_id=household_id,
                region_code=village,
                measure_id=m.id,
                status="proposed",
                plan_id=d.plan_id,
                type_=m.type,
                on=event_day(ev),
                at=at,
            )
            await record_measure(uow.loops, cmd)

    return handle


def on_plan_drawn_up(ctx: ServiceContext) -> Handler:
    """`drawn_up_on`: the day the first measure was accepted — measures in place since."""

    async def handle(uow: IdentificationUnitOfWork, ev: Event) -> None:
        household_id, village = household_and_village(ev)
        on = contracts.read(ev, _PlanDrawnUp).drawn_up_on
        await record_measures_since(uow.loops, RecordMeasuresSince(household_id, village, on, ctx.now()))

    return handle


def on_measure_status_changed(ctx: ServiceContext) -> Handler:
    async def handle(uow: IdentificationUnitOfWork, ev: Event) -> None:
        household_id, village = household_and_village(ev)
        d = contracts.read(ev, _MeasureStatusChanged)
        if not d.measure_id or not d.to:
            raise PoisonEvent(f"{ev.type} {ev.id}: no measure_id or to")
        cmd = RecordMeasure(
            household_id=household_id,
            region_code=village,
            measure_id=d.measure_id,
            status=d.to,
            plan_id=d.plan_id,
            type_=d.type,
            on=d.on or event_day(ev),
            at=ctx.now(),
        )
        await record_measure(uow.loops, cmd)

    return handle


def on_measures(ctx: ServiceContext) -> Handler:
    """One durable consumer for the measure events, so that they are handled in their order."""
    handlers = {
        "plan_created": on_plan_created(ctx),
        "plan_drawn_up": on_plan_drawn_up(ctx),
        "measure_status_changed": on_measure_status_changed(ctx),
    }

    async def handle(uow: IdentificationUnitOfWork, ev: Event) -> None:
        handler = handlers.get(ev.name)
        if handler is not None:
            await handler(uow, ev)

    return handle


def on_offers_refused(ctx: ServiceContext) -> Handler:
    """A member refused three job offers without a valid reason (assistance): the household is
    flagged `refuses_work` on the negative list, with the recommendation ids behind it."""

    async def handle(uow: IdentificationUnitOfWork, ev: Event) -> None:
        household_id, _village = household_and_village(ev)
        d = contracts.read(ev, _OffersRefused)
        if not d.person_ref or not d.recommendation_ids:
            raise PoisonEvent(f"{ev.type} {ev.id}: no person_ref or recommendation_ids")
        at = ctx.now()
        cmd = OffersRefused(
            household_id=household_id,
            person_ref=d.person_ref,
            refusals=d.refusals or len(d.recommendation_ids),
            recommendation_ids=d.recommendation_ids,
            decided_on=d.decided_at.date() if d.decided_at else event_day(ev),
            event_id=ev.id,
            at=at,
        )
        flagged = await apply_offers_refused(ctx, uow, cmd)
        log.info("offers_refused %s for %s: %s", ev.id, household_id, "flagged" if flagged else "no change")

    return handle


def _service_uow(build: Callable[[ServiceContext], Handler]) -> Callable[[ServiceContext], EventHandler]:
    """The inbox consumer hands a `shared.db.UnitOfWork`: the service's (`ctx.uow`), with its repositories."""

    def built(ctx: ServiceContext) -> EventHandler:
        handler = build(ctx)

        async def handle(uow: UnitOfWork, ev: Event) -> None:
            await handler(cast(IdentificationUnitOfWork, uow), ev)

        return handle

    return built


CONSUMERS = [
    ConsumerSpec("income-updated", ["fangfan.assistance.income_updated.>"], _service_uow(on_income_updated)),
    ConsumerSpec(
        "measures",
        [
            "fangfan.assistance.plan_created.>",
            "fangfan.assistance.plan_drawn_up.>",
            "fangfan.assistance.measure_status_changed.>",
        ],
        _service_uow(on_measures),
    ),
    ConsumerSpec("offers-refused", ["fangfan.employment.offers_refused.>"], _service_uow(on_offers_refused)),
]
