"""Use cases of the dibao / 特困 application procedure: submit, read, list, act (transitions), and
the household economic-situation check's request, result and timeout (003 §二(二) 凡救助，必核对).
Each takes a command and a unit of work (`ports.Work`) and returns the application's view."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from services.civil_affairs.application import enrolments as enrol_uc
from services.civil_affairs.application.ports import EconomicCheck, StaleVersion, Work
from services.civil_affairs.domain.applications import (
    Action,
    Application,
    ApplicationState,
    Limits,
    TransitionRefused,
    allowed_actions,
    apply_action,
    apply_check_outcome,
    new_application,
    record_check_timeout,
)
from services.civil_affairs.domain.applications import reopen_on_appeal as reopen
from services.civil_affairs.domain.economic_check import CheckRecord, CheckResult, evaluate_check
from services.civil_affairs.domain.programmes import HouseholdFacts, MemberFacts, Programme, decide
from shared.auth import Principal
from shared.errors import Conflict, FieldError, Forbidden, NotFound, Unprocessable
from shared.events import Event
from shared.identifiers import id_birth_date, region_within
from shared.pages import OffsetPage
from shared.pii import FieldCipher

__all__ = [
    "MAX_PAGE_SIZE",
    "ActOnApplication",
    "ActedOnApplication",
    "ApplicationPage",
    "ApplicationView",
    "ListApplications",
    "MemberInput",
    "RecordCheckResult",
    "SubmitApplication",
    "act",
    "get_application",
    "list_applications",
    "mark_check_sent",
    "record_check_result",
    "reopen_on_appeal",
    "submit",
    "time_out_checks",
]

MAX_PAGE_SIZE = 200
DOMAIN = "social_assistance"
SEAL_CONTEXT = b"civil_affairs.applications.members"


@dataclass(frozen=True, slots=True)
class MemberInput:
    id_number: str
    relation: str
    labor_capacity: str
    disability_grade: int | None = None
    disability_kind: str | None = None
    serious_illness: bool = False
    care_level: str = "self_care"
    person_ref: str | None = None


@dataclass(frozen=True, slots=True)
class SubmitApplication:
    principal: Principal
    programme: Programme
    region_code: str
    members: Sequence[MemberInput]
    income_annual: Decimal
    assets_within_rules: bool
    supporters_able: bool
    asset_query_authorized: bool
    at: dt.datetime
    household_id: str | None = None


@dataclass(frozen=True, slots=True)
class ActOnApplication:
    principal: Principal
    application_id: str
    action: str
    at: dt.datetime
    note: str | None = None
    reason: str | None = None
    version: int | None = None


@dataclass(frozen=True, slots=True)
class RecordCheckResult:
    check_id: str
    result: CheckResult
    at: dt.datetime
    principal: Principal | None = None  # None: the background task (file drop-in, polling)


@dataclass(frozen=True, slots=True)
class ListApplications:
    principal: Principal
    today: dt.date
    region: str | None = None
    state: str | None = None  # a state, or several comma-separated
    programme: str | None = None
    household_id: str | None = None
    page: int = 1
    page_size: int = 50


@dataclass(frozen=True, slots=True)
class ApplicationView:
    """An application as its reader sees it: the application (members by ref and birth date, never
    an ID number), whether it is overdue and what the reader may do with it."""

    application: Application
    overdue: bool
    allowed_actions: list[str]


ApplicationPage = OffsetPage[ApplicationView]


@dataclass(frozen=True, slots=True)
class ActedOnApplication:
    """The application after the action, and the economic-check request `accept` created (to send
    after the commit)."""

    view: ApplicationView
    check: CheckRecord | None


def submitter_index(cipher: FieldCipher, principal: Principal) -> str:
    """A citizen's `sub` is their resident ID number: only its blind index is kept."""
    return cipher.blind_index(principal.sub if principal.role == "citizen" else f"{principal.role}:{principal.sub}")


def actor(principal: Principal) -> str:
    """Who acted, for histories and events: never a citizen's ID number."""
    return "applicant" if principal.role == "citizen" else principal.sub


