"""Appeals (申诉 / 复核申请) against a decision about a household: who reviews them (the level
above the one that decided), their time limit, and their state machine. Pure; no clock is read.

    received --start_review--> under_review --decide(outcome, reason)--> upheld | overturned | partly_upheld
    received | under_review --withdraw--> withdrawn

Outcomes speak of the ORIGINAL decision: `upheld` = it stands (维持原决定), `overturned` = it is
set aside (撤销原决定), `partly_upheld` = it stands in part and is changed in part (部分变更).
The seeds set no appeal procedure of their own; 003 §一(五) asks for a traceable 受理 → 转办 →
办结 flow and 000 社会保障兜底 §五(三) for an open complaint channel against 漏保/脱保, so the
time limits here are configurable defaults (policy/appeals.yaml), not seed figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

__all__ = [
    "DEFAULT_DECIDING_LEVEL",
    "LEVEL_DIGITS",
    "OPEN_STATES",
    "Appeal",
    "AppealAction",
    "AppealError",
    "AppealPolicy",
    "AppealState",
    "Appellant",
    "HistoryEntry",
    "Level",
    "Outcome",
    "ReviewRoute",
    "SubjectKind",
    "alerts_due",
    "allowed_actions",
    "apply_action",
    "deadline_for",
    "decided_level",
    "is_overdue",
    "level_above",
    "level_of_region",
    "review_route",
]


class Level(StrEnum):
    """Administrative levels that decide or review (DOMAIN.md §1)."""

    VILLAGE = "village"
    TOWNSHIP = "township"
    COUNTY = "county"
    CITY = "city"
    PROVINCE = "province"


#: Digits of a region code at each level (GB/T 2260 + statistical codes, DOMAIN.md §1).
LEVEL_DIGITS: dict[Level, int] = {
    Level.VILLAGE: 12,
    Level.TOWNSHIP: 9,
    Level.COUNTY: 6,
    Level.CITY: 4,
    Level.PROVINCE: 2,
}
_ORDER = (Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY, Level.CITY, Level.PROVINCE)


def level_above(level: Level) -> Level:
    """The supervising level; the province reviews its own decisions (no level above it here)."""
    i = _ORDER.index(level)
    return _ORDER[min(i + 1, len(_ORDER) - 1)]


def level_of_region(code: str) -> Level:
    """The level of a region code by its length (12 village … 2 province)."""
    for level, digits in LEVEL_DIGITS.items():
        if len(code) == digits:
            return level
    raise ValueError(f"not a 2/4/6/9/12-digit region code: {code!r}")


class SubjectKind(StrEnum):
    IDENTIFICATION_APPLICATION = "identification_application"
    CASE = "case"
    SOCIAL_ASSISTANCE_APPLICATION = "social_assistance_application"
    RELIEF_REQUEST = "relief_request"
    MEASURE = "measure"
    SUBSIDY_DECISION = "subsidy_decision"


#: Who decides each kind when the owning service does not say (the appeal is routed one above):
#: identification rejections are read from the case history; dibao/特困 are approved by the
#: county (002 篇六 §二; 003), temporary relief within the township's limit by the township (000
#: 社会保障兜底 §三), measures and subsidy decisions by the county departments (DOMAIN.md §6).
DEFAULT_DECIDING_LEVEL: dict[SubjectKind, Level] = {
    SubjectKind.IDENTIFICATION_APPLICATION: Level.TOWNSHIP,
    SubjectKind.CASE: Level.TOWNSHIP,
    SubjectKind.SOCIAL_ASSISTANCE_APPLICATION: Level.COUNTY,
    SubjectKind.RELIEF_REQUEST: Level.TOWNSHIP,
    SubjectKind.MEASURE: Level.COUNTY,
    SubjectKind.SUBSIDY_DECISION: Level.COUNTY,
}

_ROLE_LEVEL = {
    "village": Level.VILLAGE,
    "township": Level.TOWNSHIP,
    "county": Level.COUNTY,
    "province": Level.PROVINCE,
    "admin": Level.PROVINCE,
}


def decided_level(kind: SubjectKind, *, decided_by_role: str | None = None, stated: Level | None = None) -> Level:
    """The level that took the decision: the role recorded by the owning service wins, then what
    the officer filing the appeal states, then the kind's default."""
    if decided_by_role in _ROLE_LEVEL:
        return _ROLE_LEVEL[decided_by_role]
    if stated is not None:
        return stated
    return DEFAULT_DECIDING_LEVEL[kind]


@dataclass(frozen=True, slots=True)
class ReviewRoute:
    decided_level: Level
    review_level: Level
    #: The reviewing unit's region code (a prefix of the household's village code).
    review_region: str
    rule: str


def review_route(household_region: str, decided: Level) -> ReviewRoute:
    """Route to the level above the deciding one, within the household's own region."""
    above = level_above(decided)
    digits = min(LEVEL_DIGITS[above], len(household_region))
    return ReviewRoute(
        decided_level=decided,
        review_level=above,
        review_region=household_region[:digits],
        rule=f"appeal against a {decided} decision is reviewed by the {above} (level above the deciding one)",
    )


