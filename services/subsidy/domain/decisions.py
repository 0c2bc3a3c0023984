"""Rules that hold across subsidy decisions, and the decision state machine. Pure: the caller
passes the ledger of earlier decisions (`PriorDecision`) that touch the same subject or persons.

Rules (DOMAIN.md §6, "caps and exclusions hold across separate requests"):
- one-off kinds are granted once per subject (person, household or workshop); the enterprise
  reward and the workshop's stable-employment reward once per (enterprise, person);
- the enterprise reward cap holds across requests (the workshop part stays outside it);
- annual caps per person per calendar year: medical assistance, the public-welfare post subsidy;
- work-for-training: at most the maximum months per trainee across requests;
- exclusive pairs: work-for-training vs the pre-job training subsidy (per person); the technical
  school living subsidy vs 雨露计划 (per student).
A refusal is a `DomainRefusal` whose message names the earlier decision.

States: calculated → approved → paid; calculated or approved → rejected (with a reason).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from .calculators import parse_inputs
from .model import (
    BreakdownLine,
    DomainRefusal,
    Explanation,
    SubsidyInputError,
    SubsidyKind,
    SubsidyResult,
)
from .rounding import ZERO, format_yuan, to_fen

__all__ = [
    "ANNUAL_CAPS",
    "EXCLUSIVE_PAIRS",
    "ONE_OFF_KINDS",
    "PRE_JOB_TRAINING",
    "SUBJECT_FIELDS",
    "YULU_PLAN",
    "Decision",
    "DecisionAction",
    "DecisionEvent",
    "DecisionOutcome",
    "DecisionState",
    "ExclusivePair",
    "LedgerLine",
    "PriorDecision",
    "check_external_benefit",
    "decision_subject",
    "evaluate_decision",
    "next_state",
]

#: Benefits paid outside this service that exclude one of its kinds; they appear in the ledger
#: with these kinds (recorded by whoever learns of them).
PRE_JOB_TRAINING = "pre_job_training"  # 新录用人员岗前技能培训补贴
YULU_PLAN = "yulu_plan"  # 雨露计划

#: Which input names the subject a decision is recorded against, per kind.
SUBJECT_FIELDS: dict[SubsidyKind, str] = {
    SubsidyKind.ENTERPRISE_EMPLOYMENT_REWARD: "enterprise_id",
    SubsidyKind.TRANSPORT_ALLOWANCE: "person_id",
    SubsidyKind.ENTREPRENEURSHIP_SUBSIDY: "person_id",
    SubsidyKind.PUBLIC_WELFARE_POST: "person_id",
    SubsidyKind.WORK_FOR_TRAINING: "enterprise_id",
    SubsidyKind.TECHNICAL_SCHOOL: "person_id",
    SubsidyKind.TIERED_WAGE_SUBSIDY: "enterprise_id",
    SubsidyKind.WORKSHOP_AWARD: "enterprise_id",
    SubsidyKind.MEDICAL_ASSISTANCE: "person_id",
    SubsidyKind.HOUSING_RENOVATION: "household_id",
    SubsidyKind.DIBAO_TOPUP: "household_id",
    SubsidyKind.DIBAO_MONTHLY: "household_id",
    SubsidyKind.TEKUN_MONTHLY: "household_id",
    SubsidyKind.TEMPORARY_RELIEF: "household_id",
}

#: Kinds paid once per subject, with the clause that makes them one-off.
ONE_OFF_KINDS: dict[SubsidyKind, str] = {
    SubsidyKind.ENTREPRENEURSHIP_SUBSIDY: "000 就业扶贫 §三(三): 一次性5000元的创业补贴",
    SubsidyKind.TRANSPORT_ALLOWANCE: "002 篇一 §3: 一次性交通补助 (000 §三(二) names no period)",
    SubsidyKind.HOUSING_RENOVATION: "002 篇十一 §(一)5: 户均 (one renovation per household)",
    SubsidyKind.WORKSHOP_AWARD: "002 篇一 §5: 以奖代补 (one award per recognised workshop)",
}

#: Components paid once per (enterprise, person) within a kind.
_ONCE_PER_PERSON: dict[SubsidyKind, frozenset[str]] = {
    SubsidyKind.ENTERPRISE_EMPLOYMENT_REWARD: frozenset({"hire_reward", "workshop_stable_6m"}),
}

#: Annual caps per person per calendar year: kind → the policy parameter holding the cap.
ANNUAL_CAPS: dict[SubsidyKind, str] = {
    SubsidyKind.MEDICAL_ASSISTANCE: "medical_annual_cap",
    SubsidyKind.PUBLIC_WELFARE_POST: "public_welfare_annual_cap",
}

_ENTERPRISE_CAPPED = frozenset({"hire_reward", "cap", "cross_request_cap"})


@dataclass(frozen=True, slots=True)
class ExclusivePair:
    """`kind`'s `component` for a person excludes the `other` benefit for the same person."""

    kind: SubsidyKind
    component: str
    other: str
    source: str
    words: str