def _refused(exc: TransitionRefused) -> Conflict:
    return Conflict(exc.message, code=exc.rule, rule=exc.rule, source=exc.source)


def _view(app: Application, principal: Principal, index: str, today: dt.date) -> ApplicationView:
    applicant = index == app.submitter_index
    return ApplicationView(
        application=app,
        overdue=app.overdue(today),
        allowed_actions=allowed_actions(app, principal.role, is_applicant=applicant, today=today),
    )


def _visible(app: Application, principal: Principal, index: str) -> bool:
    if principal.role == "citizen":
        return app.submitter_index == index
    return principal.is_officer and region_within(app.region_code, principal.region)


def _status_event(app: Application, before: ApplicationState, action: str) -> Event:
    return Event(
        domain=DOMAIN,
        name="application_status_changed",
        subject=app.household_id,
        region=app.region_code,
        data={
            "application_id": app.id,
            "household_id": app.household_id,
            "region_code": app.region_code,
            "programme": str(app.programme),
            "from": str(before),
            "to": str(app.state),
            "action": action,
            "rule": app.history[-1].get("rule"),
            "deadline": app.deadline.isoformat() if app.deadline else None,
        },
        source="civil_affairs",
    )


async def submit(cmd: SubmitApplication, work: Work, cipher: FieldCipher) -> ApplicationView:
    """A dibao or 特困 application (citizen for their own household, or an officer). The category is
    decided at once on the declared figures (and again on the check's)."""
    p = cmd.principal
    if not cmd.asset_query_authorized:
        raise Unprocessable(
            "the applicant must authorise the economic-situation check (授权核对)",
            errors=[FieldError("consent.asset_query_authorized", "must be true", "consent_required")],
        )
    if not (p.role in ("citizen", "village", "township", "county", "admin") and p.sees(cmd.region_code)):
        raise NotFound("no such region in your jurisdiction")
    # the ID numbers the check system needs: encrypted at rest, never in the document or events
    sealed: list[str] = []
    members: list[MemberFacts] = []
    seen: set[str] = set()
    for i, m in enumerate(cmd.members):
        index = cipher.blind_index(m.id_number)
        if index in seen:
            raise Unprocessable(
                "the same ID number twice in the household",
                errors=[FieldError(f"household.members.{i}.id_number", "duplicate", "duplicate")],
            )
        seen.add(index)
        sealed.append(cipher.encrypt_text(m.id_number, context=SEAL_CONTEXT))
        members.append(
            MemberFacts(
                person_ref=m.person_ref or f"p-{index[:16]}",
                birth_date=id_birth_date(m.id_number),
                labor_capacity=m.labor_capacity,
                disability_grade=m.disability_grade,
                disability_kind=m.disability_kind,
                serious_illness=m.serious_illness,
                care_level=m.care_level,
            )
        )
    if p.role == "citizen" and cipher.blind_index(p.sub) not in seen:
        raise Forbidden("a citizen applies for their own household (be one of its members)", code="not_own_household")
    facts = HouseholdFacts(
        members=tuple(members),
        income_annual=cmd.income_annual,
        assets_within_rules=cmd.assets_within_rules,
        supporters_able=cmd.supporters_able,
    )
    policy = await work.policy(cmd.region_code, cmd.at.date())
    decision = decide(cmd.programme, facts, policy, on=cmd.at.date())
    app = new_application(
        id=str(uuid.uuid4()),
        programme=cmd.programme,
        region_code=cmd.region_code,
        household_id=cmd.household_id or str(uuid.uuid4()),
        facts=facts,
        decision=decision,
        limits=Limits.from_policy(policy),
        by=actor(p),
        role=p.role,
        submitter_index=submitter_index(cipher, p),
        at=cmd.at,
    )
    await work.applications.add(app, sealed)
    work.add_event(
        Event(
            domain=DOMAIN,
            name="application_submitted",
            subject=app.household_id,
            region=app.region_code,
            data={
                "application_id": app.id,
                "household_id": app.household_id,
                "region_code": app.region_code,
                "programme": str(app.programme),
                "state": str(app.state),
                "submitted_role": p.role,
                "members": len(members),
                "decision_rule": decision.rule,
                "deadline": app.deadline.isoformat() if app.deadline else None,
            },
            source="civil_affairs",
        )
    )
    view = _view(app, p, submitter_index(cipher, p), cmd.at.date())
    await work.commit(view)
    return view