class AppealState(StrEnum):
    RECEIVED = "received"
    UNDER_REVIEW = "under_review"
    UPHELD = "upheld"
    OVERTURNED = "overturned"
    PARTLY_UPHELD = "partly_upheld"
    WITHDRAWN = "withdrawn"


class Outcome(StrEnum):
    UPHELD = "upheld"
    OVERTURNED = "overturned"
    PARTLY_UPHELD = "partly_upheld"


class AppealAction(StrEnum):
    START_REVIEW = "start_review"
    DECIDE = "decide"
    WITHDRAW = "withdraw"


OPEN_STATES = frozenset({AppealState.RECEIVED, AppealState.UNDER_REVIEW})


class AppealError(ValueError):
    """An action the state or the caller's standing does not allow (`code` is stable)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


@dataclass(frozen=True, slots=True)
class AppealPolicy:
    """Time limits (calendar days) with their sources."""

    review_days: int
    reminder_lead_days: int
    review_days_source: str = ""
    reminder_lead_days_source: str = ""


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    action: str
    from_state: str | None
    to_state: str
    by: str
    role: str
    at: dt.datetime
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Appellant:
    """Who acts: `reviewer` is an officer whose region covers the review unit; `appellant` the
    citizen who filed (or on whose behalf an officer filed)."""

    role: str
    is_reviewer: bool
    is_appellant: bool
    is_officer_in_region: bool


@dataclass(frozen=True, slots=True)
class Appeal:
    id: str
    state: AppealState
    received_on: dt.date
    deadline: dt.date
    history: tuple[HistoryEntry, ...] = field(default_factory=tuple)
    outcome: Outcome | None = None
    reason: str | None = None
    version: int = 1

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


def deadline_for(received_on: dt.date, policy: AppealPolicy) -> dt.date:
    return received_on + dt.timedelta(days=policy.review_days)


def is_overdue(appeal: Appeal, today: dt.date) -> bool:
    return appeal.is_open and today > appeal.deadline


def allowed_actions(appeal: Appeal, who: Appellant) -> list[str]:
    out: list[str] = []
    if appeal.state is AppealState.RECEIVED and who.is_reviewer:
        out.append(AppealAction.START_REVIEW)
    if appeal.state is AppealState.UNDER_REVIEW and who.is_reviewer:
        out.append(AppealAction.DECIDE)
    if appeal.is_open and (who.is_appellant or who.is_officer_in_region):
        out.append(AppealAction.WITHDRAW)
    return [str(a) for a in out]


def apply_action(
    appeal: Appeal,
    action: AppealAction,
    who: Appellant,
    *,
    by: str,
    at: dt.datetime,
    outcome: Outcome | None = None,
    reason: str | None = None,
) -> Appeal:
    """The appeal after `action`; AppealError when the state or the caller does not allow it."""
    if str(action) not in allowed_actions(appeal, who):
        if not appeal.is_open:
            raise AppealError("appeal_closed", f"the appeal is {appeal.state}: no further action")
        raise AppealError(
            "action_not_allowed",
            f"{action} is not allowed in state {appeal.state} for role {who.role}"
            " (reviewing is for officers of the level above the deciding one; withdrawing for the appellant)",
        )
    if action is AppealAction.START_REVIEW:
        to, note = AppealState.UNDER_REVIEW, reason
    elif action is AppealAction.DECIDE:
        if outcome is None:
            raise AppealError("outcome_required", "decide needs an outcome: upheld, overturned or partly_upheld")
        if not reason or not reason.strip():
            raise AppealError("reason_required", "a decision on an appeal carries its reason")
        to, note = AppealState(str(outcome)), reason
    else:
        to, note = AppealState.WITHDRAWN, reason
    entry = HistoryEntry(str(action), str(appeal.state), str(to), by, who.role, at, note)
    return replace(
        appeal,
        state=to,
        history=(*appeal.history, entry),
        outcome=outcome if action is AppealAction.DECIDE else appeal.outcome,
        reason=note if action is AppealAction.DECIDE else appeal.reason,
        version=appeal.version + 1,
    )


def alerts_due(appeal: Appeal, today: dt.date, policy: AppealPolicy) -> Sequence[tuple[str, str]]:
    """(kind, key) of the alerts an open appeal calls for today: `reminder_due` from `lead` days
    before the deadline, `overdue` the day after it. The key names the deadline, so each alert is
    published once per deadline."""
    if not appeal.is_open:
        return ()
    out: list[tuple[str, str]] = []
    if today >= appeal.deadline - dt.timedelta(days=policy.reminder_lead_days):
        out.append(("reminder_due", f"{appeal.id}:{appeal.deadline.isoformat()}"))
    if today > appeal.deadline:
        out.append(("overdue", f"{appeal.id}:{appeal.deadline.isoformat()}"))
    return out
