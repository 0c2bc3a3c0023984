"""Use cases on subsidy decisions, each one transaction on a unit of work: record a decision
(calculate, apply the rules across decisions under a per-subject lock, store the snapshot, emit
`subsidy.decision_calculated`), and move it through approve → pay, or reject.

Who may do what: any officer, department or admin within jurisdiction records and reads;
`county`, `province` and `admin` approve, pay and reject (DOMAIN.md §6: the approval is kept
with who and when)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.subsidy.application.ports import DecisionRow, Work
from services.subsidy.domain import (
    Decision,
    DecisionAction,
    DecisionEvent,
    DecisionState,
    DomainRefusal,
    SubsidyInputError,
    SubsidyKind,
    decision_subject,
    evaluate_decision,
)
from services.subsidy.domain.rounding import fen, yuan
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, FieldError, Forbidden, NotFound, Unprocessable
from shared.events import Event, PersonalDataInEvent, assert_no_personal_data
from shared.pii import mask_numbers_in_value

from .calculation import domain_error, run_calculation

__all__ = [
    "APPROVER_ROLES",
    "RECORDER_ROLES",
    "Approval",
    "DecisionCommand",
    "DecisionPage",
    "DecisionView",
    "ListDecisions",
    "PolicyClause",
    "StepDecision",
    "decide",
    "decision_view",
    "get_visible",
    "list_decisions",
    "read_decision",
    "record_decision",
    "transition",
]

RECORDER_ROLES = frozenset({"province", "county", "township", "village", "department", "admin"})
APPROVER_ROLES = frozenset({"province", "county", "admin"})
_EVENT_NAMES = {
    DecisionAction.APPROVE: "decision_approved",
    DecisionAction.PAY: "decision_paid",
    DecisionAction.REJECT: "decision_rejected",
}
_STEP_COLUMNS = {
    DecisionAction.APPROVE: ("approved_by", "approved_at"),
    DecisionAction.PAY: ("paid_by", "paid_at"),
    DecisionAction.REJECT: ("rejected_by", "rejected_at"),
}


@dataclass(frozen=True)
class Approval:
    """An approval given outside this service (civil affairs approved the payment it orders)."""

    by: str
    role: str
    at: dt.datetime


@dataclass(frozen=True)
class DecisionCommand:
    kind: str
    region_code: str
    as_of: dt.date
    inputs: Mapping[str, Any]
    household_id: str | None = None
    note: str | None = None
    origin: str = "api"
    origin_event_id: str | None = None
    #: A civil-affairs payment order (`social_assistance.payment_ordered`): its id (one decision
    #: per order), its reference, the funding source it names and the approval it carries.
    payment_id: str | None = None
    reference: Mapping[str, Any] | None = None
    funding_source: str | None = None
    approval: Approval | None = None


@dataclass(frozen=True)
class StepDecision:
    """Approve, pay or reject a decision (a rejection names its reason)."""

    decision_id: str
    action: DecisionAction
    principal: Principal
    reason: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class ListDecisions:
    principal: Principal
    region_prefix: str
    kind: str | None = None
    state: str | None = None
    subject_id: str | None = None
    household_id: str | None = None
    as_of_from: dt.date | None = None
    as_of_to: dt.date | None = None
    before_seq: int | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class PolicyClause:
    """The policy version and clause a decision rests on."""

    id: str
    version: str
    clause: str


@dataclass(frozen=True, slots=True)
class DecisionView:
    """A recorded decision as it is read back: amounts in Decimal yuan (whole fen as stored),
    times in UTC, the snapshot's JSON parts decoded, free text masked (rejection reason, history)."""

    id: str
    kind: str
    state: str
    subject_id: str
    region_code: str
    household_id: str | None
    as_of: dt.date
    amount: Decimal
    calculated_amount: Decimal
    funding_source: str | None
    policy: PolicyClause
    parameters: dict[str, Any]
    inputs: dict[str, Any]
    breakdown: list[dict[str, Any]]
    explanations: list[dict[str, Any]]
    rejection_reason: str | None
    origin: str
    origin_event_id: str | None
    created_by: str
    created_at: dt.datetime | None
    approved_by: str | None
    approved_at: dt.datetime | None
    paid_by: str | None
    paid_at: dt.datetime | None
    rejected_by: str | None
    rejected_at: dt.datetime | None
    history: list[dict[str, Any]]
    version: int
    payment_id: str | None
    reference: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class DecisionPage:
    """One page of decisions, newest first; `next_cursor` when there may be more."""

    items: list[DecisionView]
    next_cursor: int | None