EXCLUSIVE_PAIRS: tuple[ExclusivePair, ...] = (
    ExclusivePair(
        SubsidyKind.WORK_FOR_TRAINING,
        "trainee",
        PRE_JOB_TRAINING,
        "000 就业扶贫 §三(五): 以工代训补贴与新录用人员岗前技能培训补贴不可重复享受",
        "the pre-job training subsidy",
    ),
    ExclusivePair(
        SubsidyKind.TECHNICAL_SCHOOL,
        "living_transport",
        YULU_PLAN,
        "000 就业扶贫 §三(六): 此项补助与“雨露计划”不得重复享受",
        "the 雨露计划 (Rain and Dew Plan) subsidy",
    ),
)


class DecisionState(StrEnum):
    CALCULATED = "calculated"
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"


class DecisionAction(StrEnum):
    APPROVE = "approve"
    PAY = "pay"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class LedgerLine:
    component: str
    amount: Decimal
    person_id: str | None = None
    quantity: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PriorDecision:
    """An earlier decision as the rules need it. `as_of` is the date the subsidy is for (the
    calendar year of annual caps); `lines` are the decision's breakdown lines."""

    decision_id: str
    kind: str
    subject_id: str
    amount: Decimal
    as_of: dt.date
    state: DecisionState = DecisionState.CALCULATED
    lines: tuple[LedgerLine, ...] = ()

    @property
    def active(self) -> bool:
        """Rejected decisions count for nothing; pending ones already reserve their amount."""
        return self.state is not DecisionState.REJECTED

    def persons(self, component: str | None = None) -> set[str]:
        """Persons paid something in this decision (in `component`, if given)."""
        return {
            line.person_id
            for line in self.lines
            if line.person_id and line.amount > 0 and component in (None, line.component)
        }

    def describe(self) -> str:
        return f"decision {self.decision_id} of {self.as_of.isoformat()} ({format_yuan(self.amount)})"

    @classmethod
    def from_outcome(cls, decision_id: str, outcome: DecisionOutcome, state: DecisionState) -> PriorDecision:
        return cls(
            decision_id=decision_id,
            kind=str(outcome.kind),
            subject_id=outcome.subject_id,
            amount=outcome.allowed,
            as_of=outcome.as_of,
            state=state,
            lines=tuple(
                LedgerLine(line.component, line.amount, line.person_id, line.quantity) for line in outcome.lines
            ),
        )


@dataclass(frozen=True, slots=True)
class DecisionOutcome:
    """What may be decided: `allowed` (≤ `calculated`), the lines behind it (the calculation's
    lines plus any cross-decision adjustment) and explanations of the adjustments."""

    kind: SubsidyKind
    subject_id: str
    as_of: dt.date
    calculated: Decimal
    allowed: Decimal
    lines: tuple[BreakdownLine, ...]
    explanations: tuple[Explanation, ...] = ()

    @property
    def reduced(self) -> bool:
        return self.allowed < self.calculated


