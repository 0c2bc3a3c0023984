"""Use cases of temporary relief (临时救助), each one transaction on a unit of work: submit a
request, take a step (approve, refer to the county, relief first, complete the paperwork,
reject) — an approval or a relief paid first writes a payment order and its
`social_assistance.payment_ordered` event to the outbox together — read and list requests, and
record subsidy's answer to an order (`subsidy.decision_approved` / `subsidy.decision_refused`).

Who: officers (village and up) and citizens submit; a citizen sees only the requests they
submitted; township, county, province and admin officers decide (domain/relief.py)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypedDict

from services.civil_affairs.application.appeals_policy import SERVICE
from services.civil_affairs.application.ports import ReliefRepository, ReliefRequestRow, Work
from services.civil_affairs.domain.relief import (
    ReliefAction,
    ReliefError,
    ReliefPolicy,
    ReliefReason,
    ReliefState,
    allowed_actions,
    decide,
    is_overdue,
    relief_policy,
    reopened_state,
)
from shared.auth import Principal
from shared.errors import Conflict, DomainError, FieldError, Forbidden, NotFound, Unprocessable
from shared.events import Event, PersonalDataInEvent, assert_no_personal_data
from shared.pii import FieldCipher
from shared.policy import PolicyError, PolicyNotFound, PolicyParameterMissing, resolve_policy

from .actors import actor_label

__all__ = [
    "ActOnRelief",
    "ListRelief",
    "RecordReliefAnswer",
    "RefusalStep",
    "ReliefDeadlines",
    "ReliefLimit",
    "ReliefPage",
    "ReliefPayment",
    "ReliefPolicyRef",
    "ReliefView",
    "SubmitRelief",
    "act_on_relief",
    "get_relief",
    "list_relief",
    "record_payment_answer",
    "relief_limit",
    "reopen_on_appeal",
    "subject_facts",
    "submit_relief",
    "submitter_ref",
]

SOURCE = "civil_affairs"
FUNDING_SOURCE = "temporary_relief_fund"
_SUBMITTERS = frozenset({"village", "township", "county", "province", "admin", "citizen"})
_READERS = _SUBMITTERS | {"department"}


@dataclass(frozen=True, slots=True)
class SubmitRelief:
    region_code: str
    reason: str
    amount: Decimal
    household_id: str | None = None
    household: Mapping[str, Any] | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ActOnRelief:
    request_id: str
    action: str
    amount: Decimal | None = None
    reason: str | None = None
    paperwork: Mapping[str, str] | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ListRelief:
    region: str | None = None
    state: str | None = None
    household_id: str | None = None
    overdue: bool = False
    before: int | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class ReliefLimit:
    """The relief figures in force for a region on a day."""

    region_code: str
    as_of: dt.date
    policy: ReliefPolicy


@dataclass(frozen=True, slots=True)
class ReliefPayment:
    """A payment order of a request; amounts in yuan, to the fen."""

    payment_id: str
    amount: Decimal | None
    funding_source: str
    approved_level: str
    status: str  # ordered | recorded | refused
    decision_id: str | None
    recorded_amount: Decimal | None
    refusal: dict[str, Any] | None
    ordered_at: dt.datetime | None
    recorded_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class ReliefPolicyRef:
    id: str
    version: str
    as_of: dt.date


@dataclass(frozen=True, slots=True)
class ReliefDeadlines:
    paperwork_due_on: dt.date | None
    paperwork_overdue: bool


@dataclass(frozen=True, slots=True)
class ReliefView:
    """A temporary-relief request as its reader sees it; amounts in yuan to the fen, datetimes aware."""

    id: str
    seq: int
    state: str
    region_code: str
    household_id: str | None
    household: dict[str, Any] | None
    reason: str
    description: str | None
    requested_amount: Decimal
    approved_amount: Decimal | None
    approved_level: str | None
    township_limit: Decimal | None
    policy: ReliefPolicyRef
    explanations: list[dict[str, Any]]
    history: list[dict[str, Any]]
    allowed_actions: list[str]
    deadlines: ReliefDeadlines
    paperwork: dict[str, Any] | None
    rejection_reason: str | None
    payments: list[ReliefPayment]
    submitted_by: str  # "citizen" for a citizen (never their ID number), else the officer's sub
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    version: int


@dataclass(frozen=True, slots=True)
class ReliefPage:
    items: list[ReliefView]
    next_before: int | None  # keyset cursor: the last item's `seq` when the page is full


def _fen(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _yuan(fen: int | None) -> str | None:
    return None if fen is None else f"{Decimal(fen).scaleb(-2):.2f}"


def _amount(fen: int | None) -> Decimal | None:
    return None if fen is None else Decimal(fen).scaleb(-2)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:  # SQLite gives naive datetimes back; we store aware ones
        return value.replace(tzinfo=dt.UTC)
    return value


async def _policy(uow: Work, region_code: str, as_of: dt.date) -> ReliefPolicy:
    """The relief figures of the version in force (shipped `policy/*relief*.yaml` or added by an officer)."""
    try:
        versions = await uow.policy_versions()
        return relief_policy(resolve_policy(versions, service=SERVICE, region_code=region_code, as_of=as_of))
    except (PolicyNotFound, PolicyParameterMissing) as exc:
        # No version for the region sets the relief figures: the region has no relief policy.
        raise Unprocessable(str(exc), code="policy_not_found", errors=[FieldError("region_code", str(exc))]) from None
    except PolicyError as exc:
        raise Unprocessable(str(exc), code="policy_invalid", errors=[FieldError("region_code", str(exc))]) from None


def submitter_ref(principal: Principal, cipher: FieldCipher) -> str:
    """Who submitted, as stored: a citizen's `sub` is their resident ID number, so only its keyed
    blind index is kept; an officer's `sub` as it is."""
    return "citizen:" + cipher.blind_index(principal.sub) if principal.role == "citizen" else principal.sub