def _money(amount_fen: int) -> str:
    return f"{yuan(amount_fen):.2f}"


def decision_view(row: DecisionRow) -> DecisionView:
    """A decision row (`ports.DecisionsRepository`) as its read model."""
    return DecisionView(
        id=row.id,
        kind=row.kind,
        state=row.state,
        subject_id=row.subject_id,
        region_code=row.region_code,
        household_id=row.household_id,
        as_of=row.as_of,
        amount=yuan(row.amount_fen),
        calculated_amount=yuan(row.calculated_fen),
        funding_source=row.funding_source,
        policy=PolicyClause(id=row.policy_id, version=row.policy_version, clause=row.clause),
        parameters=json.loads(row.parameters),
        inputs=json.loads(row.inputs),
        breakdown=json.loads(row.breakdown),
        explanations=json.loads(row.explanations),
        rejection_reason=mask_numbers_in_value(row.rejection_reason),  # masked when written; again here
        origin=row.origin,
        origin_event_id=row.origin_event_id,
        created_by=row.created_by,
        created_at=_utc(row.created_at),
        approved_by=row.approved_by,
        approved_at=_utc(row.approved_at),
        paid_by=row.paid_by,
        paid_at=_utc(row.paid_at),
        rejected_by=row.rejected_by,
        rejected_at=_utc(row.rejected_at),
        history=mask_numbers_in_value(json.loads(row.history)),
        version=row.version,
        payment_id=row.payment_id,
        reference=None if row.reference is None else json.loads(row.reference),
    )


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite gives naive datetimes back; we store UTC
        return value.replace(tzinfo=dt.UTC)
    return value


def _iso(value: dt.datetime | None) -> str | None:
    """A time in a history step: ISO 8601 in UTC with `Z`."""
    value = _utc(value)
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _event(name: str, row: Mapping[str, Any]) -> Event:
    data = {
        "decision_id": row["id"],
        "kind": row["kind"],
        "state": row["state"],
        "amount": _money(row["amount_fen"]),
        "subject_ref": row["subject_id"],
        "household_id": row["household_id"],
        "region_code": row["region_code"],
        "as_of": row["as_of"].isoformat(),
        "policy_id": row["policy_id"],
        "policy_version": row["policy_version"],
        "funding_source": row["funding_source"],
        # the civil-affairs payment order recorded (None for decisions recorded here)
        "payment_id": row.get("payment_id"),
        "reference": None if row.get("reference") is None else json.loads(row["reference"]),
    }
    return Event(
        domain="subsidy",
        name=name,
        subject=row["household_id"] or row["id"],
        region=row["region_code"],
        data=data,
        source="subsidy",
    )


def _no_personal_data(cmd: DecisionCommand) -> None:
    """Decisions keep opaque person refs only: an ID number or phone number would end up in the
    snapshot and in the events."""
    for path, value in (("inputs", cmd.inputs), ("household_id", cmd.household_id)):
        try:
            assert_no_personal_data(value, path)
        except PersonalDataInEvent as exc:
            where = str(exc).split(" contains", 1)[0]
            raise Unprocessable(
                "use an opaque person or household reference, not a resident ID number or phone number",
                code="personal_data",
                errors=[FieldError(where, "must be an opaque reference (no ID or phone numbers)")],
            ) from None


async def _audit(
    uow: Work,
    row: Mapping[str, Any],
    *,
    action: str,
    from_state: str | None,
    by: str,
    role: str,
    at: dt.datetime,
    note: str | None = None,
    reason: str | None = None,
) -> None:
    """One audit-chain entry per decision step (calculated, approved, paid, rejected): the amount,
    the policy and clause it rests on, who and why (numbers in free text masked)."""
    await uow.audit.record(
        kind=f"subsidy_decision_{action}",
        subject_type="decision",
        subject_id=str(row["id"]),
        household_id=row["household_id"],
        region_code=str(row["region_code"]),
        actor=by,
        role=role,
        at=at,
        detail={
            "action": action,
            "from": from_state,
            "to": row["state"],
            "decision_kind": row["kind"],
            "amount": _money(row["amount_fen"]),
            "subject_ref": row["subject_id"],
            "policy_id": row["policy_id"],
            "policy_version": row["policy_version"],
            "clause": row["clause"],
            "note": note,
            "reason": reason,
        },
    )


