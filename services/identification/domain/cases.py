"""The monitoring-case state machine (监测对象识别 / 风险消除程序): steps, who may take them, the
guards of DOMAIN.md §3 and §5, deadlines, history and domain events. Pure: no I/O, no clock.

A case is one run of a procedure for one household::

    identification: submitted → verification → village_review → public_notice
                    → township_review → county_review → monitored
    elimination:    submitted (village proposal) → verification → village_review
                    → public_notice → township_review → county_review → eliminated
    any open step   --reject(reason)--> rejected
    monitored (identification case) --propose_elimination--> opens a new elimination case
    monitored (identification case) --clear--> cleared        (清退, provincial approval)
    eliminated (elimination case)   --rollback--> rolled_back (回退, provincial approval)

Household status is derived by the application layer from its cases: an identification case
stays ``monitored`` ("identification done") while its elimination cases run; an ``eliminated``
elimination case means the household's risk is eliminated; ``rolled_back`` puts the household
back under monitoring (its identification case is still ``monitored``, so a later
``propose_elimination`` starts from there); ``cleared`` removes it. Proposing elimination again
while one is running is refused through ``HouseholdFacts.open_elimination_case_id``.

Who may act (``admin`` may do everything; ``contact``, ``department`` and ``citizen`` may not
transition a case)::

    state            advance            reject             object                   resolve_objection
    submitted        village, township  village, township  -                        -
    verification     village, township  village, township  -                        -
    village_review   village            village            -                        -
    public_notice    village            village            village, township,       village, township
                                                           county, province
    township_review  township           township           -                        -
    county_review    county             county             -                        -
    monitored        propose_elimination: village; clear: province
    eliminated       rollback: province
    any open step    override_exclusion (identification): county, province

Negative list: the exclusions found at opening (``CaseExclusion``) stay on the case; the county's
approval to ``monitored`` is refused (``exclusion_standing``) while one stands, until
``override_exclusion`` records a reason and the village-assembly decision for it.

Objections come from villagers. A citizen's token only sees their own applications (DESIGN.md,
scope), so a villager objecting to a neighbour's case cannot reach it through the API; the
village officer records the objection on the villager's behalf, and any officer level may
record one it received. Opening an identification case (``open_case``) is allowed to a citizen
(self-application), village, township, county and province officers (screening, big-data
warnings) and admin.

Refusals raise ``TransitionRefused`` with a stable ``rule`` code and the source clause. Checks
run in this order, so the reported rule is deterministic: state → role → the request's fields
(investigators, note, reason, objection) → timing (notice period, open objections) → §5 guards.

Times: ``at`` is an aware datetime in local (China Standard) time; all rules use ``at.date()``.
Public notice: the day it is posted is day 1 of ``notice_days`` calendar days; the notice
has run at the end of its last day, so advancing is allowed from the next day (a 5-day notice
posted on the 1st may advance on the 6th, not the 5th).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, ClassVar

from services.identification.domain.calendar import TimeLimitKind, add_months, add_time_limit

__all__ = [
    "ACTION_ROLES",
    "GREEN_CHANNEL_RISK_TYPES",
    "OPEN_ROLES",
    "OVERRIDE_ROLES",
    "RULE_SOURCES",
    "Action",
    "AssemblyDecision",
    "Case",
    "CaseEvent",
    "CaseExclusion",
    "CaseOpened",
    "CaseRejected",
    "CaseState",
    "CaseStatusChanged",
    "EliminationProposed",
    "ExclusionOverridden",
    "ExclusionOverride",
    "GreenChannelOpened",
    "GuardOutcome",
    "HistoryEntry",
    "HouseholdCleared",
    "HouseholdFacts",
    "HouseholdIdentified",
    "HouseholdRolledBack",
    "Objection",
    "ObjectionRaised",
    "ObjectionResolved",
    "Procedure",
    "ProcedurePolicy",
    "RiskEliminated",
    "Role",
    "Rule",
    "TransitionRefused",
    "TransitionRequest",
    "TransitionResult",
    "allowed_actions",
    "apply",
    "elimination_guards",
    "identification_deadline",
    "is_overdue",
    "next_state",
    "open_case",
    "overdue_on",
    "roles_for",
]


# --------------------------------------------------------------------------- vocabulary


class Procedure(StrEnum):
    IDENTIFICATION = "identification"  # 识别认定
    ELIMINATION = "elimination"  # 风险消除


class CaseState(StrEnum):
    SUBMITTED = "submitted"  # 提交申请 / 村提出名单
    VERIFICATION = "verification"  # 入户核实
    VILLAGE_REVIEW = "village_review"  # 村民主评议
    PUBLIC_NOTICE = "public_notice"  # 公示
    TOWNSHIP_REVIEW = "township_review"  # 乡镇审核
    COUNTY_REVIEW = "county_review"  # 县级比对审定
    MONITORED = "monitored"  # 纳入监测 (identification done)
    ELIMINATED = "eliminated"  # 风险消除 (elimination done)
    REJECTED = "rejected"
    ROLLED_BACK = "rolled_back"  # 回退
    CLEARED = "cleared"  # 清退


class Action(StrEnum):
    SUBMIT = "submit"  # history only: the entry that opens an identification case
    ADVANCE = "advance"
    OBJECT = "object"
    RESOLVE_OBJECTION = "resolve_objection"
    REJECT = "reject"
    PROPOSE_ELIMINATION = "propose_elimination"
    ROLLBACK = "rollback"
    CLEAR = "clear"
    OVERRIDE_EXCLUSION = "override_exclusion"  # a recorded village-assembly decision lifts an exclusion


class Role(StrEnum):
    PROVINCE = "province"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"
    CONTACT = "contact"
    DEPARTMENT = "department"
    CITIZEN = "citizen"
    ADMIN = "admin"


class Rule(StrEnum):
    """Stable machine codes of the rules that refuse an action (the API's 409 ``code``)."""

    STATE_NOT_ALLOWED = "state_not_allowed"
    ROLE_NOT_ALLOWED = "role_not_allowed"
    INVESTIGATORS_REQUIRED = "investigators_required"
    NOTE_REQUIRED = "note_required"
    REASON_REQUIRED = "reason_required"
    NOTICE_PERIOD_RUNNING = "notice_period_running"
    OBJECTION_OPEN = "objection_open"
    OBJECTION_NOT_FOUND = "objection_not_found"
    GREEN_CHANNEL_NOT_APPLICABLE = "green_channel_not_applicable"
    ELIMINATION_IN_PROGRESS = "elimination_in_progress"
    FACTS_REQUIRED = "facts_required"
    ELIMINATION_MIN_MONTHS = "elimination_min_months"
    NO_LABOR_SOCIAL_SECURITY = "no_labor_social_security"
    ELIMINATION_INCOME_FLOOR = "elimination_income_floor"
    HALF_YEAR_RULE = "half_year_rule"
    STABLE_YEAR = "stable_year"
    EXCLUSION_STANDING = "exclusion_standing"
    EXCLUSION_NOT_FOUND = "exclusion_not_found"
    ASSEMBLY_DECISION_REQUIRED = "assembly_decision_required"
    MEASURES_OPEN = "measures_open"


RULE_SOURCES: Mapping[Rule, str] = {
    Rule.STATE_NOT_ALLOWED: "DOMAIN.md §3 identification procedure; §5 elimination and exit",
    Rule.ROLE_NOT_ALLOWED: "DESIGN.md Authentication and scope; 002 篇九 §二(五), §四(二)",
    Rule.INVESTIGATORS_REQUIRED: "002 篇九 §二(五) 第二步, §四(二) 第二步: 每组不少于2人",
    Rule.NOTE_REQUIRED: "002 篇九 §二(五) 第三—五步: 评议/审核意见 recorded at every review",
    Rule.REASON_REQUIRED: "DESIGN.md Cases: reject, rollback and clear carry a reason",
    Rule.NOTICE_PERIOD_RUNNING: "002 篇九 §二(五) 第三步 (7天), 篇八 (不少于5天), 篇十二 §(四) (5天)",
    Rule.OBJECTION_OPEN: "002 篇九 §二(五) 第三步, §四(二) 第三步: 有异议的组织调查核实",
    Rule.OBJECTION_NOT_FOUND: "002 篇九 §四(二) 第三步: 有异议的组织调查核实",
    Rule.GREEN_CHANNEL_NOT_APPLICABLE: "002 篇二 §(一)5: 因病因灾因意外事故等突发性变故 绿色通道",
    Rule.ELIMINATION_IN_PROGRESS: "002 篇九 §四(二): one elimination procedure at a time",
    Rule.FACTS_REQUIRED: "DOMAIN.md §5: the guards need the household's facts",
    Rule.ELIMINATION_MIN_MONTHS: "002 篇九 §五: 不低于三个月监测时间以后开展",
    Rule.NO_LABOR_SOCIAL_SECURITY: "002 篇九 §四(一): 对无劳动能力的,落实社会保障措施后,暂不标注风险消除",
    Rule.ELIMINATION_INCOME_FLOOR: "002 篇九 §四(一): 年人均纯收入低于5000元的,不得标注风险消除",
    Rule.HALF_YEAR_RULE: "002 篇二 §(二)4 (Liaoning): 落实帮扶措施不满半年…作为跟踪关注对象",
    Rule.STABLE_YEAR: "002 篇十二 §(六) (Hebei): 返贫致贫因素消除且收入持续稳定超过1年",
    Rule.EXCLUSION_STANDING: "DOMAIN.md §3 Negative list; 002 篇八 不予认定情形; 篇十二 §(三) 一般不得识别",
    Rule.EXCLUSION_NOT_FOUND: "DOMAIN.md §3 Negative list: only a recorded exclusion can be overridden",
    Rule.ASSEMBLY_DECISION_REQUIRED: (
        "DOMAIN.md §3 Negative list; 002 篇十二 §(三): 由村民代表会议…评议通过 (decision date and minutes)"
    ),
    Rule.MEASURES_OPEN: "002 篇九 §四(一): 针对性帮扶措施落实到位 (all measures for the household's risks delivered)",
}


class TransitionRefused(Exception):
    """An action the state, the caller's role, the request or a §5 guard does not allow.

    ``rule`` is the first refusing rule in the documented check order; ``violations`` lists
    every failing guard when several §5 guards refuse at once.
    """

    def __init__(
        self,
        rule: Rule | str,
        message: str,
        *,
        source: str | None = None,
        violations: Sequence[Rule] = (),
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.rule = Rule(rule)
        self.message = message
        self.source = source if source is not None else RULE_SOURCES[self.rule]
        self.violations: tuple[Rule, ...] = tuple(violations) or (self.rule,)
        #: extra members of the 409 problem (e.g. the standing exclusions)
        self.details: Mapping[str, Any] = details or {}
        super().__init__(f"{self.rule}: {message}")


# --------------------------------------------------------------------------- policy


def _int_param(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise ValueError(f"policy parameter {name} must be an integer, got {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"policy parameter {name} must be an integer, got {value!r}") from exc
    if number != number.to_integral_value() or number < minimum:
        raise ValueError(f"policy parameter {name} must be an integer >= {minimum}, got {value!r}")
    return int(number)


def _decimal_param(name: str, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"policy parameter {name} must be a decimal, got {value!r}")
    if isinstance(value, float):
        # floats carry binary noise (0.02 != Decimal(0.02)); policy YAML loads decimals
        value = str(value)
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"policy parameter {name} must be a decimal, got {value!r}") from exc


def _bool_param(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise ValueError(f"policy parameter {name} must be a boolean, got {value!r}")


@dataclass(frozen=True, slots=True)
class ProcedurePolicy:
    """The policy values the procedure needs, by their ``/admin/policies`` parameter names.

    The first five have no default: they differ by province (e.g. ``public_notice_days`` 5 in
    Suining/Lingshou, 7 in Hunan; ``identification_time_limit_days`` 15 calendar days in Liaoning,
    20 working days in Hebei). The others are extensions with documented defaults:
    ``elimination_public_notice_days`` 7 (002 篇九 §四(二)), ``identification_time_limit_kind``
    ``calendar``, ``elimination_min_measure_months`` 0 (off; Liaoning's half-year rule, 002 篇二
    §(三)4, is 6), ``elimination_requires_stable_year`` off (Hebei 篇十二 §(六)) with
    ``elimination_stable_months`` 12, ``department_comparison_days`` 10 (the county's
    cross-department comparison, calendar days from entering ``county_review``; 002 篇二 §四(二)).
    """

    public_notice_days: int
    identification_time_limit_days: int
    elimination_min_months: int
    elimination_income_floor: Decimal
    scale_risk_threshold: Decimal
    elimination_public_notice_days: int = 7
    identification_time_limit_kind: TimeLimitKind = TimeLimitKind.CALENDAR
    elimination_min_measure_months: int = 0
    department_comparison_days: int = 10
    elimination_requires_stable_year: bool = False
    elimination_stable_months: int = 12

    REQUIRED: ClassVar[tuple[str, ...]] = (
        "public_notice_days",
        "identification_time_limit_days",
        "elimination_min_months",
        "elimination_income_floor",
        "scale_risk_threshold",
    )

    def __post_init__(self) -> None:
        for name in ("public_notice_days", "elimination_public_notice_days", "department_comparison_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"policy parameter {name} must be >= 1")
        for name in (
            "identification_time_limit_days",
            "elimination_min_months",
            "elimination_min_measure_months",
            "elimination_stable_months",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"policy parameter {name} must be >= 0")
        if self.elimination_income_floor < 0:
            raise ValueError("policy parameter elimination_income_floor must be >= 0")
        if not Decimal(0) < self.scale_risk_threshold < Decimal(1):
            raise ValueError("policy parameter scale_risk_threshold must be a fraction in (0, 1)")

    @classmethod
    def from_mapping(cls, params: Mapping[str, Any]) -> ProcedurePolicy:
        """Build from resolved policy parameters (e.g. ``ResolvedPolicy.as_dict()``); extra
        names (``monitoring_line`` …) are ignored, a missing required name is a ``KeyError``."""
        missing = [name for name in cls.REQUIRED if name not in params]
        if missing:
            raise KeyError(f"policy parameters missing: {', '.join(missing)}")
        optional: dict[str, Any] = {}
        for name in ("elimination_public_notice_days", "elimination_min_measure_months", "department_comparison_days"):
            if name in params:
                optional[name] = _int_param(name, params[name], minimum=0)
        if "elimination_stable_months" in params:
            optional["elimination_stable_months"] = _int_param(
                "elimination_stable_months", params["elimination_stable_months"], minimum=0
            )
        if "identification_time_limit_kind" in params:
            optional["identification_time_limit_kind"] = TimeLimitKind(params["identification_time_limit_kind"])
        if "elimination_requires_stable_year" in params:
            optional["elimination_requires_stable_year"] = _bool_param(
                "elimination_requires_stable_year", params["elimination_requires_stable_year"]
            )
        return cls(
            public_notice_days=_int_param("public_notice_days", params["public_notice_days"], minimum=1),
            identification_time_limit_days=_int_param(
                "identification_time_limit_days",
                params["identification_time_limit_days"],
                minimum=0,
            ),
            elimination_min_months=_int_param("elimination_min_months", params["elimination_min_months"], minimum=0),
            elimination_income_floor=_decimal_param("elimination_income_floor", params["elimination_income_floor"]),
            scale_risk_threshold=_decimal_param("scale_risk_threshold", params["scale_risk_threshold"]),
            **optional,
        )

    def notice_days_for(self, procedure: Procedure) -> int:
        if procedure is Procedure.ELIMINATION:
            return self.elimination_public_notice_days
        return self.public_notice_days


# --------------------------------------------------------------------------- the case


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One append-only line of a case's history (``from_state`` is None for the opening)."""

    action: Action
    from_state: CaseState | None
    to_state: CaseState
    by: str
    role: Role
    at: dt.datetime
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Objection:
    """An objection raised during the public notice (公示异议) and its investigation."""

    id: str
    raised_by: str
    raised_at: dt.datetime
    text: str
    resolved_by: str | None = None
    resolved_at: dt.datetime | None = None
    resolution: str | None = None

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True, slots=True)
class AssemblyDecision:
    """The recorded village-assembly decision (村民代表会议评议) behind an override: its date and
    the minutes' reference."""

    decided_on: dt.date
    minutes_ref: str


@dataclass(frozen=True, slots=True)
class ExclusionOverride:
    """Who lifted an exclusion, when, why, and on which assembly decision."""

    by: str
    role: Role
    at: dt.datetime
    reason: str
    assembly_decision: AssemblyDecision


@dataclass(frozen=True, slots=True)
class CaseExclusion:
    """A negative-list exclusion (负面清单) found when the case was opened, with its evidence:
    the input flag(s), the policy in force and the clause. It stands until overridden."""

    code: str
    detail: str
    source: str
    inputs: Mapping[str, Any]
    policy_id: str | None = None
    policy_version: str | None = None
    override: ExclusionOverride | None = None

    @property
    def standing(self) -> bool:
        return self.override is None


@dataclass(frozen=True, slots=True)
class Case:
    """One run of a procedure for one household. Immutable: ``apply`` returns a new case."""

    id: str
    household_id: str
    procedure: Procedure
    state: CaseState
    submitted_at: dt.datetime
    category: str | None = None
    risk_types: tuple[str, ...] = ()
    urgent: bool = False  # green channel (绿色通道): assistance may start at submission
    deadline: dt.date | None = None  # identification time limit, fixed at submission
    #: last day of the county's department comparison, fixed on entering county_review
    comparison_due: dt.date | None = None
    notice_started_on: dt.date | None = None
    notice_days: int | None = None
    objections: tuple[Objection, ...] = ()
    investigators: tuple[str, ...] = ()
    monitored_since: dt.date | None = None
    eliminated_on: dt.date | None = None
    parent_case_id: str | None = None  # elimination case → its identification case
    reason: str | None = None  # why it was rejected, rolled back or cleared
    history: tuple[HistoryEntry, ...] = ()
    version: int = 1
    #: negative-list exclusions found at opening; `monitored` needs every one overridden
    exclusions: tuple[CaseExclusion, ...] = ()

    @property
    def standing_exclusions(self) -> tuple[CaseExclusion, ...]:
        return tuple(e for e in self.exclusions if e.standing)

    @property
    def submitted_on(self) -> dt.date:
        return self.submitted_at.date()

    @property
    def is_open(self) -> bool:
        """Still inside its procedure (not at one of the ends)."""
        return self.state in _STEPS

    @property
    def open_objections(self) -> tuple[Objection, ...]:
        return tuple(o for o in self.objections if o.is_open)

    @property
    def notice_ends_on(self) -> dt.date | None:
        """The last day of the public notice (day 1 is the day it was posted)."""
        if self.notice_started_on is None or self.notice_days is None:
            return None
        return self.notice_started_on + dt.timedelta(days=self.notice_days - 1)

    @property
    def assistance_may_start_on(self) -> dt.date | None:
        """Green channel: at submission; otherwise once the household is monitored."""
        if self.procedure is not Procedure.IDENTIFICATION:
            return None
        if self.urgent:
            return self.submitted_on
        return self.monitored_since


@dataclass(frozen=True, slots=True)
class TransitionRequest:
    """An action on a case. ``note`` is the review opinion (or the objection's text, or the
    investigation finding for ``resolve_objection``); ``reason`` is for reject/rollback/clear."""

    action: Action
    by: str
    role: Role | str
    at: dt.datetime
    note: str | None = None
    reason: str | None = None
    investigators: tuple[str, ...] = ()
    objection_id: str | None = None  # which objection ``resolve_objection`` closes
    new_case_id: str | None = None  # id for the elimination case ``propose_elimination`` opens
    exclusion_code: str | None = None  # which exclusion ``override_exclusion`` lifts
    assembly_decision: AssemblyDecision | None = None  # the decision ``override_exclusion`` records


@dataclass(frozen=True, slots=True)
class HouseholdFacts:
    """What the §5 guards need to know about the household, as of the action's date.

    ``only_social_security``: every measure in place is a social-security one (低保, 特困供养,
    pensions…). ``measures_since``: when assistance measures were first in place.
    ``monitored_since`` overrides the case's date when monitoring restarted (after a rollback).
    ``open_elimination_case_id``: an elimination case for the household is still open.
    ``measures_open``: assistance measures not yet closed or dropped (from assistance's events;
    None — nothing heard from assistance — leaves the ``measures_open`` guard out).
    """

    per_capita_income: Decimal
    has_labor_capacity: bool
    only_social_security: bool = False
    measures_since: dt.date | None = None
    risk_factors_removed: bool = False
    income_stable_since: dt.date | None = None
    monitored_since: dt.date | None = None
    open_elimination_case_id: str | None = None
    measures_open: int | None = None


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseEvent:
    """Base of the case's domain events. No names, ID numbers or free text (DESIGN.md Events)."""

    event_type: ClassVar[str] = "case.event"
    case_id: str
    household_id: str
    at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseOpened(CaseEvent):
    event_type: ClassVar[str] = "case.opened"
    procedure: Procedure
    state: CaseState
    urgent: bool
    deadline: dt.date | None
    parent_case_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GreenChannelOpened(CaseEvent):
    event_type: ClassVar[str] = "case.green_channel_opened"
    risk_types: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseStatusChanged(CaseEvent):
    event_type: ClassVar[str] = "case.status_changed"
    procedure: Procedure
    action: Action
    from_state: CaseState
    to_state: CaseState
    by: str
    role: Role


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectionRaised(CaseEvent):
    event_type: ClassVar[str] = "case.objection_raised"
    objection_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectionResolved(CaseEvent):
    event_type: ClassVar[str] = "case.objection_resolved"
    objection_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseRejected(CaseEvent):
    event_type: ClassVar[str] = "case.rejected"
    procedure: Procedure
    from_state: CaseState


@dataclass(frozen=True, slots=True, kw_only=True)
class ExclusionOverridden(CaseEvent):
    event_type: ClassVar[str] = "case.exclusion_overridden"
    exclusion_code: str
    by: str
    role: Role
    reason: str
    assembly_decision: AssemblyDecision


@dataclass(frozen=True, slots=True, kw_only=True)
class HouseholdIdentified(CaseEvent):
    event_type: ClassVar[str] = "risk.household_identified"
    category: str | None
    risk_types: tuple[str, ...]
    monitored_since: dt.date
    within_time_limit: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class EliminationProposed(CaseEvent):
    event_type: ClassVar[str] = "risk.elimination_proposed"
    elimination_case_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskEliminated(CaseEvent):
    event_type: ClassVar[str] = "risk.eliminated"
    eliminated_on: dt.date
    parent_case_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class HouseholdRolledBack(CaseEvent):
    event_type: ClassVar[str] = "risk.rolled_back"
    parent_case_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class HouseholdCleared(CaseEvent):
    event_type: ClassVar[str] = "risk.cleared"


@dataclass(frozen=True, slots=True)
class TransitionResult:
    """The new case, the events to write to the outbox, and a case the action opened."""

    case: Case
    events: tuple[CaseEvent, ...] = ()
    opened_case: Case | None = None


# --------------------------------------------------------------------------- tables

_STEPS: tuple[CaseState, ...] = (
    CaseState.SUBMITTED,
    CaseState.VERIFICATION,
    CaseState.VILLAGE_REVIEW,
    CaseState.PUBLIC_NOTICE,
    CaseState.TOWNSHIP_REVIEW,
    CaseState.COUNTY_REVIEW,
)
_REVIEWS = frozenset({CaseState.VILLAGE_REVIEW, CaseState.TOWNSHIP_REVIEW, CaseState.COUNTY_REVIEW})
_OFFICERS = frozenset({Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY, Role.PROVINCE})

_STEP_ROLES: Mapping[CaseState, frozenset[Role]] = {
    CaseState.SUBMITTED: frozenset({Role.VILLAGE, Role.TOWNSHIP}),
    CaseState.VERIFICATION: frozenset({Role.VILLAGE, Role.TOWNSHIP}),
    CaseState.VILLAGE_REVIEW: frozenset({Role.VILLAGE}),
    CaseState.PUBLIC_NOTICE: frozenset({Role.VILLAGE}),
    CaseState.TOWNSHIP_REVIEW: frozenset({Role.TOWNSHIP}),
    CaseState.COUNTY_REVIEW: frozenset({Role.COUNTY}),
}

#: (state, action) → the roles (besides ``admin``) that may take it; absent = state refuses.
ACTION_ROLES: Mapping[tuple[CaseState, Action], frozenset[Role]] = {
    **{(state, Action.ADVANCE): roles for state, roles in _STEP_ROLES.items()},
    **{(state, Action.REJECT): roles for state, roles in _STEP_ROLES.items()},
    (CaseState.PUBLIC_NOTICE, Action.OBJECT): _OFFICERS,
    (CaseState.PUBLIC_NOTICE, Action.RESOLVE_OBJECTION): frozenset({Role.VILLAGE, Role.TOWNSHIP}),
    (CaseState.MONITORED, Action.PROPOSE_ELIMINATION): frozenset({Role.VILLAGE}),
    (CaseState.MONITORED, Action.CLEAR): frozenset({Role.PROVINCE}),
    (CaseState.ELIMINATED, Action.ROLLBACK): frozenset({Role.PROVINCE}),
    (CaseState.ELIMINATED, Action.CLEAR): frozenset({Role.PROVINCE}),
    **{(state, Action.OVERRIDE_EXCLUSION): frozenset({Role.COUNTY, Role.PROVINCE}) for state in _STEP_ROLES},
}

#: Who may lift a negative-list exclusion on a recorded village-assembly decision (besides admin).
OVERRIDE_ROLES = frozenset({Role.COUNTY, Role.PROVINCE})

#: Roles that may open an identification case (self-application or officer/platform discovery).
OPEN_ROLES = frozenset({Role.CITIZEN, Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY, Role.PROVINCE, Role.ADMIN})

#: Risk types (and the category) that qualify for the green channel (002 篇二 §(一)5).
GREEN_CHANNEL_RISK_TYPES = frozenset({"illness", "disaster", "natural_disaster", "accident"})
_GREEN_CHANNEL_CATEGORY = "sudden_hardship"

#: Actions a caller may send to ``apply``, in the order ``allowed_actions`` lists them.
_TRANSITION_ACTIONS: tuple[Action, ...] = (
    Action.ADVANCE,
    Action.OBJECT,
    Action.RESOLVE_OBJECTION,
    Action.REJECT,
    Action.PROPOSE_ELIMINATION,
    Action.ROLLBACK,
    Action.CLEAR,
    Action.OVERRIDE_EXCLUSION,
)


def _procedure_allows(procedure: Procedure, state: CaseState, action: Action) -> bool:
    """Proposing elimination starts from the identification case; rollback undoes an
    elimination; clear-out (wrongly identified) ends either case — a monitored household's
    identification case or an eliminated household's elimination case (DESIGN.md: "a monitored
    or eliminated household may later be rolled_back or cleared")."""
    if action is Action.PROPOSE_ELIMINATION:
        return procedure is Procedure.IDENTIFICATION
    if action is Action.CLEAR:
        return (procedure, state) in (
            (Procedure.IDENTIFICATION, CaseState.MONITORED),
            (Procedure.ELIMINATION, CaseState.ELIMINATED),
        )
    if action is Action.ROLLBACK:
        return procedure is Procedure.ELIMINATION
    if action is Action.OVERRIDE_EXCLUSION:
        return procedure is Procedure.IDENTIFICATION
    return True


def next_state(procedure: Procedure, state: CaseState) -> CaseState | None:
    """The state ``advance`` leads to, or None at an end."""
    if state not in _STEPS:
        return None
    index = _STEPS.index(state)
    if index + 1 < len(_STEPS):
        return _STEPS[index + 1]
    return CaseState.MONITORED if procedure is Procedure.IDENTIFICATION else CaseState.ELIMINATED


def roles_for(case: Case, action: Action) -> frozenset[Role]:
    """Who may take ``action`` on ``case`` in its current state (``admin`` included)."""
    if not _procedure_allows(case.procedure, case.state, action):
        return frozenset()
    roles = ACTION_ROLES.get((case.state, action))
    if roles is None:
        return frozenset()
    return roles | {Role.ADMIN}


# --------------------------------------------------------------------------- deadlines


def identification_deadline(
    submitted_on: dt.date,
    policy: ProcedurePolicy,
    holidays: Collection[dt.date] = frozenset(),
) -> dt.date:
    """Last day to finish identification (Liaoning ≤ 15 days, Hebei ≤ 20 working days)."""
    return add_time_limit(
        submitted_on,
        policy.identification_time_limit_days,
        policy.identification_time_limit_kind,
        holidays,
    )


def is_overdue(case: Case, today: dt.date) -> bool:
    """An open case past its deadline, or in county review past the department comparison's
    (the last day itself is still in time)."""
    return overdue_on(
        today, is_open=case.is_open, state=case.state, deadline=case.deadline, comparison_due=case.comparison_due
    )


def overdue_on(
    today: dt.date,
    *,
    is_open: bool,
    state: CaseState | str,
    deadline: dt.date | None,
    comparison_due: dt.date | None,
) -> bool:
    """`is_overdue` from a case's stored columns."""
    if not is_open:
        return False
    if deadline is not None and today > deadline:
        return True
    return state == CaseState.COUNTY_REVIEW and comparison_due is not None and today > comparison_due


# --------------------------------------------------------------------------- guards


@dataclass(frozen=True, slots=True)
class GuardOutcome:
    """One §5 guard's verdict with its explanation."""

    rule: Rule
    passed: bool
    detail: str
    source: str


def elimination_guards(
    *,
    monitored_since: dt.date | None,
    facts: HouseholdFacts,
    policy: ProcedurePolicy,
    on: dt.date,
    approval: bool = False,
) -> tuple[GuardOutcome, ...]:
    """Every §5 guard on proposing or approving elimination on ``on``, passed or not.
    ``approval``: the county's approval, which also needs every measure delivered
    (``measures_open``, when assistance has told the measures).

    Months are calendar months clamped to the month end (``calendar.add_months``): monitored
    since 2024-01-31 → three months are reached on 2024-04-30.
    """
    since = facts.monitored_since or monitored_since
    outcomes: list[GuardOutcome] = []

    def add(rule: Rule, passed: bool, detail: str) -> None:
        outcomes.append(GuardOutcome(rule, passed, detail, RULE_SOURCES[rule]))

    if since is None:
        add(Rule.ELIMINATION_MIN_MONTHS, False, "the date monitoring started is unknown")
    else:
        earliest = add_months(since, policy.elimination_min_months)
        add(
            Rule.ELIMINATION_MIN_MONTHS,
            on >= earliest,
            f"monitored since {since}; at least {policy.elimination_min_months} months "
            f"of monitoring are reached on {earliest}",
        )
    no_labor = not facts.has_labor_capacity and facts.only_social_security
    add(
        Rule.NO_LABOR_SOCIAL_SECURITY,
        not no_labor,
        "a household without labour capacity given only social security is not eliminated"
        if no_labor
        else "household has labour capacity or measures beyond social security",
    )
    floor = policy.elimination_income_floor
    add(
        Rule.ELIMINATION_INCOME_FLOOR,
        facts.per_capita_income >= floor,
        f"per-capita income {facts.per_capita_income} against the floor {floor}",
    )
    months = policy.elimination_min_measure_months
    if months > 0:
        if facts.measures_since is None:
            add(
                Rule.HALF_YEAR_RULE,
                False,
                "half-year rule (Liaoning): keep as tracked — no assistance measures recorded "
                "(give measures_since: when the household's assistance measures started)",
            )
        else:
            earliest = add_months(facts.measures_since, months)
            passed = on >= earliest
            add(
                Rule.HALF_YEAR_RULE,
                passed,
                f"measures in place since {facts.measures_since}; {months} months are reached "
                f"on {earliest}" + ("" if passed else "; half-year rule (Liaoning): keep as tracked"),
            )
    if policy.elimination_requires_stable_year:
        stable = facts.income_stable_since
        if not facts.risk_factors_removed or stable is None:
            add(Rule.STABLE_YEAR, False, "risk factors not removed or income not yet stable")
        else:
            after = add_months(stable, policy.elimination_stable_months)
            add(
                Rule.STABLE_YEAR,
                on > after,
                f"income stable since {stable}; must be stable for more than "
                f"{policy.elimination_stable_months} months (after {after})",
            )
    if approval and facts.measures_open is not None:
        add(
            Rule.MEASURES_OPEN,
            facts.measures_open == 0,
            f"{facts.measures_open} assistance measure(s) not yet closed or dropped",
        )
    return tuple(outcomes)


def _enforce_guards(
    monitored_since: dt.date | None,
    facts: HouseholdFacts | None,
    policy: ProcedurePolicy,
    on: dt.date,
    approval: bool = False,
) -> None:
    if facts is None:
        raise TransitionRefused(Rule.FACTS_REQUIRED, "the household's facts are needed")
    failed = [
        o
        for o in elimination_guards(
            monitored_since=monitored_since, facts=facts, policy=policy, on=on, approval=approval
        )
        if not o.passed
    ]
    if failed:
        first = failed[0]
        raise TransitionRefused(
            first.rule,
            first.detail,
            source=first.source,
            violations=[o.rule for o in failed],
        )


# --------------------------------------------------------------------------- opening


def open_case(
    *,
    case_id: str,
    household_id: str,
    by: str,
    role: Role | str,
    at: dt.datetime,
    policy: ProcedurePolicy,
    category: str | None = None,
    risk_types: Sequence[str] = (),
    urgent: bool = False,
    note: str | None = None,
    holidays: Collection[dt.date] = frozenset(),
    exclusions: Sequence[CaseExclusion] = (),
) -> TransitionResult:
    """Open an identification case at ``submitted`` with its deadline fixed from ``policy``,
    carrying the negative-list ``exclusions`` the assessment found (they block ``monitored``).

    ``urgent`` (green channel) needs a sudden illness/disaster/accident: the category
    ``sudden_hardship`` or one of ``GREEN_CHANNEL_RISK_TYPES``.
    """
    actor = _role(role)
    if actor not in OPEN_ROLES:
        raise TransitionRefused(Rule.ROLE_NOT_ALLOWED, f"role {actor} may not open a case")
    risks = tuple(risk_types)
    if urgent and category != _GREEN_CHANNEL_CATEGORY and not GREEN_CHANNEL_RISK_TYPES & set(risks):
        raise TransitionRefused(
            Rule.GREEN_CHANNEL_NOT_APPLICABLE,
            "the green channel is for sudden illness, disaster or accident",
        )
    deadline = identification_deadline(at.date(), policy, holidays)
    case = Case(
        id=case_id,
        household_id=household_id,
        procedure=Procedure.IDENTIFICATION,
        state=CaseState.SUBMITTED,
        submitted_at=at,
        category=category,
        risk_types=risks,
        urgent=urgent,
        deadline=deadline,
        history=(HistoryEntry(Action.SUBMIT, None, CaseState.SUBMITTED, by, actor, at, _clean(note)),),
        exclusions=tuple(exclusions),
    )
    events: list[CaseEvent] = [
        CaseOpened(
            case_id=case_id,
            household_id=household_id,
            at=at,
            procedure=Procedure.IDENTIFICATION,
            state=CaseState.SUBMITTED,
            urgent=urgent,
            deadline=deadline,
        )
    ]
    if urgent:
        events.append(GreenChannelOpened(case_id=case_id, household_id=household_id, at=at, risk_types=risks))
    return TransitionResult(case=case, events=tuple(events))


# --------------------------------------------------------------------------- apply


def _role(value: Role | str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise TransitionRefused(Rule.ROLE_NOT_ALLOWED, f"unknown role {value!r}") from None


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    stripped = text.strip()
    return stripped or None


def _require_note(request: TransitionRequest, what: str) -> str:
    note = _clean(request.note)
    if note is None:
        raise TransitionRefused(Rule.NOTE_REQUIRED, f"{what} needs a note")
    return note


def _require_reason(request: TransitionRequest, action: Action) -> str:
    """The reason of a reject / rollback / clear: `reason`, or `note` when only that was given."""
    reason = _clean(request.reason) or _clean(request.note)
    if reason is None:
        raise TransitionRefused(Rule.REASON_REQUIRED, f"{action} needs a reason")
    return reason


def _step(
    case: Case,
    request: TransitionRequest,
    role: Role,
    to_state: CaseState,
    note: str | None,
    **changes: Any,
) -> Case:
    entry = HistoryEntry(request.action, case.state, to_state, request.by, role, request.at, note)
    return replace(
        case,
        state=to_state,
        history=(*case.history, entry),
        version=case.version + 1,
        **changes,
    )


def _status_changed(before: Case, after: Case, request: TransitionRequest, role: Role) -> CaseEvent:
    return CaseStatusChanged(
        case_id=after.id,
        household_id=after.household_id,
        at=request.at,
        procedure=after.procedure,
        action=request.action,
        from_state=before.state,
        to_state=after.state,
        by=request.by,
        role=role,
    )


def _advance(
    case: Case,
    request: TransitionRequest,
    role: Role,
    policy: ProcedurePolicy,
    facts: HouseholdFacts | None,
) -> TransitionResult:
    target = next_state(case.procedure, case.state)
    assert target is not None  # the state table only lets open steps advance
    today = request.at.date()
    changes: dict[str, Any] = {}
    note = _clean(request.note)
    if case.state is CaseState.VERIFICATION:
        names = tuple(dict.fromkeys(n.strip() for n in request.investigators if n.strip()))
        if len(names) < 2:
            raise TransitionRefused(
                Rule.INVESTIGATORS_REQUIRED,
                f"household verification needs at least 2 investigators, got {len(names)}",
            )
        changes["investigators"] = names
        recorded = "investigators: " + ", ".join(names)
        note = f"{recorded}; {note}" if note else recorded
    if case.state in _REVIEWS:
        note = _require_note(request, str(case.state).replace("_", " "))
    if case.state is CaseState.VILLAGE_REVIEW:
        changes.update(
            notice_started_on=today,
            notice_days=policy.notice_days_for(case.procedure),
            objections=(),
        )
    if case.state is CaseState.PUBLIC_NOTICE:
        ends = case.notice_ends_on
        if ends is not None and today <= ends:
            raise TransitionRefused(
                Rule.NOTICE_PERIOD_RUNNING,
                f"the {case.notice_days}-day public notice runs until {ends}",
            )
        if case.open_objections:
            raise TransitionRefused(
                Rule.OBJECTION_OPEN,
                f"{len(case.open_objections)} objection(s) not yet investigated",
            )
    if target is CaseState.COUNTY_REVIEW:
        changes["comparison_due"] = today + dt.timedelta(days=policy.department_comparison_days)
    if target is CaseState.ELIMINATED:
        _enforce_guards(case.monitored_since, facts, policy, today, approval=True)
        changes["eliminated_on"] = today
    if target is CaseState.MONITORED:
        standing = case.standing_exclusions
        if standing:
            codes = [e.code for e in standing]
            raise TransitionRefused(
                Rule.EXCLUSION_STANDING,
                f"on the negative list ({', '.join(codes)}): a county officer must first override "
                "each exclusion on a recorded village-assembly decision",
                details={"exclusions": [{"code": e.code, "detail": e.detail, "source": e.source} for e in standing]},
            )
        changes["monitored_since"] = today
    new = _step(case, request, role, target, note, **changes)
    events: list[CaseEvent] = [_status_changed(case, new, request, role)]
    if target is CaseState.MONITORED:
        events.append(
            HouseholdIdentified(
                case_id=new.id,
                household_id=new.household_id,
                at=request.at,
                category=new.category,
                risk_types=new.risk_types,
                monitored_since=today,
                within_time_limit=case.deadline is None or today <= case.deadline,
            )
        )
    if target is CaseState.ELIMINATED:
        events.append(
            RiskEliminated(
                case_id=new.id,
                household_id=new.household_id,
                at=request.at,
                eliminated_on=today,
                parent_case_id=new.parent_case_id,
            )
        )
    return TransitionResult(case=new, events=tuple(events))


def _object(
    case: Case,
    request: TransitionRequest,
    role: Role,
    policy: ProcedurePolicy,
    facts: HouseholdFacts | None,
) -> TransitionResult:
    text = _clean(request.note) or _clean(request.reason)  # what the objection says, in either field
    if text is None:
        raise TransitionRefused(Rule.NOTE_REQUIRED, "an objection needs a note (what is objected)")
    objection = Objection(
        id=f"objection-{len(case.objections) + 1}",
        raised_by=request.by,
        raised_at=request.at,
        text=text,
    )
    new = _step(case, request, role, case.state, text, objections=(*case.objections, objection))
    event = ObjectionRaised(case_id=new.id, household_id=new.household_id, at=request.at, objection_id=objection.id)
    return TransitionResult(case=new, events=(event,))


def _resolve_objection(
    case: Case,
    request: TransitionRequest,
    role: Role,
    policy: ProcedurePolicy,
    facts: HouseholdFacts | None,
) -> TransitionResult:
    open_ones = case.open_objections
    if request.objection_id is None:
        if len(open_ones) != 1:
            raise TransitionRefused(
                Rule.OBJECTION_NOT_FOUND,
                f"{len(open_ones)} open objections: name the one resolved (objection_id)",
            )
        target = open_ones[0]
    else:
        found = [o for o in open_ones if o.id == request.objection_id]
        if not found:
            raise TransitionRefused(Rule.OBJECTION_NOT_FOUND, f"no open objection {request.objection_id!r}")
        target = found[0]
    finding = _require_note(request, "resolving an objection")
    resolved = replace(target, resolved_by=request.by, resolved_at=request.at, resolution=finding)
    objections = tuple(resolved if o.id == target.id else o for o in case.objections)
    new = _step(case, request, role, case.state, f"{target.id}: {finding}", objections=objections)
    event = ObjectionResolved(case_id=new.id, household_id=new.household_id, at=request.at, objection_id=target.id)
    return TransitionResult(case=new, events=(event,))


def _to_end_state(
    case: Case,
    request: TransitionRequest,
    role: Role,
    action: Action,
    to_state: CaseState,
    specific: Callable[[Case], CaseEvent],
) -> TransitionResult:
    """reject / rollback / clear: a reason is required, the case ends in `to_state`, and the
    status change is published together with the action's own event."""
    reason = _require_reason(request, action)
    new = _step(case, request, role, to_state, reason, reason=reason)
    return TransitionResult(case=new, events=(_status_changed(case, new, request, role), specific(new)))


def _reject(
    case: Case,
    request: TransitionRequest,
    role: Role,
    policy: ProcedurePolicy,
    facts: HouseholdFacts | None,
) -> TransitionResult:
    return _to_end_state(
        case,
        request,
        role,
        Action.REJECT,
        CaseState.REJECTED,
        lambda new: CaseRejected(
            case_id=new.id,
            household_id=new.household_id,
            at=request.at,
            procedure=new.procedure,
            from_state=case.state,
        ),
    )


def _propose_elimination(
    case: Case,
    request: TransitionRequest,
    role: Role,
    policy: ProcedurePolicy,
    facts: HouseholdFacts | None,
) -> TransitionResult:
    if facts is not None and facts.open_elimination_case_id is not None:
        raise TransitionRefused(
            Rule.ELIMINATION_IN_PROGRESS,
            f"elimination case {facts.open_elimination_case_id} is still open",
        )
    today = request.at.date()
    _enforce_guards(case.monitored_since, facts, policy, today)
    assert facts is not None  # _enforce_guards refuses without facts
    proposals = sum(1 for e in case.history if e.action is Action.PROPOSE_ELIMINATION)
    new_id = request.new_case_id or f"{case.id}/elimination/{proposals + 1}"
    note = _clean(request.note)
    opened = Case(
        id=new_id,
        household_id=case.household_id,
        procedure=Procedure.ELIMINATION,
        state=CaseState.SUBMITTED,
        submitted_at=request.at,
        category=case.category,
        risk_types=case.risk_types,
        monitored_since=facts.monitored_since or case.monitored_since,
        parent_case_id=case.id,
        history=(
            HistoryEntry(
                Action.PROPOSE_ELIMINATION,
                None,
                CaseState.SUBMITTED,
                request.by,
                role,
                request.at,
                note,
            ),
        ),
    )
    opened_note = f"elimination case {new_id} opened" + (f"; {note}" if note else "")
    new = _step(case, request, role, case.state, opened_note)
    events = (
        EliminationProposed(
            case_id=case.id,
            household_id=case.household_id,
            at=request.at,
            elimination_case_id=new_id,
        ),
        CaseOpened(
            case_id=new_id,
            household_id=case.household_id,
            at=request.at,
            procedure=Procedure.ELIMINATION,
            state=CaseState.SUBMITTED,
            urgent=False,
            deadline=None,
            parent_case_id=case.id,
        ),
    )
    return TransitionResult(case=new, events=events, opened_case=opened)


def _rollback(
    case: Case,
    request: TransitionRequest,
    role: Role,
    policy: ProcedurePolicy,
    facts: HouseholdFacts | None,
) -> TransitionResult:
    return _to_end_state(
        case,
        request,
        role,
        Action.ROLLBACK,
        CaseState.ROLLED_BACK,
        lambda new: HouseholdRolledBack(
            case_id=new.id, household_id=new.household_id, at=request.at, parent_case_id=new.parent_case_id
        ),
    )


def _clear(
    case: Case,
    request: TransitionRequest,
    role: Role,
    policy: ProcedurePolicy,
    facts: HouseholdFacts | None,
) -> TransitionResult:
    return _to_end_state(
        case,
        request,
        role,
        Action.CLEAR,
        CaseState.CLEARED,
        lambda new: HouseholdCleared(case_id=new.id, household_id=new.household_id, at=request.at),
    )


def _override_exclusion(
    case: Case,
    request: TransitionRequest,
    role: Role,
    policy: ProcedurePolicy,
    facts: HouseholdFacts | None,
) -> TransitionResult:
    """Lift one standing exclusion: a reason and the village-assembly decision (date, minutes
    reference) are required; the exclusion stays on record with its override."""
    standing = case.standing_exclusions
    code = _clean(request.exclusion_code)
    if code is None and len(standing) == 1:
        code = standing[0].code
    target = next((e for e in standing if e.code == code), None)
    if target is None:
        raise TransitionRefused(
            Rule.EXCLUSION_NOT_FOUND,
            f"no standing exclusion {code!r}" if code else f"{len(standing)} standing exclusions: name one",
        )
    reason = _require_reason(request, Action.OVERRIDE_EXCLUSION)
    decision = request.assembly_decision
    if decision is None or not decision.minutes_ref.strip():
        raise TransitionRefused(
            Rule.ASSEMBLY_DECISION_REQUIRED,
            "an override needs the village-assembly decision: its date and minutes reference",
        )
    override = ExclusionOverride(request.by, role, request.at, reason, decision)
    exclusions = tuple(replace(e, override=override) if e is target else e for e in case.exclusions)
    note = (
        f"exclusion {target.code} overridden: assembly decision {decision.minutes_ref} "
        f"of {decision.decided_on}; {reason}"
    )
    new = _step(case, request, role, case.state, note, exclusions=exclusions)
    event = ExclusionOverridden(
        case_id=new.id,
        household_id=new.household_id,
        at=request.at,
        exclusion_code=target.code,
        by=request.by,
        role=role,
        reason=reason,
        assembly_decision=decision,
    )
    return TransitionResult(case=new, events=(event,))


_Handler = Callable[[Case, TransitionRequest, Role, ProcedurePolicy, HouseholdFacts | None], TransitionResult]

_HANDLERS: Mapping[Action, _Handler] = {
    Action.ADVANCE: _advance,
    Action.OBJECT: _object,
    Action.RESOLVE_OBJECTION: _resolve_objection,
    Action.REJECT: _reject,
    Action.PROPOSE_ELIMINATION: _propose_elimination,
    Action.ROLLBACK: _rollback,
    Action.CLEAR: _clear,
    Action.OVERRIDE_EXCLUSION: _override_exclusion,
}


def apply(
    case: Case,
    request: TransitionRequest,
    *,
    policy: ProcedurePolicy,
    facts: HouseholdFacts | None = None,
) -> TransitionResult:
    """Take ``request`` on ``case``: a new case (the old one is untouched) and its events.

    Raises ``TransitionRefused`` with the refusing rule. ``facts`` is needed only by
    ``propose_elimination`` and by the county's approval of an elimination case.
    """
    try:
        action = Action(request.action)
    except ValueError:
        raise TransitionRefused(Rule.STATE_NOT_ALLOWED, f"unknown action {request.action!r}") from None
    handler = _HANDLERS.get(action)
    if (
        handler is None
        or (case.state, action) not in ACTION_ROLES
        or not _procedure_allows(case.procedure, case.state, action)
    ):
        raise TransitionRefused(
            Rule.STATE_NOT_ALLOWED,
            f"{action} is not possible on a {case.procedure} case in state {case.state}",
        )
    role = _role(request.role)
    if role not in roles_for(case, action):
        raise TransitionRefused(Rule.ROLE_NOT_ALLOWED, f"role {role} may not {action} in state {case.state}")
    return handler(case, replace(request, action=action), role, policy, facts)


def allowed_actions(
    case: Case,
    role: Role | str,
    *,
    today: dt.date,
    policy: ProcedurePolicy,
    facts: HouseholdFacts | None = None,
) -> list[str]:
    """The actions ``role`` could take on ``case`` today, given complete request fields.

    State, role, timing (notice period, open objections) and the §5 guards are checked; the
    request's own fields (note, reason, investigators) are assumed supplied. Without ``facts``,
    actions that need them (``propose_elimination``, approving an elimination) are not listed.
    """
    try:
        actor = _role(role)
    except TransitionRefused:
        return []
    at = dt.datetime.combine(today, dt.time(12, 0))
    open_ids = [o.id for o in case.open_objections]
    standing = case.standing_exclusions
    allowed: list[str] = []
    for action in _TRANSITION_ACTIONS:
        probe = TransitionRequest(
            action=action,
            by="probe",
            role=actor,
            at=at,
            note="probe",
            reason="probe",
            investigators=("probe-1", "probe-2"),
            objection_id=open_ids[0] if open_ids else None,
            exclusion_code=standing[0].code if standing else None,
            assembly_decision=AssemblyDecision(today, "probe"),
        )
        try:
            apply(case, probe, policy=policy, facts=facts)
        except TransitionRefused:
            continue
        allowed.append(str(action))
    return allowed