async def get_application(
    work: Work, principal: Principal, application_id: str, cipher: FieldCipher, today: dt.date
) -> ApplicationView:
    app = await work.applications.get(application_id)
    index = submitter_index(cipher, principal)
    if app is None or not _visible(app, principal, index):
        raise NotFound("no such application")
    return _view(app, principal, index, today)


async def list_applications(cmd: ListApplications, work: Work, cipher: FieldCipher) -> ApplicationPage:
    principal = cmd.principal
    index = submitter_index(cipher, principal)
    if principal.role == "citizen":
        prefix, by_submitter = "", index
    else:
        if not principal.is_officer:
            raise Forbidden("officers only")
        prefix = cmd.region or principal.region
        if not region_within(prefix, principal.region) and principal.role != "admin":
            raise NotFound("no such region in your jurisdiction")
        by_submitter = None
    size = min(cmd.page_size, MAX_PAGE_SIZE)
    items, total = await work.applications.page(
        region_prefix=prefix,
        state=cmd.state,
        programme=cmd.programme,
        household_id=cmd.household_id,
        submitter_index=by_submitter,
        page=cmd.page,
        page_size=size,
    )
    return ApplicationPage(
        items=[_view(a, principal, index, cmd.today) for a in items], total=total, page=cmd.page, page_size=size
    )


async def act(
    cmd: ActOnApplication, work: Work, cipher: FieldCipher, check_for: Callable[[str], EconomicCheck]
) -> ActedOnApplication:
    """One action on an application. `accept` creates the economic-check request (sent after the
    commit, see `mark_check_sent`); county `approve` opens the enrolment."""
    p = cmd.principal
    index = submitter_index(cipher, p)
    app = await work.applications.get(cmd.application_id)
    if app is None or not _visible(app, p, index):
        raise NotFound("no such application")
    try:
        action = Action(cmd.action)
    except ValueError:
        raise Unprocessable(
            f"unknown action {cmd.action!r}",
            errors=[FieldError("action", "accept | advance | approve | reject | withdraw", "enum")],
        ) from None
    if action in (Action.SUBMIT, Action.CHECK_RESULT, Action.CHECK_TIMED_OUT, Action.REOPEN):
        raise Unprocessable("not an action a caller takes", errors=[FieldError("action", "not allowed", "enum")])
    try:
        after = apply_action(
            app,
            action,
            by=actor(p),
            role=p.role,
            is_applicant=index == app.submitter_index,
            at=cmd.at,
            note=cmd.note,
            reason=cmd.reason,
            expected_version=cmd.version,
        )
    except TransitionRefused as exc:
        raise _refused(exc) from None
    check: CheckRecord | None = None
    if action is Action.ACCEPT:
        county = app.region_code[:6]
        adapter = check_for(county).kind
        check = CheckRecord(
            id=str(uuid.uuid4()),
            application_id=app.id,
            county=county,
            adapter=adapter,
            status="pending",
            requested_at=cmd.at,
            due_on=cmd.at.date() + dt.timedelta(days=app.limits.economic_check_days),
            request={
                "check_id": "",
                "application_id": app.id,
                "county": county,
                "region_code": app.region_code,
                "programme": str(app.programme),
                "requested_at": cmd.at.isoformat(),
                "consent": {"asset_query_authorized": True},
                "members": [{"person_ref": m.person_ref} for m in app.facts.members],
            },
        )
        check = replace(check, request={**check.request, "check_id": check.id})
        await work.checks.add(check)
        after = replace(after, check=check.view())
    await _save(work, app, after)
    work.add_event(_status_event(after, app.state, str(action)))
    if after.state is ApplicationState.APPROVED:
        await enrol_uc.enrol_approved(work, after, by=actor(p), role=p.role, at=cmd.at)
    view = _view(after, p, index, cmd.at.date())
    await work.commit(view)
    return ActedOnApplication(view=view, check=check)