def _domain_error(err: ReliefError) -> DomainError:
    if err.kind == "forbidden":
        return Forbidden(err.message, code=err.code)
    if err.kind == "invalid":
        return Unprocessable(err.message, code=err.code, errors=[FieldError(err.field or "", err.message)])
    return Conflict(err.message, code=err.code)


def _no_personal_data(value: Any, path: str) -> None:
    try:
        assert_no_personal_data(value, path)
    except PersonalDataInEvent:
        raise Unprocessable(
            "use an opaque household reference, not a resident ID number or phone number",
            code="personal_data",
            errors=[FieldError(path, "must be an opaque reference (no ID or phone numbers)")],
        ) from None


async def relief_limit(uow: Work, principal: Principal, region_code: str, as_of: dt.date) -> ReliefLimit:
    """The relief figures in force (township limit with its computation) for a region."""
    if principal.role not in _READERS:
        raise Forbidden("this role cannot read temporary relief", code="role_not_allowed")
    if not principal.sees(region_code):
        raise NotFound(f"no region {region_code} in your jurisdiction")
    policy = await _policy(uow, region_code, as_of)
    return ReliefLimit(region_code=region_code, as_of=as_of, policy=policy)


async def submit_relief(
    uow: Work, principal: Principal, cmd: SubmitRelief, *, cipher: FieldCipher, now: dt.datetime, today: dt.date
) -> ReliefView:
    if principal.role not in _SUBMITTERS:
        raise Forbidden("this role cannot request temporary relief", code="role_not_allowed")
    if not principal.sees(cmd.region_code):
        raise NotFound(f"no region {cmd.region_code} in your jurisdiction")
    if cmd.household_id is not None:
        _no_personal_data(cmd.household_id, "household_id")
    policy = await _policy(uow, cmd.region_code, today)
    rid = str(uuid.uuid4())
    step = {
        "action": "submit",
        "from": None,
        "to": str(ReliefState.SUBMITTED),
        "by": actor_label(principal),
        "role": principal.role,
        "at": now.isoformat(),
        "amount": f"{cmd.amount:.2f}",
    }
    row = {
        "id": rid,
        "region_code": cmd.region_code,
        "household_id": cmd.household_id,
        "household": None if cmd.household is None else json.dumps(dict(cmd.household), ensure_ascii=False),
        "reason": str(ReliefReason(cmd.reason)),
        "description": cmd.description,
        "requested_fen": _fen(cmd.amount),
        "approved_fen": None,
        "state": str(ReliefState.SUBMITTED),
        "approved_level": None,
        "limit_fen": _fen(policy.township_limit),
        "policy_id": policy.policy_id,
        "policy_version": policy.policy_version,
        "as_of": today,
        "explanations": json.dumps([policy.limit_explanation().as_dict()], ensure_ascii=False),
        "history": json.dumps([step], ensure_ascii=False),
        "paperwork": None,
        "paperwork_due_on": None,
        "rejection_reason": None,
        "submitted_by": submitter_ref(principal, cipher),
        "submitted_role": principal.role,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }
    repo = uow.relief
    await repo.insert(row)
    await uow.commit()
    return await _read(uow, await _stored(repo, rid), principal, today)