async def record_decision(
    uow: Work,
    cmd: DecisionCommand,
    *,
    by: str,
    role: str,
    require_payable: bool = False,
) -> DecisionView:
    """Calculate and record a decision in state `calculated`; raises 422 (inputs, policy) or
    409 (a rule across decisions, naming the earlier decision; with `require_payable`, also
    `nothing_payable` for a zero amount). The caller commits (`decide`, or an inbox consumer
    with its inbox row)."""
    _no_personal_data(cmd)
    policy = await uow.policy(cmd.region_code, cmd.as_of)
    result = run_calculation(cmd.kind, cmd.inputs, policy)
    try:
        subject = decision_subject(cmd.kind, cmd.inputs, as_of=cmd.as_of)
    except SubsidyInputError as exc:
        raise domain_error(exc) from None
    persons = {line.person_id for line in result.breakdown if line.person_id}
    await uow.decisions.lock_subjects({subject, *persons})
    prior = await uow.decisions.ledger({subject, *persons})
    try:
        outcome = evaluate_decision(kind=cmd.kind, subject_id=subject, as_of=cmd.as_of, result=result, ledger=prior)
    except DomainRefusal as exc:
        raise Conflict(exc.message, code=exc.code, decision_ids=list(exc.decision_ids)) from None
    if require_payable and outcome.allowed <= 0:
        why = " ".join(e.detail for e in result.explanations)
        raise Conflict(f"nothing payable: {why}", code="nothing_payable")
    now = utcnow()
    did = str(uuid.uuid4())
    step = {"action": "calculate", "from": None, "to": "calculated", "by": by, "role": role, "at": _iso(now)}
    if cmd.note:
        step["note"] = cmd.note
    steps: list[dict[str, Any]] = [step]
    if cmd.approval is not None:
        steps.append(
            {
                "action": "approve",
                "from": "calculated",
                "to": "approved",
                "by": cmd.approval.by,
                "role": cmd.approval.role,
                "at": _iso(cmd.approval.at),
                "note": "approved in civil affairs (payment order)",
            }
        )
    funding = None if result.funding_source is None else str(result.funding_source)
    if cmd.funding_source and outcome.allowed > 0:
        funding = cmd.funding_source  # the budget civil affairs ordered the payment from
    row = {
        "id": did,
        "kind": str(SubsidyKind(cmd.kind)),
        "subject_id": subject,
        "region_code": cmd.region_code,
        "household_id": cmd.household_id,
        "as_of": cmd.as_of,
        "month": cmd.as_of.strftime("%Y-%m"),
        "state": (DecisionState.APPROVED if cmd.approval else DecisionState.CALCULATED).value,
        "amount_fen": fen(outcome.allowed),
        "calculated_fen": fen(outcome.calculated),
        "funding_source": funding,
        "policy_id": result.policy_id,
        "policy_version": result.policy_version,
        "clause": result.clause,
        "inputs": json.dumps(dict(cmd.inputs), ensure_ascii=False, default=str),
        "parameters": json.dumps(dict(result.parameters), ensure_ascii=False),
        "breakdown": json.dumps([line.as_dict() for line in outcome.lines], ensure_ascii=False),
        "explanations": json.dumps(
            [e.as_dict() for e in (*result.explanations, *outcome.explanations)], ensure_ascii=False
        ),
        "history": json.dumps(steps, ensure_ascii=False),
        "rejection_reason": None,
        "origin": cmd.origin,
        "origin_event_id": cmd.origin_event_id,
        "created_by": by,
        "created_at": now,
        "version": 1,
        "payment_id": cmd.payment_id,
        "reference": None if cmd.reference is None else json.dumps(dict(cmd.reference), ensure_ascii=False),
    }
    if cmd.approval is not None:
        row["approved_by"], row["approved_at"] = cmd.approval.by, cmd.approval.at
    await uow.decisions.insert(row, {line.person_id for line in outcome.lines if line.person_id})
    calculated = {**row, "state": DecisionState.CALCULATED.value}
    uow.add_event(_event("decision_calculated", calculated))
    await _audit(uow, calculated, action="calculate", from_state=None, by=by, role=role, at=now, note=cmd.note)
    if cmd.approval is not None:
        uow.add_event(_event("decision_approved", row))
        await _audit(
            uow,
            row,
            action="approve",
            from_state="calculated",
            by=cmd.approval.by,
            role=cmd.approval.role,
            at=now,
            note="approved in civil affairs (payment order)",
        )
    return decision_view(await _stored(uow, did))