def decision_subject(kind: str, inputs: Mapping[str, Any], *, as_of: dt.date) -> str:
    """The id a decision of `kind` is recorded against (the field named in `SUBJECT_FIELDS`);
    a decision cannot be recorded without it."""
    parsed = parse_inputs(kind, inputs, as_of=as_of)
    name = SUBJECT_FIELDS[SubsidyKind(kind)]
    value = getattr(parsed, name)
    if not value:
        raise SubsidyInputError(f"inputs.{name}", "is required to record a decision")
    return str(value)


def _param(result: SubsidyResult, name: str) -> Decimal:
    return Decimal(dict(result.parameters)[name])


def _names(priors: Iterable[PriorDecision]) -> str:
    return ", ".join(p.describe() for p in priors)


def evaluate_decision(
    *,
    kind: str,
    subject_id: str,
    as_of: dt.date,
    result: SubsidyResult,
    ledger: Iterable[PriorDecision],
) -> DecisionOutcome:
    """Apply the cross-decision rules to a fresh calculation. Returns the allowed amount (the
    calculated one, or less where a cap is partly used) or raises `DomainRefusal`.

    `ledger` must hold every earlier decision of the subject and of the persons in the result
    (any state; rejected ones are ignored); decisions of other subjects are ignored.
    """
    k = SubsidyKind(kind)
    if result.kind is not k:
        raise SubsidyInputError("kind", f"the calculation is for {result.kind}, not {k}")
    active = [p for p in ledger if p.active]
    same = [p for p in active if p.kind == k and p.subject_id == subject_id]
    lines = list(result.breakdown)
    notes: list[Explanation] = []

    if k in ONE_OFF_KINDS and result.amount > 0:
        earlier = [p for p in same if p.amount > 0]
        if earlier:
            first = min(earlier, key=lambda p: (p.as_of, p.decision_id))
            raise DomainRefusal(
                "already_granted",
                f"{k} is paid once; {subject_id} already received it in {first.describe()}.",
                tuple(p.decision_id for p in earlier),
            )

    for component in sorted(_ONCE_PER_PERSON.get(k, frozenset())):
        for line in lines:
            if line.component != component or not line.person_id or line.amount <= 0:
                continue
            hits = [p for p in same if line.person_id in p.persons(component)]
            if hits:
                raise DomainRefusal(
                    "person_already_rewarded",
                    f"{line.person_id} was already counted for {subject_id} "
                    f"({component.replace('_', ' ')}) in {_names(hits)}; remove them from the "
                    "request.",
                    tuple(p.decision_id for p in hits),
                )

    for pair in EXCLUSIVE_PAIRS:
        if pair.kind is not k:
            continue
        for line in lines:
            if line.component != pair.component or line.amount <= 0:
                continue
            person = line.person_id or subject_id
            hits = [
                p
                for p in active
                if p.kind == pair.other and p.amount > 0 and (p.subject_id == person or person in p.persons())
            ]
            if hits:
                raise DomainRefusal(
                    "exclusive_benefit",
                    f"{person} already received {pair.words} in {_names(hits)}; it cannot be "
                    f"combined with this {k} component ({pair.source}). Recalculate with that "
                    "benefit marked as claimed.",
                    tuple(p.decision_id for p in hits),
                )

    if k is SubsidyKind.WORK_FOR_TRAINING:
        lines, notes = _training_months(result, lines, active)

    allowed = to_fen(max(sum((line.amount for line in lines), ZERO), ZERO))
    allowed = min(allowed, result.amount)

    if k is SubsidyKind.ENTERPRISE_EMPLOYMENT_REWARD:
        cap = _param(result, "enterprise_reward_cap")
        used = sum(
            (p.amount - sum((x.amount for x in p.lines if x.component not in _ENTERPRISE_CAPPED), ZERO) for p in same),
            ZERO,
        )
        capped = sum((x.amount for x in lines if x.component in _ENTERPRISE_CAPPED), ZERO)
        room = max(cap - used, ZERO)
        if capped > room:
            cut = room - capped
            lines.append(
                BreakdownLine(
                    "cross_request_cap",
                    f"cap of {format_yuan(cap)} per enterprise, {format_yuan(used)} already granted",
                    cut,
                    rate=cap,
                )
            )
            notes.append(
                Explanation(
                    "enterprise_cap_across_requests",
                    "000 就业扶贫 §三(一): 最高不超过4万元",
                    f"{subject_id} has already been granted {format_yuan(used)} of the "
                    f"{format_yuan(cap)} cap in {_names(same)}; only {format_yuan(room)} of the "
                    f"{format_yuan(capped)} for these hires can be paid.",
                )
            )
            allowed = to_fen(max(allowed + cut, ZERO))
            if allowed == 0 and result.amount > 0:
                raise DomainRefusal(
                    "cap_reached",
                    f"{subject_id} has used the whole {format_yuan(cap)} enterprise cap in {_names(same)}.",
                    tuple(p.decision_id for p in same),
                )

    if k in ANNUAL_CAPS and result.amount > 0:
        cap = _param(result, ANNUAL_CAPS[k])
        this_year = [p for p in same if p.as_of.year == as_of.year and p.amount > 0]
        used = sum((p.amount for p in this_year), ZERO)
        room = max(cap - used, ZERO)
        if room == 0:
            raise DomainRefusal(
                "cap_reached",
                f"{subject_id} has already received the {as_of.year} maximum of "
                f"{format_yuan(cap)} for {k} in {_names(this_year)}.",
                tuple(p.decision_id for p in this_year),
            )
        if allowed > room:
            lines.append(
                BreakdownLine(
                    "cross_request_cap",
                    f"annual cap of {format_yuan(cap)}, {format_yuan(used)} already granted in {as_of.year}",
                    room - allowed,
                    person_id=subject_id,
                    rate=cap,
                )
            )
            notes.append(
                Explanation(
                    "annual_cap_across_requests",
                    result.clause,
                    f"{subject_id} has already been granted {format_yuan(used)} in {as_of.year} "
                    f"({_names(this_year)}); at most {format_yuan(cap)} a year, so "
                    f"{format_yuan(room)} can be paid now.",
                )
            )
            allowed = room

    return DecisionOutcome(k, subject_id, as_of, result.amount, allowed, tuple(lines), tuple(notes))