async def _stored(repo: ReliefRepository, request_id: str) -> ReliefRequestRow:
    """The request just written in this transaction, read back."""
    row = await repo.get(request_id)
    if row is None:
        raise RuntimeError(f"relief request {request_id} is not there after writing it")
    return row


async def _visible(
    repo: ReliefRepository, request_id: str, principal: Principal, cipher: FieldCipher
) -> ReliefRequestRow:
    row = await repo.get(request_id)
    if row is None or not principal.sees(row.region_code) or principal.role not in _READERS:
        raise NotFound(f"no temporary relief request {request_id}")
    if principal.role == "citizen" and row.submitted_by != submitter_ref(principal, cipher):
        raise NotFound(f"no temporary relief request {request_id}")
    return row


def _payment_event(
    row: ReliefRequestRow, payment_id: str, amount: Decimal, level: str, by: str, role: str, at: dt.datetime
) -> Event:
    """`social_assistance.payment_ordered` (contract: docs/civil-affairs.md "Temporary relief")."""
    data = {
        "payment_id": payment_id,
        "household_id": row.household_id,
        "region_code": row.region_code,
        "kind": "temporary_relief",
        "period": None,
        "inputs": {
            "amount": f"{amount:.2f}",
            "reason": row.reason,
            "approved_level": level,
            "limit": _yuan(row.limit_fen),
        },
        "funding_source": FUNDING_SOURCE,
        "reference": {"kind": "relief_request", "id": row.id},
        "approved_by": by,
        "approved_role": role,
        "approved_at": at.isoformat(),
        "as_of": row.as_of.isoformat(),
    }
    subject = row.household_id or f"relief_request:{row.id}"
    return Event("social_assistance", "payment_ordered", subject, row.region_code, data, source=SOURCE)


