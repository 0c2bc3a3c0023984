"""Temporary relief (临时救助): the township's approval limit, relief first and paperwork after
(先行救助), county approval above the limit, and the request's state machine. Pure.

Rules (000 safety-net §三(二)3; 002 篇一 §8, 篇十一 §(二)):
- the township approves up to its limit, a multiple (2–6 ×, policy data per region) of the URBAN
  dibao standard a month: 乡镇（街道）审批额度提高到城市低保标准的2~6倍; above it the county approves
  (分级审批);
- an urgent small amount (≤ the policy's small-amount limit) may be paid at once by the township,
  with the paperwork (the household economic-check result and the verification record) due
  within the policy's number of days: 小金额先行救助,事后补充说明情况;
- a rejection carries its reason.

States::

    submitted ──approve (township ≤ limit; county any)──▶ approved
        │  └──refer_to_county (township)──▶ county_review ──approve (county)──▶ approved
        ├──relief_first (≤ small-amount limit)──▶ relief_first ──complete_paperwork──▶ paperwork_complete
        └──reject (reason)──▶ rejected            county_review ──reject (county)──▶ rejected
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from shared.policy import PolicyError, ResolvedPolicy

__all__ = [
    "LIMIT_SOURCE",
    "RELIEF_FIRST_SOURCE",
    "ReliefAction",
    "ReliefError",
    "ReliefExplanation",
    "ReliefLevel",
    "ReliefPolicy",
    "ReliefReason",
    "ReliefState",
    "Transition",
    "allowed_actions",
    "approver_level",
    "decide",
    "is_overdue",
    "relief_policy",
    "reopened_state",
    "to_fen",
]

LIMIT_SOURCE = "000 safety-net §三(二)3: 乡镇（街道）审批额度提高到城市低保标准的2~6倍"
RELIEF_FIRST_SOURCE = (
    "000 safety-net §三(二)3: 积极运用“先行救助”方式; 002 篇一 §8: 实行“小金额先行救助”,事后补充说明情况"
)
COUNTY_SOURCE = "002 篇十一 §(二): 全面落实“先行救助”“分级审批”; 000 safety-net §三(二)3 (above the township limit)"
_FEN = Decimal("0.01")
_MIN_MULTIPLE, _MAX_MULTIPLE = Decimal(2), Decimal(6)


def to_fen(value: Decimal) -> Decimal:
    return value.quantize(_FEN, rounding=ROUND_HALF_UP)


def _yuan(value: Decimal) -> str:
    return f"{to_fen(value):,} yuan"


class ReliefReason(StrEnum):
    """Why the household asks (002 篇一 §8: 突发性、紧迫性、灾难性困难)."""

    ILLNESS = "illness"  # 因病
    ACCIDENT = "accident"  # 意外事故
    DISASTER = "disaster"  # 灾害
    SUDDEN_EXPENSE = "sudden_expense"  # 刚性支出突增


class ReliefState(StrEnum):
    SUBMITTED = "submitted"
    COUNTY_REVIEW = "county_review"
    APPROVED = "approved"
    RELIEF_FIRST = "relief_first"  # 先行救助 paid; paperwork due
    PAPERWORK_COMPLETE = "paperwork_complete"
    REJECTED = "rejected"


class ReliefAction(StrEnum):
    APPROVE = "approve"
    REFER_TO_COUNTY = "refer_to_county"
    RELIEF_FIRST = "relief_first"
    COMPLETE_PAPERWORK = "complete_paperwork"
    REJECT = "reject"


class ReliefLevel(StrEnum):
    TOWNSHIP = "township"
    COUNTY = "county"


FINAL_STATES = frozenset({ReliefState.APPROVED, ReliefState.PAPERWORK_COMPLETE, ReliefState.REJECTED})


class ReliefError(Exception):
    """A request the rules refuse: `kind` is `conflict` (409), `forbidden` (403) or `invalid`
    (422 at `field`); `code` is stable for machines."""

    def __init__(self, kind: str, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.kind, self.code, self.message, self.field = kind, code, message, field


@dataclass(frozen=True, slots=True)
class ReliefExplanation:
    rule: str
    source: str
    detail: str
    inputs: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "source": self.source, "detail": self.detail, "inputs": dict(self.inputs)}


@dataclass(frozen=True, slots=True)
class ReliefPolicy:
    """The relief figures in force for a region on a date, each with its source."""

    township_limit_multiple: Decimal
    urban_dibao_standard_monthly: Decimal
    relief_first_max: Decimal
    paperwork_days: int
    policy_id: str
    policy_version: str
    sources: Mapping[str, str]

    @property
    def township_limit(self) -> Decimal:
        """multiple × the urban dibao standard a month, to the fen."""
        return to_fen(self.township_limit_multiple * self.urban_dibao_standard_monthly)

    def limit_explanation(self) -> ReliefExplanation:
        m, std = self.township_limit_multiple, self.urban_dibao_standard_monthly
        return ReliefExplanation(
            "township_approval_limit",
            f"{LIMIT_SOURCE}; {self.sources['relief_township_limit_multiple']}",
            f"The township may approve up to {m.normalize():f} × the urban dibao standard of "
            f"{_yuan(std)} a month = {_yuan(self.township_limit)} (policy {self.policy_id} "
            f"version {self.policy_version}); above it the county approves.",
            {
                "relief_township_limit_multiple": f"{m.normalize():f}",
                "dibao_standard_urban_monthly": f"{to_fen(std)}",
                "township_limit": f"{self.township_limit}",
                "policy_id": self.policy_id,
                "policy_version": self.policy_version,
            },
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "township_limit": f"{self.township_limit}",
            "township_limit_multiple": f"{self.township_limit_multiple.normalize():f}",
            "urban_dibao_standard_monthly": f"{to_fen(self.urban_dibao_standard_monthly)}",
            "relief_first_max": f"{to_fen(self.relief_first_max)}",
            "paperwork_days": self.paperwork_days,
            "policy": {"id": self.policy_id, "version": self.policy_version},
            "sources": dict(self.sources),
            "explanation": self.limit_explanation().as_dict(),
        }


_PARAMS = (
    "relief_township_limit_multiple",
    "dibao_standard_urban_monthly",
    "relief_first_max_amount",
    "relief_paperwork_days",
)


def _dec(policy: ResolvedPolicy, name: str) -> Decimal:
    value = policy[name]
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise PolicyError(f"policy parameter {name!r} must be a number")
    return Decimal(value)


def relief_policy(policy: ResolvedPolicy) -> ReliefPolicy:
    """The typed relief policy; a multiple outside 2–6 (000) or a non-positive figure is refused
    (`PolicyError`); a missing figure is `PolicyParameterMissing`."""
    multiple = _dec(policy, "relief_township_limit_multiple")
    if not _MIN_MULTIPLE <= multiple <= _MAX_MULTIPLE:
        raise PolicyError(
            f"relief_township_limit_multiple must be from 2 to 6 (000 safety-net §三(二)3), got {multiple}"
        )
    standard = _dec(policy, "dibao_standard_urban_monthly")
    small = _dec(policy, "relief_first_max_amount")
    days = _dec(policy, "relief_paperwork_days")
    # Several civil-affairs versions layer for one region (programmes, appeals, relief): the one
    # to cite is the version that set the township's multiple, not merely the most specific one.
    setter = policy.param("relief_township_limit_multiple")
    if standard <= 0 or small <= 0 or days <= 0 or days != days.to_integral_value():
        raise PolicyError("relief policy figures must be positive (days a whole number)")
    return ReliefPolicy(
        township_limit_multiple=multiple,
        urban_dibao_standard_monthly=standard,
        relief_first_max=small,
        paperwork_days=int(days),
        policy_id=setter.version_id or policy.id,
        policy_version=setter.version or policy.version,
        sources={name: policy.source_of(name) for name in _PARAMS},
    )


def approver_level(role: str) -> ReliefLevel | None:
    """Which level an officer of `role` decides at (None: the role does not decide)."""
    if role == "township":
        return ReliefLevel.TOWNSHIP
    if role in ("county", "province", "admin"):
        return ReliefLevel.COUNTY
    return None


@dataclass(frozen=True, slots=True)
class Transition:
    to: ReliefState
    #: The payment ordered by this step (approve, relief first), else None.
    pay: Decimal | None = None
    level: ReliefLevel | None = None
    paperwork_due_on: dt.date | None = None
    explanations: tuple[ReliefExplanation, ...] = ()


def allowed_actions(state: ReliefState, role: str, *, amount: Decimal, policy: ReliefPolicy) -> list[str]:
    """What `role` may do now (the township's `approve` only within its limit)."""
    level = approver_level(role)
    if level is None:
        return []
    out: list[ReliefAction] = []
    if state is ReliefState.SUBMITTED:
        if level is ReliefLevel.COUNTY or amount <= policy.township_limit:
            out.append(ReliefAction.APPROVE)
        if level is ReliefLevel.TOWNSHIP:
            out.append(ReliefAction.REFER_TO_COUNTY)
        out += [ReliefAction.RELIEF_FIRST, ReliefAction.REJECT]
    elif state is ReliefState.COUNTY_REVIEW and level is ReliefLevel.COUNTY:
        out += [ReliefAction.APPROVE, ReliefAction.REJECT]
    elif state is ReliefState.RELIEF_FIRST:
        out.append(ReliefAction.COMPLETE_PAPERWORK)
    return [str(a) for a in out]


def decide(
    state: ReliefState,
    action: ReliefAction,
    role: str,
    *,
    requested: Decimal,
    policy: ReliefPolicy,
    today: dt.date,
    amount: Decimal | None = None,
    reason: str | None = None,
    paperwork: Mapping[str, str] | None = None,
) -> Transition:
    """The step `action` takes from `state` for an officer of `role`, or `ReliefError`.

    `amount`: the amount approved (default: the requested one) or, for `relief_first`, the
    urgent amount paid at once (default: the requested one, if within the small-amount limit)."""
    level = approver_level(role)
    if level is None:
        raise ReliefError("forbidden", "role_not_allowed", f"a {role} cannot decide a temporary relief")
    if state in FINAL_STATES:
        raise ReliefError("conflict", "invalid_transition", f"a request that is {state} cannot be changed")
    limit = policy.township_limit
    if action is ReliefAction.APPROVE:
        pay = requested if amount is None else amount
        _positive(pay)
        if state is ReliefState.COUNTY_REVIEW and level is not ReliefLevel.COUNTY:
            raise ReliefError("forbidden", "county_approval_needed", "the request is with the county for approval")
        if state not in (ReliefState.SUBMITTED, ReliefState.COUNTY_REVIEW):
            raise ReliefError("conflict", "invalid_transition", f"a request that is {state} cannot be approved")
        if level is ReliefLevel.TOWNSHIP and pay > limit:
            raise ReliefError(
                "conflict",
                "above_township_limit",
                f"{_yuan(pay)} is above the township approval limit of {_yuan(limit)} "
                f"({policy.township_limit_multiple.normalize():f} × the urban dibao standard of "
                f"{_yuan(policy.urban_dibao_standard_monthly)}); refer it to the county",
            )
        expl = [policy.limit_explanation()]
        if level is ReliefLevel.COUNTY:
            words = "within" if pay <= limit else "above"
            expl.append(
                ReliefExplanation(
                    "county_approval",
                    COUNTY_SOURCE,
                    f"The county approved {_yuan(pay)} ({words} the township limit of {_yuan(limit)}).",
                    {"amount": f"{to_fen(pay)}", "township_limit": f"{limit}"},
                )
            )
        else:
            expl.append(
                ReliefExplanation(
                    "township_approval",
                    LIMIT_SOURCE,
                    f"The township approved {_yuan(pay)}, within its limit of {_yuan(limit)}.",
                    {"amount": f"{to_fen(pay)}", "township_limit": f"{limit}"},
                )
            )
        return Transition(ReliefState.APPROVED, pay=pay, level=level, explanations=tuple(expl))
    if action is ReliefAction.REFER_TO_COUNTY:
        if state is not ReliefState.SUBMITTED or level is not ReliefLevel.TOWNSHIP:
            raise ReliefError("conflict", "invalid_transition", "only a township refers a submitted request")
        return Transition(
            ReliefState.COUNTY_REVIEW,
            explanations=(
                policy.limit_explanation(),
                ReliefExplanation(
                    "referred_to_county",
                    COUNTY_SOURCE,
                    f"Referred to the county: {_yuan(requested)} requested, township limit {_yuan(limit)}.",
                    {"requested": f"{to_fen(requested)}", "township_limit": f"{limit}"},
                ),
            ),
        )
    if action is ReliefAction.RELIEF_FIRST:
        if state is not ReliefState.SUBMITTED:
            raise ReliefError("conflict", "invalid_transition", f"relief first is for a submitted request, not {state}")
        pay = requested if amount is None else amount
        _positive(pay)
        if pay > policy.relief_first_max:
            raise ReliefError(
                "conflict",
                "above_relief_first_limit",
                f"{_yuan(pay)} is above the small amount that may be paid first ({_yuan(policy.relief_first_max)}); "
                "give a smaller urgent amount or approve after the check",
            )
        if pay > requested:
            raise ReliefError("invalid", "above_requested", "the urgent amount exceeds the amount requested", "amount")
        due = today + dt.timedelta(days=policy.paperwork_days)
        return Transition(
            ReliefState.RELIEF_FIRST,
            pay=pay,
            level=level,
            paperwork_due_on=due,
            explanations=(
                ReliefExplanation(
                    "relief_first",
                    f"{RELIEF_FIRST_SOURCE}; {policy.sources['relief_first_max_amount']}",
                    f"{_yuan(pay)} paid at once (at most {_yuan(policy.relief_first_max)} may be paid first); "
                    f"the economic-check result and verification record are due within "
                    f"{policy.paperwork_days} days, by {due.isoformat()}.",
                    {
                        "amount": f"{to_fen(pay)}",
                        "relief_first_max_amount": f"{to_fen(policy.relief_first_max)}",
                        "relief_paperwork_days": str(policy.paperwork_days),
                        "paperwork_due_on": due.isoformat(),
                        "policy_id": policy.policy_id,
                        "policy_version": policy.policy_version,
                    },
                ),
            ),
        )
    if action is ReliefAction.COMPLETE_PAPERWORK:
        if state is not ReliefState.RELIEF_FIRST:
            raise ReliefError("conflict", "invalid_transition", "paperwork completes a relief paid first")
        missing = [k for k in ("economic_check_ref", "verification_record") if not (paperwork or {}).get(k)]
        if missing:
            raise ReliefError("invalid", "paperwork_missing", f"{missing[0]} is required", f"paperwork.{missing[0]}")
        return Transition(
            ReliefState.PAPERWORK_COMPLETE,
            explanations=(
                ReliefExplanation(
                    "paperwork_complete",
                    RELIEF_FIRST_SOURCE,
                    "The economic-check result and the verification record were filed after the relief.",
                ),
            ),
        )
    if action is ReliefAction.REJECT:
        if not (reason and reason.strip()):
            raise ReliefError("invalid", "reason_required", "a rejection needs a reason", "reason")
        if state is ReliefState.COUNTY_REVIEW and level is not ReliefLevel.COUNTY:
            raise ReliefError("forbidden", "county_approval_needed", "the request is with the county")
        if state not in (ReliefState.SUBMITTED, ReliefState.COUNTY_REVIEW):
            raise ReliefError("conflict", "invalid_transition", f"a request that is {state} cannot be rejected")
        return Transition(ReliefState.REJECTED)
    raise ReliefError("invalid", "unknown_action", f"unknown action {action}", "action")


def _positive(amount: Decimal) -> None:
    if amount <= 0 or amount != amount.quantize(_FEN):
        raise ReliefError("invalid", "bad_amount", "the amount must be positive, in yuan to the fen", "amount")


def reopened_state(history: Sequence[Mapping[str, Any]]) -> ReliefState:
    """Where a rejected request goes when an appeal overturns the rejection: back to the state it
    was rejected in (the township's or the county's review, or relief first with its paperwork)."""
    for e in reversed(history):
        if e.get("to") == ReliefState.REJECTED:
            try:
                state = ReliefState(e.get("from") or "")
            except ValueError:
                break
            if state in (ReliefState.SUBMITTED, ReliefState.COUNTY_REVIEW, ReliefState.RELIEF_FIRST):
                return state
            break
    return ReliefState.SUBMITTED


def is_overdue(state: ReliefState, due: dt.date | None, today: dt.date) -> bool:
    """A relief paid first whose paperwork is past its due day."""
    return state is ReliefState.RELIEF_FIRST and due is not None and today > due
