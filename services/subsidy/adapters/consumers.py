"""Event consumers: a job placement recorded by the assistance service proposes a transport
allowance; a public-welfare post wage record proposes the post subsidy. Each becomes a decision
in state `calculated` (for an officer to approve), once per event (the inbox absorbs redelivery).

A civil-affairs payment order (`social_assistance.payment_ordered`: dibao or 特困 for a month,
temporary relief) becomes a decision already `approved` (civil affairs approved it), at most one
per `payment_id`, with the order's funding source; an order the rules refuse (a township relief
above its limit, inputs that do not calculate) is answered with `subsidy.decision_refused`
naming the `payment_id` (docs/subsidy.md "Payment orders").

Not every event yields a decision: nothing payable (e.g. work inside the county) or a rule
across decisions (the one-off allowance already granted) is logged and acknowledged; payloads
that can never be calculated (bad fields, no policy) are dead-lettered as poison."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from services.subsidy.adapters.idempotent import unit_of_work
from services.subsidy.application.decisions import Approval, DecisionCommand, record_decision
from shared.app import ConsumerSpec, ServiceContext
from shared.consumer import EventHandler, PoisonEvent
from shared.db import UnitOfWork
from shared.errors import Conflict, DomainError
from shared.events import Event

__all__ = ["PAYMENT_SUBJECT", "PLACEMENT_SUBJECT", "POST_WAGE_SUBJECT", "consumer_specs", "payment_command"]

log = logging.getLogger("fangfan.subsidy.consumers")

PLACEMENT_SUBJECT = "fangfan.assistance.placement_recorded.>"
POST_WAGE_SUBJECT = "fangfan.assistance.post_wage_recorded.>"
PAYMENT_SUBJECT = "fangfan.social_assistance.payment_ordered.>"
_PAYMENT_KINDS = frozenset({"dibao_monthly", "tekun_monthly", "temporary_relief"})
_PAYMENT_FUNDING = frozenset({"dibao_fund", "tekun_fund", "temporary_relief_fund", "county_finance"})
_APPROVER_ROLES = frozenset({"township", "county", "province", "admin"})
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


def _choice(data: dict[str, Any], name: str, allowed: frozenset[str]) -> str:
    value = _text(data, name)
    if value not in allowed:
        raise PoisonEvent(f"data.{name} must be one of {', '.join(sorted(allowed))}")
    return value


def payment_command(ev: Event) -> DecisionCommand:
    """The decision a payment order asks for (contract: /work/briefs/payments-contract.md)."""
    data = ev.data
    payment_id = _text(data, "payment_id")
    kind = _choice(data, "kind", _PAYMENT_KINDS)
    inputs = data.get("inputs")
    reference = data.get("reference")
    if not isinstance(inputs, dict):
        raise PoisonEvent("data.inputs must be an object")
    if not isinstance(reference, dict) or not reference.get("kind") or not reference.get("id"):
        raise PoisonEvent("data.reference must be {kind, id}")
    try:
        approved_at = dt.datetime.fromisoformat(_text(data, "approved_at").replace("Z", "+00:00"))
    except ValueError:
        raise PoisonEvent("data.approved_at must be an ISO datetime") from None
    if approved_at.tzinfo is None:
        approved_at = approved_at.replace(tzinfo=dt.UTC)
    household_id = data.get("household_id") or None
    # a relief for a household not (yet) on file is recorded against its civil-affairs request
    subject = household_id or f"{reference['kind']}:{reference['id']}"
    return DecisionCommand(
        kind=kind,
        region_code=_text(data, "region_code"),
        as_of=_date(data, "as_of"),
        inputs={**inputs, "household_id": inputs.get("household_id") or subject},
        household_id=household_id,
        note=f"ordered by civil affairs: payment {payment_id} ({reference['kind']} {reference['id']})",
        origin="event",
        origin_event_id=ev.id,
        payment_id=payment_id,
        reference={"kind": str(reference["kind"]), "id": str(reference["id"])},
        funding_source=_choice(data, "funding_source", _PAYMENT_FUNDING),
        approval=Approval(
            by=_text(data, "approved_by"), role=_choice(data, "approved_role", _APPROVER_ROLES), at=approved_at
        ),
    )


def _refused(cmd: DecisionCommand, code: str, reason: str) -> Event:
    data = {
        "payment_id": cmd.payment_id,
        "reference": dict(cmd.reference or {}),
        "kind": cmd.kind,
        "household_id": cmd.household_id,
        "region_code": cmd.region_code,
        "as_of": cmd.as_of.isoformat(),
        "code": code,
        "reason": reason,
    }
    return Event(
        domain="subsidy",
        name="decision_refused",
        subject=cmd.household_id or str(cmd.payment_id),
        region=cmd.region_code,
        data=data,
        source="subsidy",
    )


def _payment_handler(ctx: ServiceContext) -> EventHandler:
    async def handle(uow: UnitOfWork, ev: Event) -> None:
        cmd = payment_command(ev)
        assert cmd.payment_id is not None
        work = unit_of_work(uow)
        earlier = await work.decisions.for_payment(cmd.payment_id)
        if earlier is not None:  # the same order sent twice (a new event id): one decision
            log.info("event %s: payment %s already recorded as decision %s", ev.id, cmd.payment_id, earlier.id)
            return
        try:
            async with uow.session.begin_nested():
                read = await record_decision(work, cmd, by=f"event:{ev.source or 'civil_affairs'}", role="system")
        except DomainError as exc:
            paths = "; ".join(f"{e['path']}: {e['message']}" for e in exc.extra.get("errors") or [])
            log.info("event %s: payment %s refused: %s", ev.id, cmd.payment_id, exc.code)
            uow.add_event(_refused(cmd, exc.code, paths or exc.detail))
            return
        log.info("event %s: payment %s recorded as decision %s (%s)", ev.id, cmd.payment_id, read["id"], read["amount"])

    return handle


def _handler(ctx: ServiceContext, build: Callable[[Event], DecisionCommand]) -> EventHandler:
    async def handle(uow: UnitOfWork, ev: Event) -> None:
        cmd = build(ev)
        try:
            # A savepoint: a refusal must not undo the other events of the batch.
            async with uow.session.begin_nested():
                read = await record_decision(
                    unit_of_work(uow), cmd, by=f"event:{ev.source or 'assistance'}", role="system", require_payable=True
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
        ConsumerSpec("payment-orders", [PAYMENT_SUBJECT], handler=_payment_handler),
    ]
