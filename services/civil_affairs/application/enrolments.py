"""Use cases of enrolments in dibao / 特困: opening one on county approval (or registering an
existing recipient), reading and listing them, re-checks (动态复核) and the due list, voluntary
exit, the monthly payment run (`social_assistance.payment_ordered`, payments contract), the
subsidy decision that records an order, and the sanction after three refused job offers."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from services.civil_affairs.application.ports import PaymentOrder, StaleVersion, Work
from services.civil_affairs.domain.applications import Application
from services.civil_affairs.domain.enrolments import (
    Enrolment,
    EnrolmentRefused,
    EnrolmentStatus,
    add_months,
    close_after,
    exclude_member,
    month_of,
    next_recheck,
    plan_payment,
    record_recheck,
    set_suspended,
    start_voluntary_exit,
)
from services.civil_affairs.domain.programmes import MemberFacts, Programme
from shared.auth import Principal
from shared.errors import Conflict, FieldError, NotFound, Unprocessable
from shared.events import Event
from shared.identifiers import region_within
from shared.pages import OffsetPage

__all__ = [
    "EnrolmentPage",
    "ExcludeRefusingMember",
    "ListEnrolments",
    "ListPayments",
    "ListRechecksDue",
    "PaymentPage",
    "PaymentRun",
    "RecheckDue",
    "RecheckRecorded",
    "RechecksDue",
    "RecordPaymentDecision",
    "RecordRecheck",
    "RegisterEnrolment",
    "RunPayments",
    "SetSuspension",
    "StartVoluntaryExit",
    "enrol_approved",
    "get_enrolment",
    "jurisdiction_prefix",
    "list_enrolments",
    "list_payments",
    "offers_refused",
    "parse_period",
    "payment_recorded",
    "recheck",
    "rechecks_due",
    "register_existing",
    "run_payments",
    "suspend",
    "voluntary_exit",
]

DOMAIN = "social_assistance"
MAX_PAGE_SIZE = 200


def _event(name: str, e: Enrolment, **data: Any) -> Event:
    return Event(
        domain=DOMAIN,
        name=name,
        subject=e.household_id,
        region=e.region_code,
        data={
            "enrolment_id": e.id,
            "household_id": e.household_id,
            "region_code": e.region_code,
            "programme": str(e.programme),
            **data,
        },
        source="civil_affairs",
    )


def _visible(e: Enrolment, principal: Principal) -> bool:
    return principal.is_officer and region_within(e.region_code, principal.region)


async def _save(work: Work, before: Enrolment, after: Enrolment) -> None:
    try:
        await work.enrolments.save(after, expected_version=before.version)
    except StaleVersion:
        raise Conflict("the enrolment changed meanwhile; read it again", code="version_conflict") from None


def _refused(exc: EnrolmentRefused) -> Conflict:
    return Conflict(exc.message, code=exc.rule, rule=exc.rule, source=exc.source or None)


async def _open(
    work: Work,
    *,
    household_id: str,
    region_code: str,
    programme: Programme,
    members: tuple[MemberFacts, ...],
    household_size: int,
    per_capita_income: Decimal,
    rule: str,
    start_month: str,
    stable_income: bool,
    by: str,
    role: str,
    at: dt.datetime,
    application_id: str | None,
    how: str,
) -> Enrolment:
    for other in await work.enrolments.open_for_household(household_id):
        if other.programme is programme:
            raise Conflict(
                f"the household is already enrolled in {programme} ({other.id})",
                code="already_enrolled",
                rule="already_enrolled",
            )
    policy = await work.policy(region_code, at.date())
    due, schedule = next_recheck(programme, members, stable_income, policy, at.date())
    e = Enrolment(
        id=str(uuid.uuid4()),
        household_id=household_id,
        region_code=region_code,
        programme=programme,
        members=members,
        household_size=household_size,
        per_capita_income_annual=per_capita_income,
        rule=rule,
        start_month=start_month,
        status=EnrolmentStatus.ACTIVE,
        next_recheck_on=due,
        approved_by=by,
        approved_role=role,
        approved_at=at,
        application_id=application_id,
        stable_income=stable_income,
        history=(
            {
                "action": how,
                "by": by,
                "role": role,
                "at": at.isoformat(),
                "rule": rule,
                "start_month": start_month,
                "next_recheck_on": due.isoformat(),
                "schedule": schedule,
            },
        ),
    )
    await work.enrolments.add(e)
    work.add_event(
        _event(
            "enrolled",
            e,
            application_id=application_id,
            members=len(members),
            rule=rule,
            start_month=start_month,
            per_capita_income_annual=str(per_capita_income),
        )
    )
    return e


async def enrol_approved(work: Work, app: Application, *, by: str, role: str, at: dt.datetime) -> Enrolment:
    """County approval opens the enrolment from the month after approval (the benefit month)."""
    covered = set(app.decision.covered)
    members = tuple(m for m in app.facts.members if m.person_ref in covered)
    return await _open(
        work,
        household_id=app.household_id,
        region_code=app.region_code,
        programme=app.programme,
        members=members,
        household_size=len(app.facts.members),
        per_capita_income=app.decision.per_capita_income_annual,
        rule=app.decision.rule,
        start_month=add_months(month_of(at.date()), 1),
        stable_income=False,
        by=by,
        role=role,
        at=at,
        application_id=app.id,
        how="enrolled_on_approval",
    )


@dataclass(frozen=True, slots=True)
class RegisterEnrolment:
    """An officer registers a household already receiving dibao / 特困 (before fangfan)."""

    principal: Principal
    household_id: str
    region_code: str
    programme: Programme
    members: tuple[MemberFacts, ...]
    household_size: int
    per_capita_income_annual: Decimal
    start_month: str
    stable_income: bool
    single_person: bool
    at: dt.datetime


async def register_existing(cmd: RegisterEnrolment, work: Work) -> Enrolment:
    p = cmd.principal
    if p.role not in ("township", "county", "admin") or not p.sees(cmd.region_code):
        raise NotFound("no such region in your jurisdiction")
    rule = (
        "tekun_conditions_met"
        if cmd.programme is Programme.TEKUN
        else ("dibao_single_person" if cmd.single_person else "dibao_income_below_standard")
    )
    e = await _open(
        work,
        household_id=cmd.household_id,
        region_code=cmd.region_code,
        programme=cmd.programme,
        members=cmd.members,
        household_size=cmd.household_size,
        per_capita_income=cmd.per_capita_income_annual,
        rule=rule,
        start_month=cmd.start_month,
        stable_income=cmd.stable_income,
        by=p.sub,
        role=p.role,
        at=cmd.at,
        application_id=None,
        how="registered_existing",
    )
    await work.commit(e)
    return e


async def get_enrolment(work: Work, principal: Principal, enrolment_id: str) -> Enrolment:
    e = await work.enrolments.get(enrolment_id)
    if e is None or not _visible(e, principal):
        raise NotFound("no such enrolment")
    return e


def jurisdiction_prefix(principal: Principal, region: str | None) -> str:
    prefix = region or principal.region
    if principal.role != "admin" and not region_within(prefix, principal.region):
        raise NotFound("no such region in your jurisdiction")
    return prefix


@dataclass(frozen=True, slots=True)
class ListEnrolments:
    principal: Principal
    region: str | None = None
    status: str | None = None  # a status, or several comma-separated
    programme: str | None = None
    household_id: str | None = None
    page: int = 1
    page_size: int = 50


EnrolmentPage = OffsetPage[Enrolment]


async def list_enrolments(cmd: ListEnrolments, work: Work) -> EnrolmentPage:
    size = min(cmd.page_size, MAX_PAGE_SIZE)
    items, total = await work.enrolments.page(
        region_prefix=jurisdiction_prefix(cmd.principal, cmd.region),
        status=cmd.status,
        programme=cmd.programme,
        household_id=cmd.household_id,
        page=cmd.page,
        page_size=size,
    )
    return EnrolmentPage(items=list(items), total=total, page=cmd.page, page_size=size)


@dataclass(frozen=True, slots=True)
class ListRechecksDue:
    principal: Principal
    before: dt.date
    region: str | None = None


@dataclass(frozen=True, slots=True)
class RecheckDue:
    enrolment_id: str
    household_id: str
    region_code: str
    programme: str
    status: str
    next_recheck_on: dt.date
    schedule: Any  # the schedule recorded with the last due date set (e.g. "monthly"), if any


@dataclass(frozen=True, slots=True)
class RechecksDue:
    due_before: dt.date
    items: list[RecheckDue]

    @property
    def total(self) -> int:
        return len(self.items)


async def rechecks_due(cmd: ListRechecksDue, work: Work) -> RechecksDue:
    items = await work.enrolments.due_for_recheck(
        region_prefix=jurisdiction_prefix(cmd.principal, cmd.region), before=cmd.before
    )
    return RechecksDue(
        due_before=cmd.before,
        items=[
            RecheckDue(
                enrolment_id=e.id,
                household_id=e.household_id,
                region_code=e.region_code,
                programme=str(e.programme),
                status=str(e.status),
                next_recheck_on=e.next_recheck_on,
                schedule=next((h.get("schedule") for h in reversed(e.history) if h.get("schedule")), None),
            )
            for e in items
        ],
    )


@dataclass(frozen=True, slots=True)
class RecordRecheck:
    principal: Principal
    enrolment_id: str
    at: dt.datetime
    per_capita_income_annual: Decimal | None = None
    tekun_conditions_hold: bool | None = None
    note: str | None = None
    version: int | None = None


async def _get_for_write(work: Work, principal: Principal, enrolment_id: str, version: int | None) -> Enrolment:
    e = await work.enrolments.get(enrolment_id)
    if e is None or not _visible(e, principal):
        raise NotFound("no such enrolment")
    if principal.role not in ("township", "county", "admin"):
        raise Conflict(
            f"a {principal.role} may not change an enrolment", code="role_not_allowed", rule="role_not_allowed"
        )
    if version is not None and version != e.version:
        raise Conflict(f"the enrolment is at version {e.version}", code="version_conflict")
    return e


@dataclass(frozen=True, slots=True)
class RecheckRecorded:
    enrolment: Enrolment
    outcome: str  # continues | amount_changed | gradual_exit | exited (domain record_recheck)


async def recheck(cmd: RecordRecheck, work: Work) -> RecheckRecorded:
    e = await _get_for_write(work, cmd.principal, cmd.enrolment_id, cmd.version)
    policy = await work.policy(e.region_code, cmd.at.date())
    try:
        after, outcome = record_recheck(
            e,
            per_capita_income_annual=cmd.per_capita_income_annual,
            tekun_conditions_hold=cmd.tekun_conditions_hold,
            policy=policy,
            by=cmd.principal.sub,
            role=cmd.principal.role,
            at=cmd.at,
            note=cmd.note,
        )
    except EnrolmentRefused as exc:
        raise _refused(exc) from None
    await _save(work, e, after)
    if outcome == "gradual_exit":
        work.add_event(
            _event(
                "exit_started",
                after,
                kind="gradual",
                last_month=after.last_month,
                months=policy.int("gradual_exit_months"),
                source=policy.sources["gradual_exit_months"],
            )
        )
    elif outcome == "exited":
        work.add_event(_event("exited", after, reason="tekun_conditions_no_longer_met", last_month=after.last_month))
    out = RecheckRecorded(enrolment=after, outcome=outcome)
    await work.commit(out)
    return out


@dataclass(frozen=True, slots=True)
class StartVoluntaryExit:
    principal: Principal
    enrolment_id: str
    at: dt.datetime
    months: int | None = None  # extra months (1 to the policy maximum)
    version: int | None = None


async def voluntary_exit(cmd: StartVoluntaryExit, work: Work) -> Enrolment:
    principal = cmd.principal
    e = await _get_for_write(work, principal, cmd.enrolment_id, cmd.version)
    policy = await work.policy(e.region_code, cmd.at.date())
    try:
        after = start_voluntary_exit(
            e, months=cmd.months, policy=policy, by=principal.sub, role=principal.role, at=cmd.at
        )
    except EnrolmentRefused as exc:
        raise _refused(exc) from None
    await _save(work, e, after)
    work.add_event(
        _event(
            "exit_started",
            after,
            kind="voluntary",
            last_month=after.last_month,
            months=after.history[-1]["months"],
            source=policy.sources["voluntary_exit_months_max"],
        )
    )
    await work.commit(after)
    return after


@dataclass(frozen=True, slots=True)
class SetSuspension:
    principal: Principal
    enrolment_id: str
    suspended: bool  # False: resume
    reason: str
    at: dt.datetime


async def suspend(cmd: SetSuspension, work: Work) -> Enrolment:
    p = cmd.principal
    e = await _get_for_write(work, p, cmd.enrolment_id, None)
    try:
        after = set_suspended(e, cmd.suspended, by=p.sub, role=p.role, at=cmd.at, reason=cmd.reason)
    except EnrolmentRefused as exc:
        raise _refused(exc) from None
    await _save(work, e, after)
    await work.commit(after)
    return after


@dataclass(frozen=True, slots=True)
class RunPayments:
    period: str
    region_prefix: str
    at: dt.datetime
    by: str = "payments"
    role: str = "county"


@dataclass(frozen=True, slots=True)
class PaymentRun:
    """What one run of a month did: orders written, enrolments already ordered for the month, not
    payable in it, and exits closed."""

    period: str
    region: str
    ordered: int = 0
    already_ordered: int = 0
    not_payable: int = 0
    exited: int = 0


async def run_payments(cmd: RunPayments, work: Work) -> PaymentRun:
    """The monthly run: one order per payable enrolment for the period (at most one: re-running is
    harmless), each with its `payment_ordered` event in the same transaction; exits whose last
    month is ordered (or past) are closed."""
    counts = {"ordered": 0, "already_ordered": 0, "not_payable": 0, "exited": 0}
    for e in await work.enrolments.open_in(region_prefix=cmd.region_prefix):
        current = e
        if e.last_month is not None and cmd.period > e.last_month:
            current = close_after(e, e.last_month, cmd.at)
            await _save(work, e, current)
            work.add_event(_event("exited", current, reason=e.exit_kind, last_month=e.last_month))
            counts["exited"] += 1
            continue
        plan = plan_payment(e, cmd.period)
        if plan is None:
            counts["not_payable"] += 1
            continue
        order = PaymentOrder(
            id=str(uuid.uuid4()),
            enrolment_id=e.id,
            period=cmd.period,
            kind=plan.kind,
            household_id=e.household_id,
            region_code=e.region_code,
            status="ordered",
            inputs=plan.inputs,
            funding_source=plan.funding_source,
            created_at=cmd.at,
        )
        if not await work.payments.add(order):
            counts["already_ordered"] += 1
            continue
        counts["ordered"] += 1
        work.add_event(
            Event(
                domain=DOMAIN,
                name="payment_ordered",
                subject=e.household_id,
                region=e.region_code,
                data={
                    "payment_id": order.id,
                    "household_id": e.household_id,
                    "region_code": e.region_code,
                    "kind": plan.kind,
                    "period": cmd.period,
                    "inputs": plan.inputs,
                    "funding_source": plan.funding_source,
                    "reference": {"kind": "enrolment", "id": e.id},
                    "approved_by": e.approved_by,
                    "approved_role": "county" if e.approved_role in ("county", "admin", "province") else "township",
                    "approved_at": e.approved_at.isoformat(),
                    "as_of": cmd.at.date().isoformat(),
                },
                source="civil_affairs",
            )
        )
        if plan.closes:
            closed = close_after(e, cmd.period, cmd.at)
            await _save(work, e, closed)
            work.add_event(_event("exited", closed, reason=e.exit_kind, last_month=cmd.period))
            counts["exited"] += 1
    out = PaymentRun(
        period=cmd.period,
        region=cmd.region_prefix,
        ordered=counts["ordered"],
        already_ordered=counts["already_ordered"],
        not_payable=counts["not_payable"],
        exited=counts["exited"],
    )
    await work.commit(out)
    return out


@dataclass(frozen=True, slots=True)
class ListPayments:
    principal: Principal
    region: str | None = None
    period: str | None = None
    enrolment_id: str | None = None
    page: int = 1
    page_size: int = 50


PaymentPage = OffsetPage[PaymentOrder]


async def list_payments(cmd: ListPayments, work: Work) -> PaymentPage:
    size = min(cmd.page_size, MAX_PAGE_SIZE)
    items, total = await work.payments.page(
        region_prefix=jurisdiction_prefix(cmd.principal, cmd.region),
        period=cmd.period,
        enrolment_id=cmd.enrolment_id,
        page=cmd.page,
        page_size=size,
    )
    return PaymentPage(items=list(items), total=total, page=cmd.page, page_size=size)


@dataclass(frozen=True, slots=True)
class RecordPaymentDecision:
    """Subsidy decided on a payment order (`subsidy.decision_*`): the order is recorded with the
    decision and the amount subsidy computed."""

    payment_id: str
    decision_id: str
    decision_state: str
    amount: str  # as the event gives it: a non-decimal amount on one of our orders is refused
    at: dt.datetime


async def payment_recorded(cmd: RecordPaymentDecision, work: Work) -> bool:
    """The order is `recorded` with the decision id and the amount (subsidy computed it). False:
    not one of our orders (a decision for another service's payment). Raises ValueError on an
    order of ours without a decimal amount (a poison event)."""
    order = await work.payments.get(cmd.payment_id)
    if order is None:
        return False
    try:
        amount = str(Decimal(cmd.amount).quantize(Decimal("0.01")))
    except (InvalidOperation, ValueError):
        raise ValueError("subsidy decision without a decimal amount") from None
    await work.payments.mark_recorded(
        cmd.payment_id, decision_id=cmd.decision_id, decision_state=cmd.decision_state, amount=amount, at=cmd.at
    )
    await work.commit()
    return True


@dataclass(frozen=True, slots=True)
class ExcludeRefusingMember:
    """`employment.offers_refused`: a covered person refused suitable job offers without valid reason."""

    household_id: str
    person_ref: str
    refusals: int
    recommendation_ids: tuple[str, ...]
    at: dt.datetime


async def offers_refused(cmd: ExcludeRefusingMember, work: Work) -> int:
    """The person's own dibao share stops in each open dibao enrolment of the household that covers
    them (excluded_members + 1), with the explanation in its history. Returns how many changed."""
    changed = 0
    for e in await work.enrolments.open_for_household(cmd.household_id):
        after, did = exclude_member(
            e,
            person_ref=cmd.person_ref,
            refusals=cmd.refusals,
            recommendation_ids=list(cmd.recommendation_ids),
            at=cmd.at,
        )
        if not did:
            continue
        await _save(work, e, after)
        work.add_event(
            _event(
                "member_excluded",
                after,
                person_ref=cmd.person_ref,
                excluded_members=len(after.excluded_members),
                rule="three_refused_job_offers",
                source=after.history[-1]["source"],
            )
        )
        changed += 1
    await work.commit()
    return changed


def parse_period(period: str) -> str:
    if len(period) != 7 or period[4] != "-" or not (period[:4].isdigit() and period[5:].isdigit()):
        raise Unprocessable("period is YYYY-MM", errors=[FieldError("period", "YYYY-MM", "pattern")])
    if not 1 <= int(period[5:]) <= 12:
        raise Unprocessable("period is YYYY-MM", errors=[FieldError("period", "month 01–12", "pattern")])
    return period