async def act_on_relief(
    uow: Work, principal: Principal, cmd: ActOnRelief, *, cipher: FieldCipher, now: dt.datetime, today: dt.date
) -> ReliefView:
    repo = uow.relief
    row = await _visible(repo, cmd.request_id, principal, cipher)
    policy = await _policy(uow, row.region_code, row.as_of)
    try:
        action = ReliefAction(cmd.action)
        step = decide(
            ReliefState(row.state),
            action,
            principal.role,
            requested=Decimal(row.requested_fen).scaleb(-2),
            policy=policy,
            today=today,
            amount=cmd.amount,
            reason=cmd.reason,
            paperwork=cmd.paperwork,
        )
    except ValueError:
        raise Unprocessable(
            f"unknown action {cmd.action!r}", errors=[FieldError("action", "is not an action")]
        ) from None
    except ReliefError as err:
        raise _domain_error(err) from None
    entry: dict[str, Any] = {
        "action": str(action),
        "from": row.state,
        "to": str(step.to),
        "by": actor_label(principal),
        "role": principal.role,
        "at": now.isoformat(),
    }
    values: dict[str, Any] = {"state": str(step.to), "updated_at": now}
    if cmd.note:
        entry["note"] = cmd.note
    if step.pay is not None:
        entry["amount"] = f"{step.pay:.2f}"
        values["approved_fen"] = _fen(step.pay)
        values["approved_level"] = None if step.level is None else str(step.level)
    if step.paperwork_due_on is not None:
        entry["paperwork_due_on"] = step.paperwork_due_on.isoformat()
        values["paperwork_due_on"] = step.paperwork_due_on
    if action is ReliefAction.COMPLETE_PAPERWORK:
        values["paperwork"] = json.dumps(
            {**dict(cmd.paperwork or {}), "filed_on": today.isoformat()}, ensure_ascii=False
        )
        due = row.paperwork_due_on
        entry["late"] = bool(due is not None and today > due)
    if action is ReliefAction.REJECT:
        entry["reason"] = cmd.reason
        values["rejection_reason"] = cmd.reason
    values["history"] = json.dumps([*json.loads(row.history), entry], ensure_ascii=False)
    if step.explanations:
        values["explanations"] = json.dumps(
            [*json.loads(row.explanations), *(e.as_dict() for e in step.explanations)], ensure_ascii=False
        )
    if not await repo.update(row.id, row.version, values):
        raise Conflict("the request was changed by someone else; reload and retry", code="concurrent_update")
    if step.pay is not None and step.level is not None:
        payment_id = str(uuid.uuid4())
        await repo.insert_payment(
            {
                "payment_id": payment_id,
                "request_id": row.id,
                "amount_fen": _fen(step.pay),
                "funding_source": FUNDING_SOURCE,
                "approved_level": str(step.level),
                "status": "ordered",
                "decision_id": None,
                "recorded_fen": None,
                "refusal": None,
                "ordered_at": now,
                "recorded_at": None,
            }
        )
        uow.add_event(_payment_event(row, payment_id, step.pay, str(step.level), principal.sub, principal.role, now))
    await uow.commit()
    return await _read(uow, await _stored(repo, row.id), principal, today)


SOURCE_REOPEN = "003 §一(五) (受理、转办、办结); 000 社会保障兜底 §五(三): an overturned refusal is decided again"


async def reopen_on_appeal(uow: Work, request_id: str, *, appeal_id: str, by: str, role: str, now: dt.datetime) -> bool:
    """An appeal overturned the rejection of `request_id` (in the appeal's transaction): the
    request goes back to the state it was rejected in. False if it is not rejected."""
    repo = uow.relief
    row = await repo.get(request_id)
    if row is None or row.state != ReliefState.REJECTED:
        return False
    history = json.loads(row.history)
    to = reopened_state(history)
    entry = {
        "action": "reopen",
        "from": row.state,
        "to": str(to),
        "by": by,
        "role": role,
        "at": now.isoformat(),
        "appeal_id": appeal_id,
        "rule": "appeal_overturned",
        "source": SOURCE_REOPEN,
    }
    values = {
        "state": str(to),
        "rejection_reason": None,
        "history": json.dumps([*history, entry], ensure_ascii=False),
        "updated_at": now,
    }
    if not await repo.update(row.id, row.version, values):
        raise Conflict("the request was changed by someone else; reload and retry", code="concurrent_update")
    return True


class RefusalStep(TypedDict):
    """The history entry (JSON) that rejected a request, as an appeal reads it."""

    to: str
    role: str
    at: str


async def subject_facts(
    uow: Work, principal: Principal, request_id: str, cipher: FieldCipher
) -> tuple[ReliefRequestRow, RefusalStep | None] | None:
    """What an appeal needs of a relief request the caller may see: (row, the rejecting entry) or None."""
    try:
        row = await _visible(uow.relief, request_id, principal, cipher)
    except NotFound:
        return None
    refusal = next((e for e in reversed(json.loads(row.history)) if e.get("to") == ReliefState.REJECTED), None)
    return row, refusal


async def get_relief(
    uow: Work, principal: Principal, request_id: str, *, cipher: FieldCipher, today: dt.date
) -> ReliefView:
    repo = uow.relief
    return await _read(uow, await _visible(repo, request_id, principal, cipher), principal, today)