def _training_months(
    result: SubsidyResult, lines: list[BreakdownLine], active: list[PriorDecision]
) -> tuple[list[BreakdownLine], list[Explanation]]:
    """Cut each trainee's months to what is left of the maximum after earlier decisions (the
    maximum is per person, whichever employer claimed it)."""
    max_months = _param(result, "work_for_training_max_months")
    per_month = _param(result, "work_for_training_per_month")
    earlier = [p for p in active if p.kind == SubsidyKind.WORK_FOR_TRAINING]
    out: list[BreakdownLine] = []
    notes: list[Explanation] = []
    for line in lines:
        if line.component != "trainee" or not line.counted or not line.person_id:
            out.append(line)
            continue
        pid = line.person_id
        hits = [p for p in earlier if pid in p.persons("trainee")]
        used = sum(
            (x.quantity or ZERO for p in hits for x in p.lines if x.person_id == pid and x.component == "trainee"),
            ZERO,
        )
        left = max(max_months - used, ZERO)
        months = line.quantity or ZERO
        if months <= left:
            out.append(line)
            continue
        out.append(
            replace(
                line,
                description=f"{pid}: {left} of {months} months (already paid {used} months)",
                amount=per_month * left,
                quantity=left,
                counted=left > 0,
            )
        )
        notes.append(
            Explanation(
                "training_months_across_requests",
                result.clause,
                f"{pid} already had {used} months of work-for-training in {_names(hits)}; at "
                f"most {max_months} months are paid per person, so {left} month(s) count now.",
            )
        )
    if result.amount > 0 and sum((x.amount for x in out), ZERO) <= 0:
        ids = tuple(sorted({p.decision_id for p in earlier}))
        raise DomainRefusal(
            "cap_reached",
            "Every trainee in the request has already been paid the maximum months of "
            f"work-for-training in earlier decisions ({', '.join(ids)}).",
            ids,
        )
    return out, notes


