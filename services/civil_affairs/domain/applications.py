"""The dibao / 特困 application procedure (低保、特困申请审核确认): states, who may act, time
limits, history and the rule that refuses an action. Pure: no I/O, no clock (`at` is passed in).

    submitted --accept--> economic_check --(check passed)--> township_review --advance--> public_notice
      --advance (notice run)--> county_review --approve--> approved            (enrolment opens)
    economic_check --(check failed / income above the line after the check)--> rejected
    any open state --reject(reason)--> rejected;  --withdraw--> withdrawn

Who may act (admin may do everything)::

    state            accept/advance/approve      reject              withdraw
    submitted        accept: village, township   township            the applicant (citizen), officers
    economic_check   (the check result)          township            the applicant, officers
    township_review  advance: township           township            the applicant, officers
    public_notice    advance: township           township            the applicant, officers
    county_review    approve: county             county              the applicant, officers

Time limits (policy, per region — see policy/programmes.yaml for each source): the township's
review (acceptance, economic check, review, notice) within `township_review_working_days` of
submission; the notice runs `public_notice_days` calendar days (the posting day is day 1, advancing
is allowed from the day after the last); county approval within `county_review_working_days` of
reaching it; the whole procedure within `total_limit_working_days`. Working days are Monday to
Friday (no holiday calendar is configured).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from services.civil_affairs.domain.programmes import CategoryDecision, HouseholdFacts, Programme, ProgrammePolicy

__all__ = [
    "Action",
    "Application",
    "ApplicationState",
    "Limits",
    "TransitionRefused",
    "add_working_days",
    "allowed_actions",
    "apply_action",
    "apply_check_outcome",
    "new_application",
]


class ApplicationState(StrEnum):
    SUBMITTED = "submitted"  # 申请
    ECONOMIC_CHECK = "economic_check"  # 家庭经济状况核对
    TOWNSHIP_REVIEW = "township_review"  # 乡镇审核
    PUBLIC_NOTICE = "public_notice"  # 公示
    COUNTY_REVIEW = "county_review"  # 县级审批
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


OPEN = frozenset(
    {
        ApplicationState.SUBMITTED,
        ApplicationState.ECONOMIC_CHECK,
        ApplicationState.TOWNSHIP_REVIEW,
        ApplicationState.PUBLIC_NOTICE,
        ApplicationState.COUNTY_REVIEW,
    }
)


class Action(StrEnum):
    SUBMIT = "submit"  # history only
    ACCEPT = "accept"  # 受理: sends the economic-check request
    CHECK_RESULT = "check_result"  # history only: the check system answered
    CHECK_TIMED_OUT = "check_timed_out"  # history only
    ADVANCE = "advance"
    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    REOPEN = "reopen"  # history only: an appeal overturned the rejection


#: (state, action) → (roles, next state); the applicant's withdrawal is checked separately.
_STEPS: dict[tuple[ApplicationState, Action], tuple[frozenset[str], ApplicationState]] = {
    (ApplicationState.SUBMITTED, Action.ACCEPT): (frozenset({"village", "township"}), ApplicationState.ECONOMIC_CHECK),
    (ApplicationState.TOWNSHIP_REVIEW, Action.ADVANCE): (frozenset({"township"}), ApplicationState.PUBLIC_NOTICE),
    (ApplicationState.PUBLIC_NOTICE, Action.ADVANCE): (frozenset({"township"}), ApplicationState.COUNTY_REVIEW),
    (ApplicationState.COUNTY_REVIEW, Action.APPROVE): (frozenset({"county"}), ApplicationState.APPROVED),
}
_REJECT_ROLES = {
    ApplicationState.SUBMITTED: frozenset({"township"}),
    ApplicationState.ECONOMIC_CHECK: frozenset({"township"}),
    ApplicationState.TOWNSHIP_REVIEW: frozenset({"township"}),
    ApplicationState.PUBLIC_NOTICE: frozenset({"township"}),
    ApplicationState.COUNTY_REVIEW: frozenset({"county"}),
}
_OFFICERS = frozenset({"village", "township", "county", "province"})
SOURCE_PROCEDURE = (
    "003 §二(五) 严格社会救助审核确认环节; 002 篇十四 §(三) 申请受理、家庭经济状况调查、初审公示、审核确认"
)


class TransitionRefused(Exception):
    """An action the procedure does not allow now: `rule` is the stable code, `source` the clause."""

    def __init__(self, rule: str, message: str, source: str = SOURCE_PROCEDURE) -> None:
        super().__init__(message)
        self.rule, self.message, self.source = rule, message, source


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The day `days` working days (Mon–Fri) after `start`."""
    d, left = start, days
    while left > 0:
        d += dt.timedelta(days=1)
        if d.weekday() < 5:
            left -= 1
    return d


