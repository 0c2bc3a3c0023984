"""Consumers of assistance's events (contract in docs/procedure.md "The loops"). Each handler
runs in the inbox consumer's transaction: a redelivered event finds its inbox row and has no
second effect. Events that can never be handled (no household id, no 12-digit village, no
date where one is needed) are poison → dead letters."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from services.identification.adapters.unit_of_work import IdentificationUnitOfWork
from services.identification.application.loops import (
    apply_income_update,
    income_of,
    record_measure,
    record_measures_since,
)
from services.identification.application.negative_flags import apply_offers_refused
from shared.app import ConsumerSpec, ServiceContext
from shared.consumer import PoisonEvent, event_date, event_day, household_and_village
from shared.events import Event

__all__ = ["CONSUMERS"]

log = logging.getLogger("fangfan.identification.consumers")
#: the consumer's unit of work is the service's (`ctx.uow`): its repositories are there
Handler = Callable[[IdentificationUnitOfWork, Event], Awaitable[None]]


def on_income_updated(ctx: ServiceContext) -> Handler:
    """A visit's income update: the household's stored income and its re-assessment."""

    async def handle(uow: IdentificationUnitOfWork, ev: Event) -> None:
        household_id, _village = household_and_village(ev)
        income = income_of(ev.data)
        if not income:
            raise PoisonEvent(f"{ev.type} {ev.id}: no income amount")
        visited_on = event_date(ev.data.get("visited_on")) or event_day(ev)
        outcome = await apply_income_update(
            ctx,
            uow,
            household_id=household_id,
            income=income,
            visited_on=visited_on,
            visit_id=str(ev.data.get("visit_id") or "") or None,
            at=ctx.now(),
        )
        log.debug("income_updated %s for %s: %s", ev.id, household_id, outcome or "no warning change")

    return handle


def on_plan_created(ctx: ServiceContext) -> Handler:
    """The plan's recommended measures, each `proposed`."""

    async def handle(uow: IdentificationUnitOfWork, ev: Event) -> None:
        household_id, village = household_and_village(ev)
        at = ctx.now()
        for m in ev.data.get("measures") or []:
            if isinstance(m, dict) and m.get("id"):
                await record_measure(
                    uow.loops,
                    household_id=household_id,
                    region_code=village,
                    measure_id=str(m["id"]),
                    status="proposed",
                    plan_id=ev.data.get("plan_id"),
                    type_=m.get("type"),
                    on=event_day(ev),
                    at=at,
                )

    return handle


def on_plan_drawn_up(ctx: ServiceContext) -> Handler:
    """`drawn_up_on`: the day the first measure was accepted — measures in place since."""

    async def handle(uow: IdentificationUnitOfWork, ev: Event) -> None:
        household_id, village = household_and_village(ev)
        on = event_date(ev.data.get("drawn_up_on"))
        if on is None:
            raise PoisonEvent(f"{ev.type} {ev.id}: no drawn_up_on")
        await record_measures_since(uow.loops, household_id, village, on, ctx.now())

    return handle


def on_measure_status_changed(ctx: ServiceContext) -> Handler:
    async def handle(uow: IdentificationUnitOfWork, ev: Event) -> None:
        household_id, village = household_and_village(ev)
        d = ev.data
        measure_id, status = d.get("measure_id"), d.get("to")
        if not measure_id or not status:
            raise PoisonEvent(f"{ev.type} {ev.id}: no measure_id or to")
        await record_measure(
            uow.loops,
            household_id=household_id,
            region_code=village,
            measure_id=str(measure_id),
            status=str(status),
            plan_id=d.get("plan_id"),
            type_=d.get("type"),
            on=event_date(d.get("on")) or event_day(ev),
            at=ctx.now(),
        )

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
        d = ev.data
        person_ref, ids = d.get("person_ref"), d.get("recommendation_ids")
        if not person_ref or not isinstance(ids, list) or not ids:
            raise PoisonEvent(f"{ev.type} {ev.id}: no person_ref or recommendation_ids")
        at = ctx.now()
        decided = d.get("decided_at")
        try:
            decided_on = dt.datetime.fromisoformat(str(decided)).date() if decided else event_day(ev)
        except ValueError:
            raise PoisonEvent(f"{ev.type} {ev.id}: decided_at must be an ISO datetime") from None
        flagged = await apply_offers_refused(
            ctx,
            uow,
            household_id=household_id,
            person_ref=str(person_ref),
            refusals=int(d.get("refusals") or len(ids)),
            recommendation_ids=[str(i) for i in ids],
            decided_on=decided_on,
            event_id=ev.id,
            at=at,
        )
        log.info("offers_refused %s for %s: %s", ev.id, household_id, "flagged" if flagged else "no change")

    return handle


CONSUMERS = [
    ConsumerSpec("income-updated", ["fangfan.assistance.income_updated.>"], on_income_updated),
    ConsumerSpec(
        "measures",
        [
            "fangfan.assistance.plan_created.>",
            "fangfan.assistance.plan_drawn_up.>",
            "fangfan.assistance.measure_status_changed.>",
        ],
        on_measures,
    ),
    ConsumerSpec("offers-refused", ["fangfan.employment.offers_refused.>"], on_offers_refused),
]
