"""The case and what it carries (history, objections, negative-list exclusions and their
overrides), the request for an action, and the household facts the §5 guards read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.identification.domain.case_vocabulary import STEPS, Action, CaseState, Procedure, Role

__all__ = [
    "AssemblyDecision",
    "Case",
    "CaseExclusion",
    "ExclusionOverride",
    "HistoryEntry",
    "HouseholdFacts",
    "Objection",
    "TransitionRequest",
]


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
        return self.state in STEPS

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