async def list_relief(
    uow: Work, principal: Principal, q: ListRelief, *, cipher: FieldCipher, today: dt.date
) -> ReliefPage:
    if principal.role not in _READERS:
        raise Forbidden("this role cannot read temporary relief", code="role_not_allowed")
    region = principal.region if q.region is None else q.region
    if not principal.sees(region):
        raise NotFound(f"no region {region} in your jurisdiction")
    if q.state is not None and q.state not in {str(s) for s in ReliefState}:
        raise Unprocessable("unknown state", errors=[FieldError("state", "is not a relief state")])
    repo = uow.relief
    rows = await repo.list(
        region_prefix=region,
        state=q.state,
        household_id=q.household_id,
        submitted_by=submitter_ref(principal, cipher) if principal.role == "citizen" else None,
        overdue_on=today if q.overdue else None,
        before_seq=q.before,
        limit=q.limit,
    )
    items = [await _read(uow, r, principal, today) for r in rows]
    nxt = rows[-1].seq if len(rows) == q.limit else None
    return ReliefPage(items=items, next_before=nxt)


async def _read(uow: Work, row: ReliefRequestRow, principal: Principal, today: dt.date) -> ReliefView:
    policy = await _policy(uow, row.region_code, row.as_of)
    state = ReliefState(row.state)
    payments = [
        ReliefPayment(
            payment_id=p.payment_id,
            amount=_amount(p.amount_fen),
            funding_source=p.funding_source,
            approved_level=p.approved_level,
            status=p.status,
            decision_id=p.decision_id,
            recorded_amount=_amount(p.recorded_fen),
            refusal=None if p.refusal is None else json.loads(p.refusal),
            ordered_at=_aware(p.ordered_at),
            recorded_at=_aware(p.recorded_at),
        )
        for p in await uow.relief.payments(row.id)
    ]
    requested = Decimal(row.requested_fen).scaleb(-2)
    return ReliefView(
        id=row.id,
        seq=row.seq,
        state=row.state,
        region_code=row.region_code,
        household_id=row.household_id,
        household=None if row.household is None else json.loads(row.household),
        reason=row.reason,
        description=row.description,
        requested_amount=requested,
        approved_amount=_amount(row.approved_fen),
        approved_level=row.approved_level,
        township_limit=_amount(row.limit_fen),
        policy=ReliefPolicyRef(id=row.policy_id, version=row.policy_version, as_of=row.as_of),
        explanations=json.loads(row.explanations),
        history=json.loads(row.history),
        allowed_actions=allowed_actions(state, principal.role, amount=requested, policy=policy),
        deadlines=ReliefDeadlines(
            paperwork_due_on=row.paperwork_due_on,
            paperwork_overdue=is_overdue(state, row.paperwork_due_on, today),
        ),
        paperwork=None if row.paperwork is None else json.loads(row.paperwork),
        rejection_reason=row.rejection_reason,
        payments=payments,
        submitted_by="citizen" if row.submitted_role == "citizen" else row.submitted_by,
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
        version=row.version,
    )


@dataclass(frozen=True, slots=True)
class RecordReliefAnswer:
    """Subsidy's answer to one of our relief payment orders: approved (`decision_id`, the amount
    it recorded) or refused (`refusal`: its code and reason)."""

    payment_id: str
    at: dt.datetime
    decision_id: str | None = None
    amount: Decimal | None = None
    refusal: Mapping[str, Any] | None = None


async def record_payment_answer(cmd: RecordReliefAnswer, uow: Work) -> str | None:
    """`decision_approved` → `recorded` with the decision id and amount; `decision_refused` →
    `refused` with the code and reason. Returns the new status (None: the order is unknown or
    already answered, a redelivery)."""
    values: dict[str, Any]
    if cmd.refusal is None:
        values = {"status": "recorded", "decision_id": cmd.decision_id, "recorded_fen": _fen(cmd.amount or Decimal(0))}
    else:
        values = {"status": "refused", "refusal": json.dumps(dict(cmd.refusal), ensure_ascii=False)}
    changed = await uow.relief.mark_payment(cmd.payment_id, {**values, "recorded_at": cmd.at})
    return str(values["status"]) if changed else None