@dataclass(frozen=True, slots=True)
class Limits:
    """The procedure's time limits in force when the application was submitted (kept on it)."""

    township_review_working_days: int
    public_notice_days: int
    county_review_working_days: int
    total_limit_working_days: int
    economic_check_days: int
    sources: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_policy(cls, p: ProgrammePolicy) -> Limits:
        names = (
            "township_review_working_days",
            "public_notice_days",
            "county_review_working_days",
            "total_limit_working_days",
            "economic_check_days",
        )
        return cls(**{n: p.int(n) for n in names}, sources={n: p.sources[n] for n in names})

    def to_doc(self) -> dict[str, Any]:
        return {
            "township_review_working_days": self.township_review_working_days,
            "public_notice_days": self.public_notice_days,
            "county_review_working_days": self.county_review_working_days,
            "total_limit_working_days": self.total_limit_working_days,
            "economic_check_days": self.economic_check_days,
            "sources": dict(self.sources),
        }

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> Limits:
        return cls(**{k: v for k, v in d.items() if k != "sources"}, sources=dict(d.get("sources", {})))


@dataclass(frozen=True, slots=True)
class Application:
    id: str
    programme: Programme
    region_code: str
    household_id: str
    state: ApplicationState
    submitted_at: dt.datetime
    state_since: dt.date
    facts: HouseholdFacts
    decision: CategoryDecision
    limits: Limits
    submitter_role: str
    submitter_index: str
    history: tuple[dict[str, Any], ...] = ()
    notice_posted_on: dt.date | None = None
    check: dict[str, Any] | None = None
    version: int = 1

    # ---------------------------------------------------------------- time limits
    @property
    def started_on(self) -> dt.date:
        """Where the time limits count from: the submission, or the last reopening on appeal."""
        for e in reversed(self.history):
            if e.get("action") == Action.REOPEN:
                return dt.datetime.fromisoformat(e["at"]).date()
        return self.submitted_at.date()

    @property
    def township_deadline(self) -> dt.date:
        return add_working_days(self.started_on, self.limits.township_review_working_days)

    @property
    def total_deadline(self) -> dt.date:
        return add_working_days(self.started_on, self.limits.total_limit_working_days)

    @property
    def notice_ends_on(self) -> dt.date | None:
        if self.notice_posted_on is None:
            return None
        return self.notice_posted_on + dt.timedelta(days=self.limits.public_notice_days - 1)

    @property
    def deadline(self) -> dt.date | None:
        """The end of the current step's time limit (None once closed)."""
        if self.state in (
            ApplicationState.SUBMITTED,
            ApplicationState.ECONOMIC_CHECK,
            ApplicationState.TOWNSHIP_REVIEW,
        ):
            return self.township_deadline
        if self.state is ApplicationState.PUBLIC_NOTICE:
            return max(self.notice_ends_on or self.township_deadline, self.township_deadline)
        if self.state is ApplicationState.COUNTY_REVIEW:
            return min(add_working_days(self.state_since, self.limits.county_review_working_days), self.total_deadline)
        return None

    def overdue(self, today: dt.date) -> bool:
        d = self.deadline
        return d is not None and today > d


def new_application(
    *,
    id: str,
    programme: Programme,
    region_code: str,
    household_id: str,
    facts: HouseholdFacts,
    decision: CategoryDecision,
    limits: Limits,
    by: str,
    role: str,
    submitter_index: str,
    at: dt.datetime,
) -> Application:
    entry = _entry(Action.SUBMIT, None, ApplicationState.SUBMITTED, by, role, at, note="application submitted")
    entry["decision"] = {"rule": decision.rule, "eligible": decision.eligible, "explanation": decision.explanation}
    return Application(
        id=id,
        programme=programme,
        region_code=region_code,
        household_id=household_id,
        state=ApplicationState.SUBMITTED,
        submitted_at=at,
        state_since=at.date(),
        facts=facts,
        decision=decision,
        limits=limits,
        submitter_role=role,
        submitter_index=submitter_index,
        history=(entry,),
    )


