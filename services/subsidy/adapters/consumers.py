"""Event consumers: a job placement recorded by the assistance service proposes a transport
allowance; a public-welfare post wage record proposes the post subsidy. Each becomes a decision
in state `calculated` (for an officer to approve), once per event (the inbox absorbs redelivery).

Not every event yields a decision: nothing payable (e.g. work inside the county) or a rule
across decisions (the one-off allowance already granted) is logged and acknowledged; payloads
that can never be calculated (bad fields, no policy) are dead-lettered as poison."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from services.subsidy.application.decisions import DecisionCommand, record_decision
from shared.app import ConsumerSpec, ServiceContext
from shared.consumer import EventHandler, PoisonEvent
from shared.db import UnitOfWork
from shared.errors import Conflict, DomainError
from shared.events import Event

__all__ = ["PLACEMENT_SUBJECT", "POST_WAGE_SUBJECT", "consumer_specs"]

log = logging.getLogger("fangfan.subsidy.consumers")

PLACEMENT_SUBJECT = "fangfan.assistance.placement_recorded.>"
POST_WAGE_SUBJECT = "fangfan.assistance.post_wage_recorded.>"
_PLACEMENT_FIELDS = ("work_location", "contract_months", "social_insurance", "epidemic_period", "stable_months", "age")


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise PoisonEvent(f"data.{name} is required")
    return value.strip()


def _date(data: dict[str, Any], name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(_text(data, name))
    except ValueError:
        raise PoisonEvent(f"data.{name} must be an ISO date") from None


def placement_command(ev: Event) -> DecisionCommand:
    data = ev.data
    inputs: dict[str, Any] = {"person_id": _text(data, "person_ref")}
    for name in _PLACEMENT_FIELDS:
        if data.get(name) is not None:
            inputs[name] = data[name]
    return DecisionCommand(
        kind="transport_allowance",
        region_code=_text(data, "region_code"),
        as_of=_date(data, "placed_on"),
        inputs=inputs,
        household_id=data.get("household_id"),
        note=f"proposed from assistance event {ev.id} (job placement)",
        origin="event",
        origin_event_id=ev.id,
    )


def post_wage_command(ev: Event) -> DecisionCommand:
    data = ev.data
    year = data.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise PoisonEvent("data.year must be a calendar year")
    inputs = {"person_id": _text(data, "person_ref"), "annual_wage": data.get("annual_wage")}
    return DecisionCommand(
        kind="public_welfare_post",
        region_code=_text(data, "region_code"),
        # The post subsidy is annual: it is decided under the policy in force at the year's end
        # and counts against that calendar year's cap.
        as_of=dt.date(year, 12, 31),
        inputs=inputs,
        household_id=data.get("household_id"),
        note=f"proposed from assistance event {ev.id} (public-welfare post wage for {year})",
        origin="event",
        origin_event_id=ev.id,
    )


def _handler(ctx: ServiceContext, build: Callable[[Event], DecisionCommand]) -> EventHandler:
    async def handle(uow: UnitOfWork, ev: Event) -> None:
        cmd = build(ev)
        store = ctx.state["policy_store"]
        try:
            # A savepoint: a refusal must not undo the other events of the batch.
            async with uow.session.begin_nested():
                read = await record_decision(
                    uow, store, cmd, by=f"event:{ev.source or 'assistance'}", role="system", require_payable=True
                )
        except Conflict as exc:
            log.info("event %s: no %s decision: %s", ev.id, cmd.kind, exc.detail)
            return
        except DomainError as exc:
            paths = ", ".join(f"{e['path']}: {e['message']}" for e in exc.extra.get("errors") or [])
            raise PoisonEvent(f"{exc.code}: {paths or exc.detail}") from None
        log.info("event %s: %s decision %s for %s", ev.id, cmd.kind, read["id"], read["amount"])

    return handle


def consumer_specs() -> list[ConsumerSpec]:
    return [
        ConsumerSpec("placements", [PLACEMENT_SUBJECT], handler=lambda ctx: _handler(ctx, placement_command)),
        ConsumerSpec("post-wages", [POST_WAGE_SUBJECT], handler=lambda ctx: _handler(ctx, post_wage_command)),
    ]