async def reopen_on_appeal(
    work: Work, application_id: str, *, appeal_id: str, by: str, role: str, at: dt.datetime
) -> bool:
    """An appeal overturned the rejection of `application_id` (in the appeal's transaction): the
    application is taken again from the step that rejected it. False if it is not rejected."""
    app = await work.applications.get(application_id)
    if app is None or app.state is not ApplicationState.REJECTED:
        return False
    after = reopen(app, appeal_id=appeal_id, by=by, role=role, at=at)
    await _save(work, app, after)
    work.add_event(_status_event(after, app.state, str(Action.REOPEN)))
    return True


async def _save(work: Work, before: Application, after: Application) -> None:
    try:
        await work.applications.save(after, expected_version=before.version)
    except StaleVersion:
        raise Conflict("the application changed meanwhile; read it again", code="version_conflict") from None


def check_request_with_ids(check: CheckRecord, ids: list[str]) -> dict[str, Any]:
    """The request as the county system receives it: the members' ID numbers (the query needs them,
    under the applicant's authorisation) beside their person refs. Never logged, never in events."""
    members = [dict(m, id_number=i) for m, i in zip(check.request["members"], ids, strict=False)]
    return {**check.request, "members": members}


async def mark_check_sent(work: Work, check_id: str, reference: str | None, at: dt.datetime) -> None:
    check = await work.checks.get(check_id)
    if check is None or check.sent_at is not None:
        return
    sent = replace(check, sent_at=at, reference=reference or check.reference)
    await work.checks.save(sent)
    app = await work.applications.get(check.application_id)
    if app is not None and app.check and app.check.get("id") == check.id:
        await work.applications.save(replace(app, check=sent.view()), expected_version=app.version)
    await work.commit()


async def record_check_result(cmd: RecordCheckResult, work: Work) -> CheckRecord:
    """The check system answered (callback, polling or a result file); returns the check with its result."""
    check = await work.checks.get(cmd.check_id)
    if check is None:
        raise NotFound("no such economic check")
    app = await work.applications.get(check.application_id)
    if app is None:
        raise NotFound("no such economic check")
    if cmd.principal is not None and not (
        cmd.principal.role == "admin"
        or (cmd.principal.role in ("county", "department") and region_within(app.region_code, cmd.principal.region))
    ):
        raise NotFound("no such economic check")
    if check.status == "done":
        if check.result == cmd.result or (check.result and check.result.reference == cmd.result.reference):
            return check  # the same answer again (a retried callback or a file read twice)
        raise Conflict("this check already has a result", code="check_already_answered")
    done = replace(check, status="done", result=cmd.result, reference=cmd.result.reference or check.reference)
    await work.checks.save(done)
    policy = await work.policy(app.region_code, cmd.at.date())
    passed, decision, why = evaluate_check(app.programme, app.facts, cmd.result, policy, on=cmd.at.date())
    after = apply_check_outcome(app, passed=passed, decision=decision, check=done.view(), at=cmd.at, explanation=why)
    if after is not app:
        await _save(work, app, after)
        if after.state is not app.state:
            work.add_event(_status_event(after, app.state, "check_result"))
    await work.commit(done)
    return done


async def time_out_checks(work: Work, today: dt.date, at: dt.datetime) -> int:
    """Checks unanswered past their due day are tracked as timed out on the application."""
    n = 0
    for check in await work.checks.open_checks():
        if check.status != "pending" or today <= check.due_on:
            continue
        timed = replace(check, status="timed_out")
        await work.checks.save(timed)
        app = await work.applications.get(check.application_id)
        if app is not None:
            after = record_check_timeout(app, check=timed.view(), at=at)
            await _save(work, app, after)
        n += 1
    if n:
        await work.commit()
    return n
