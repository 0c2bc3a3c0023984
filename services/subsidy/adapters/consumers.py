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
from dataclasses import dataclass
from typing import Any

from services.subsidy.adapters.idempotent import unit_of_work
from services.subsidy.application.decisions import Approval, DecisionCommand, record_decision
from shared import contracts
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


_view = dataclass(frozen=True, slots=True, kw_only=True)


@contracts.reads("subsidy.placements", "assistance.placement_recorded")
@_view
class _Placement:
    """The rule inputs go through as they are: the rules engine names a bad one (`inputs.age`)."""

    person_ref: str
    region_code: str
    placed_on: dt.date
    household_id: str | None = None
    work_location: Any = None
    contract_months: Any = None
    social_insurance: Any = None
    epidemic_period: Any = None
    stable_months: Any = None
    age: Any = None


@contracts.reads("subsidy.post-wages", "assistance.post_wage_recorded")
@_view
class _PostWage:
    person_ref: str
    region_code: str
    year: int
    annual_wage: Any = None
    household_id: str | None = None


@_view
class _Reference:
    kind: str
    id: str


@contracts.reads("subsidy.payment-orders", "social_assistance.payment_ordered")
@_view
class _PaymentOrdered:
    payment_id: str
    kind: str
    region_code: str
    as_of: dt.date
    inputs: dict[str, Any]
    reference: _Reference
    funding_source: str
    approved_by: str
    approved_role: str
    approved_at: dt.datetime
    household_id: str | None = None


def _text(value: str, name: str) -> str:
    if not value.strip():
        raise PoisonEvent(f"data.{name} is required")
    return value.strip()


def placement_command(ev: Event) -> DecisionCommand:
    v = contracts.read(ev, _Placement)
    inputs: dict[str, Any] = {"person_id": _text(v.person_ref, "person_ref")}
    for name in _PLACEMENT_FIELDS:
        if getattr(v, name) is not None:
            inputs[name] = getattr(v, name)
    return DecisionCommand(
        kind="transport_allowance",
        region_code=_text(v.region_code, "region_code"),
        as_of=v.placed_on,
        inputs=inputs,
        household_id=v.household_id,
        note=f"proposed from assistance event {ev.id} (job placement)",
        origin="event",
        origin_event_id=ev.id,
    )


def post_wage_command(ev: Event) -> DecisionCommand:
    v = contracts.read(ev, _PostWage)
    if not 2000 <= v.year <= 2100:
        raise PoisonEvent("data.year must be a calendar year")
    inputs = {"person_id": _text(v.person_ref, "person_ref"), "annual_wage": v.annual_wage}
    return DecisionCommand(
        kind="public_welfare_post",
        region_code=_text(v.region_code, "region_code"),
        # The post subsidy is annual: it is decided under the policy in force at the year's end
        # and counts against that calendar year's cap.
        as_of=dt.date(v.year, 12, 31),
        inputs=inputs,
        household_id=v.household_id,
        note=f"proposed from assistance event {ev.id} (public-welfare post wage for {v.year})",
        origin="event",
        origin_event_id=ev.id,
    )


def _choice(value: str, name: str, allowed: frozenset[str]) -> str:
    value = _text(value, name)
    if value not in allowed:
        raise PoisonEvent(f"data.{name} must be one of {', '.join(sorted(allowed))}")
    return value


def payment_command(ev: Event) -> DecisionCommand:
    """The decision a payment order asks for (contract: /work/briefs/payments-contract.md)."""
    v = contracts.read(ev, _PaymentOrdered)
    payment_id = _text(v.payment_id, "payment_id")
    kind = _choice(v.kind, "kind", _PAYMENT_KINDS)
    reference = v.reference
    if not reference.kind or not reference.id:
        raise PoisonEvent("data.reference must be {kind, id}")
    household_id = v.household_id or None
    # a relief for a household not (yet) on file is recorded against its civil-affairs request
    subject = household_id or f"{reference.kind}:{reference.id}"
    return DecisionCommand(
        kind=kind,
        region_code=_text(v.region_code, "region_code"),
        as_of=v.as_of,
        inputs={**v.inputs, "household_id": v.inputs.get("household_id") or subject},
        household_id=household_id,
        note=f"ordered by civil affairs: payment {payment_id} ({reference.kind} {reference.id})",
        origin="event",
        origin_event_id=ev.id,
        payment_id=payment_id,
        reference={"kind": reference.kind, "id": reference.id},
        funding_source=_choice(v.funding_source, "funding_source", _PAYMENT_FUNDING),
        approval=Approval(
            by=_text(v.approved_by, "approved_by"),
            role=_choice(v.approved_role, "approved_role", _APPROVER_ROLES),
            at=v.approved_at,
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
        log.info(
            "event %s: payment %s recorded as decision %s (%s)", ev.id, cmd.payment_id, read.id, f"{read.amount:.2f}"
        )

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
        log.info("event %s: %s decision %s for %s", ev.id, cmd.kind, read.id, f"{read.amount:.2f}")

    return handle


def consumer_specs() -> list[ConsumerSpec]:
    return [
        ConsumerSpec("placements", [PLACEMENT_SUBJECT], handler=lambda ctx: _handler(ctx, placement_command)),
        ConsumerSpec("post-wages", [POST_WAGE_SUBJECT], handler=lambda ctx: _handler(ctx, post_wage_command)),
        ConsumerSpec("payment-orders", [PAYMENT_SUBJECT], handler=_payment_handler),
    ]