def _entry(
    action: Action,
    from_state: ApplicationState | None,
    to_state: ApplicationState,
    by: str,
    role: str,
    at: dt.datetime,
    *,
    note: str | None = None,
    reason: str | None = None,
    rule: str | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    e: dict[str, Any] = {
        "action": str(action),
        "from": str(from_state) if from_state else None,
        "to": str(to_state),
        "by": by,
        "role": role,
        "at": at.isoformat(),
    }
    for k, v in (("note", note), ("reason", reason), ("rule", rule), ("source", source)):
        if v is not None:
            e[k] = v
    return e


def allowed_actions(app: Application, role: str, *, is_applicant: bool, today: dt.date) -> list[str]:
    """What the caller may do now (the same checks `apply_action` runs, short of the body)."""
    out = []
    for action in (Action.ACCEPT, Action.ADVANCE, Action.APPROVE, Action.REJECT, Action.WITHDRAW):
        try:
            _check(app, action, role, is_applicant=is_applicant, today=today, reason="x", note="x")
        except TransitionRefused:
            continue
        out.append(str(action))
    return out


def _check(
    app: Application,
    action: Action,
    role: str,
    *,
    is_applicant: bool,
    today: dt.date,
    reason: str | None,
    note: str | None,
) -> ApplicationState:
    admin = role == "admin"
    if app.state not in OPEN:
        raise TransitionRefused("application_closed", f"the application is {app.state}: no further action")
    if action is Action.WITHDRAW:
        if not (admin or is_applicant or role in _OFFICERS):
            raise TransitionRefused("role_not_allowed", f"a {role} may not withdraw this application")
        return ApplicationState.WITHDRAWN
    if action is Action.REJECT:
        if not (admin or role in _REJECT_ROLES[app.state]):
            raise TransitionRefused("role_not_allowed", f"a {role} may not reject an application in {app.state}")
        if not reason:
            raise TransitionRefused("reason_required", "a rejection states its reason (告知理由)")
        return ApplicationState.REJECTED
    step = _STEPS.get((app.state, action))
    if step is None:
        if app.state is ApplicationState.ECONOMIC_CHECK:
            raise TransitionRefused(
                "economic_check_pending",
                "the household economic-situation check has not answered yet (凡救助，必核对)",
                "003 §二(二) 凡救助，必核对",
            )
        raise TransitionRefused("action_not_allowed", f"{action} is not an action in {app.state}")
    roles, nxt = step
    if not (admin or role in roles):
        raise TransitionRefused("role_not_allowed", f"a {role} may not {action} an application in {app.state}")
    if action in (Action.ADVANCE, Action.APPROVE) and not note:
        raise TransitionRefused("note_required", "each review records its opinion (审核意见) in `note`")
    if app.state is ApplicationState.PUBLIC_NOTICE:
        ends = app.notice_ends_on
        if ends is not None and today <= ends:
            raise TransitionRefused(
                "notice_running",
                f"the public notice runs until {ends.isoformat()} ({app.limits.public_notice_days} days)",
                app.limits.sources.get("public_notice_days", "002 篇九 第三步"),
            )
    return nxt


def apply_action(
    app: Application,
    action: Action,
    *,
    by: str,
    role: str,
    is_applicant: bool,
    at: dt.datetime,
    note: str | None = None,
    reason: str | None = None,
    expected_version: int | None = None,
) -> Application:
    if expected_version is not None and expected_version != app.version:
        raise TransitionRefused(
            "version_conflict", f"the application is at version {app.version}, not {expected_version}"
        )
    nxt = _check(app, action, role, is_applicant=is_applicant, today=at.date(), reason=reason, note=note)
    entry = _entry(action, app.state, nxt, by, role, at, note=note, reason=reason)
    return replace(
        app,
        state=nxt,
        state_since=at.date(),
        history=(*app.history, entry),
        notice_posted_on=at.date() if nxt is ApplicationState.PUBLIC_NOTICE else app.notice_posted_on,
        version=app.version + 1,
    )


#: Where an application rejected in a state goes back to when an appeal overturns the rejection: the
#: step that rejected it, except a failed economic check, which has answered (the township reviews).
_REOPEN_TO = {
    ApplicationState.SUBMITTED: ApplicationState.SUBMITTED,
    ApplicationState.ECONOMIC_CHECK: ApplicationState.TOWNSHIP_REVIEW,
    ApplicationState.TOWNSHIP_REVIEW: ApplicationState.TOWNSHIP_REVIEW,
    ApplicationState.PUBLIC_NOTICE: ApplicationState.TOWNSHIP_REVIEW,
    ApplicationState.COUNTY_REVIEW: ApplicationState.COUNTY_REVIEW,
}
SOURCE_REOPEN = (
    "003 §一(五) (受理、转办、办结); 000 社会保障兜底 §五(三): an appeal's overturned decision is taken again"
)


def reopen_on_appeal(app: Application, *, appeal_id: str, by: str, role: str, at: dt.datetime) -> Application:
    """An appeal overturned this application's rejection: it goes back to the step that rejected it
    (a public notice is posted again from the township review), its time limits counting anew."""
    if app.state is not ApplicationState.REJECTED:
        raise TransitionRefused("not_rejected", f"the application is {app.state}, not rejected", SOURCE_REOPEN)
    rejected_in = next(
        (ApplicationState(e["from"]) for e in reversed(app.history) if e.get("to") == ApplicationState.REJECTED),
        ApplicationState.TOWNSHIP_REVIEW,
    )
    nxt = _REOPEN_TO.get(rejected_in, ApplicationState.TOWNSHIP_REVIEW)
    entry = _entry(
        Action.REOPEN,
        app.state,
        nxt,
        by,
        role,
        at,
        note=f"appeal {appeal_id} overturned the rejection: the {rejected_in} step decides again",
        rule="appeal_overturned",
        source=SOURCE_REOPEN,
    )
    entry["appeal_id"] = appeal_id
    return replace(
        app,
        state=nxt,
        state_since=at.date(),
        history=(*app.history, entry),
        notice_posted_on=None,
        version=app.version + 1,
    )


def apply_check_outcome(
    app: Application,
    *,
    passed: bool,
    decision: CategoryDecision,
    check: dict[str, Any],
    at: dt.datetime,
    explanation: str,
) -> Application:
    """The check system answered: a pass moves to township review (with the category decided
    again on the verified figures); a failed check or verified income above the line rejects."""
    if app.state is not ApplicationState.ECONOMIC_CHECK:
        return replace(app, check=check)
    if passed and decision.eligible:
        nxt, rule = ApplicationState.TOWNSHIP_REVIEW, "economic_check_passed"
    else:
        nxt, rule = ApplicationState.REJECTED, ("economic_check_failed" if not passed else decision.rule)
    entry = _entry(
        Action.CHECK_RESULT,
        app.state,
        nxt,
        "economic_check",
        "system",
        at,
        note=explanation,
        rule=rule,
        source="003 §二(二) 凡救助，必核对 (居民家庭经济状况核对)",
    )
    return replace(
        app,
        state=nxt,
        state_since=at.date(),
        decision=decision,
        check=check,
        history=(*app.history, entry),
        version=app.version + 1,
    )


def record_check_timeout(app: Application, *, check: dict[str, Any], at: dt.datetime) -> Application:
    """The check system did not answer in time: tracked on the case (the state stays; the
    township may reject or wait — the time limit shows as overdue)."""
    entry = _entry(
        Action.CHECK_TIMED_OUT,
        app.state,
        app.state,
        "economic_check",
        "system",
        at,
        note=f"no answer from the check system within {app.limits.economic_check_days} days",
        rule="economic_check_timed_out",
        source=app.limits.sources.get("economic_check_days", ""),
    )
    return replace(app, check=check, history=(*app.history, entry), version=app.version + 1)


def status_changes(before: Application, after: Application) -> Sequence[tuple[str, str]]:
    return [(str(before.state), str(after.state))] if before.state is not after.state else []