def check_external_benefit(other: str, person_id: str, ledger: Iterable[PriorDecision]) -> None:
    """Before recording an outside benefit (`pre_job_training`, `yulu_plan`) for a person, refuse
    it if the person already has the component it excludes."""
    for pair in EXCLUSIVE_PAIRS:
        if pair.other != other:
            continue
        hits = [
            p
            for p in ledger
            if p.active
            and p.kind == pair.kind
            and (
                person_id in p.persons(pair.component)
                or (p.subject_id == person_id and any(x.component == pair.component and x.amount > 0 for x in p.lines))
            )
        ]
        if hits:
            raise DomainRefusal(
                "exclusive_benefit",
                f"{person_id} already received {pair.kind} ({pair.component.replace('_', ' ')}) in "
                f"{_names(hits)}; {pair.words} cannot be added ({pair.source}).",
                tuple(p.decision_id for p in hits),
            )


# --- state machine ----------------------------------------------------------------------------

_TRANSITIONS: dict[tuple[DecisionState, DecisionAction], DecisionState] = {
    (DecisionState.CALCULATED, DecisionAction.APPROVE): DecisionState.APPROVED,
    (DecisionState.APPROVED, DecisionAction.PAY): DecisionState.PAID,
    (DecisionState.CALCULATED, DecisionAction.REJECT): DecisionState.REJECTED,
    (DecisionState.APPROVED, DecisionAction.REJECT): DecisionState.REJECTED,
}


def next_state(state: DecisionState, action: DecisionAction) -> DecisionState:
    try:
        return _TRANSITIONS[(state, action)]
    except KeyError:
        raise DomainRefusal("invalid_transition", f"a decision that is {state} cannot be {action}d") from None


@dataclass(frozen=True, slots=True)
class DecisionEvent:
    action: DecisionAction
    from_state: DecisionState
    to_state: DecisionState
    by: str
    at: dt.datetime
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """A recorded decision: what was decided and who moved it through its states, when."""

    id: str
    kind: SubsidyKind
    subject_id: str
    amount: Decimal
    state: DecisionState = DecisionState.CALCULATED
    rejection_reason: str | None = None
    history: tuple[DecisionEvent, ...] = ()

    def apply(self, action: DecisionAction, *, by: str, at: dt.datetime, reason: str | None = None) -> Decision:
        target = next_state(self.state, action)
        if action is DecisionAction.REJECT and not (reason and reason.strip()):
            raise SubsidyInputError("reason", "a rejection needs a reason")
        event = DecisionEvent(action, self.state, target, by, at, reason)
        return replace(
            self,
            state=target,
            rejection_reason=reason if target is DecisionState.REJECTED else self.rejection_reason,
            history=(*self.history, event),
        )

    def approve(self, *, by: str, at: dt.datetime) -> Decision:
        return self.apply(DecisionAction.APPROVE, by=by, at=at)

    def pay(self, *, by: str, at: dt.datetime) -> Decision:
        return self.apply(DecisionAction.PAY, by=by, at=at)

    def reject(self, *, by: str, at: dt.datetime, reason: str) -> Decision:
        return self.apply(DecisionAction.REJECT, by=by, at=at, reason=reason)