async def _stored(uow: Work, decision_id: str) -> DecisionRow:
    """The decision just written in this transaction, read back."""
    row = await uow.decisions.get(decision_id)
    if row is None:
        raise RuntimeError(f"decision {decision_id} is not there after writing it")
    return row


async def decide(cmd: DecisionCommand, uow: Work, principal: Principal) -> DecisionView:
    """`record_decision` as its own transaction, recorded by the calling officer."""
    read = await record_decision(uow, cmd, by=principal.sub, role=principal.role)
    await uow.commit(read)
    return read


async def get_visible(uow: Work, decision_id: str, principal: Principal) -> DecisionRow:
    row = await uow.decisions.get(decision_id)
    if row is None or not principal.sees(row.region_code):
        raise NotFound(f"no decision {decision_id}")
    return row


async def read_decision(uow: Work, decision_id: str, principal: Principal) -> DecisionView:
    return decision_view(await get_visible(uow, decision_id, principal))


async def list_decisions(q: ListDecisions, uow: Work) -> DecisionPage:
    """Newest first, one page (`next_cursor` when there may be more)."""
    rows = await uow.decisions.list(
        region_prefix=q.region_prefix,
        kind=q.kind,
        state=q.state,
        subject_id=q.subject_id,
        household_id=q.household_id,
        as_of_from=q.as_of_from,
        as_of_to=q.as_of_to,
        before_seq=q.before_seq,
        limit=q.limit,
    )
    return DecisionPage(
        items=[decision_view(r) for r in rows],
        next_cursor=rows[-1].seq if len(rows) == q.limit else None,
    )


async def transition(cmd: StepDecision, uow: Work) -> DecisionView:
    """Approve, pay or reject, in one transaction; 404 outside jurisdiction, 403 for a role that
    may not, 409 for a state that does not allow it or a concurrent change."""
    action, principal, reason, note = cmd.action, cmd.principal, cmd.reason, cmd.note
    decision_id = cmd.decision_id
    row = await get_visible(uow, decision_id, principal)
    if principal.role not in APPROVER_ROLES:
        raise Forbidden(f"only county, province or admin officers may {action.value} a subsidy decision")
    history = json.loads(row.history)
    now = utcnow()
    current = Decision(
        id=row.id,
        kind=SubsidyKind(row.kind),
        subject_id=row.subject_id,
        amount=yuan(row.amount_fen),
        state=DecisionState(row.state),
        rejection_reason=row.rejection_reason,
    )
    try:
        moved = current.apply(action, by=principal.sub, at=now, reason=reason)
    except DomainRefusal as exc:
        raise Conflict(exc.message, code=exc.code) from None
    except SubsidyInputError as exc:
        raise domain_error(exc) from None
    ev: DecisionEvent = moved.history[-1]
    step: dict[str, Any] = {
        "action": ev.action.value,
        "from": ev.from_state.value,
        "to": ev.to_state.value,
        "by": ev.by,
        "role": principal.role,
        "at": _iso(ev.at),
    }
    if ev.reason:
        step["reason"] = ev.reason
    if note:
        step["note"] = note
    by_col, at_col = _STEP_COLUMNS[action]
    values: dict[str, Any] = {
        "state": moved.state.value,
        "history": json.dumps([*history, step], ensure_ascii=False),
        by_col: principal.sub,
        at_col: now,
    }
    if moved.state is DecisionState.REJECTED:
        values["rejection_reason"] = moved.rejection_reason
    if not await uow.decisions.update(row.id, row.version, values):
        raise Conflict("the decision was changed by someone else; reload and retry", code="concurrent_update")
    updated = await _stored(uow, row.id)
    uow.add_event(_event(_EVENT_NAMES[action], updated._mapping))
    await _audit(
        uow,
        updated._mapping,
        action=ev.action.value,
        from_state=ev.from_state.value,
        by=principal.sub,
        role=principal.role,
        at=now,
        note=note,
        reason=ev.reason,
    )
    read = decision_view(updated)
    await uow.commit(read)
    return read
