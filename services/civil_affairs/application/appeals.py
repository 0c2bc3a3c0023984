"""Appeal use cases: file (申诉/复核申请), act (start review, decide, withdraw), read and list.

Each use case takes a command and a unit of work, and is one transaction: the appeal row and its
outbox events together. Who may appeal: the citizen the decision concerns (identification says
whether the caller submitted the application or belongs to the household — asked with the
caller's own authority), or an officer within region on the appellant's behalf."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from services.civil_affairs.application.ports import (
    AppealRow,
    StaleVersion,
    SubjectFacts,
    SubjectLookup,
    SubjectUnavailable,
    Work,
)
from services.civil_affairs.domain.appeals import (
    Appeal,
    AppealAction,
    AppealError,
    AppealState,
    Appellant,
    HistoryEntry,
    Level,
    Outcome,
    SubjectKind,
    allowed_actions,
    apply_action,
    deadline_for,
    decided_level,
    is_overdue,
    review_route,
)
from shared.auth import OFFICER_ROLES, Principal
from shared.errors import Conflict, FieldError, Forbidden, NotFound, ServiceUnavailable, Unprocessable
from shared.events import Event
from shared.identifiers import InvalidIdNumber, validate_id_number
from shared.pii import FieldCipher, mask_numbers_in_text

from . import applications as applications_uc
from . import relief as relief_uc
from .actors import actor_label
from .appeals_policy import appeal_policy, grievance_policy

__all__ = [
    "ActOnAppeal",
    "AppealPage",
    "AppealView",
    "FileAppeal",
    "GrievanceDeps",
    "ListAppeals",
    "SubjectLookup",
    "SubjectRef",
    "act_on_appeal",
    "actor_label",
    "appeal_event",
    "as_date",
    "file_appeal",
    "get_appeal",
    "history_json",
    "list_appeals",
]

SOURCE = "civil_affairs"
#: kinds whose owner answers a citizen's standing (the others are filed by an officer on their behalf)
CITIZEN_VERIFIABLE = frozenset({SubjectKind.IDENTIFICATION_APPLICATION, SubjectKind.CASE})


@dataclass
class GrievanceDeps:
    cipher: FieldCipher
    now: Callable[[], dt.datetime]  # aware, China time
    subjects: SubjectLookup | None = None


@dataclass(frozen=True, slots=True)
class FileAppeal:
    principal: Principal
    subject_kind: SubjectKind
    subject_id: str
    household_id: str
    region_code: str
    grounds: str
    attachments: list[str] = field(default_factory=list)
    decided_level: Level | None = None
    appellant_id_number: str | None = None


@dataclass(frozen=True, slots=True)
class ActOnAppeal:
    principal: Principal
    appeal_id: str
    action: AppealAction
    outcome: Outcome | None = None
    reason: str | None = None
    version: int | None = None


@dataclass(frozen=True, slots=True)
class ListAppeals:
    principal: Principal
    state: str | None = None
    household_id: str | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class SubjectRef:
    kind: str
    id: str


@dataclass(frozen=True, slots=True)
class AppealView:
    """An appeal as its reader sees it (the api answers it as `AppealRead`)."""

    id: str
    subject: SubjectRef
    household_id: str
    region_code: str
    state: str
    grounds: str
    attachments: list[str]
    decided_level: str
    review_level: str
    review_region: str
    received_on: dt.date
    deadline: dt.date
    overdue: bool
    outcome: str | None
    reason: str | None
    filed_by_role: str
    #: the history as stored: action, from, to, by, role, at (ISO), note
    history: list[dict[str, Any]]
    allowed_actions: list[str]
    explanation: dict[str, Any]
    version: int


@dataclass(frozen=True, slots=True)
class AppealPage:
    items: list[AppealView]
    total: int
    limit: int
    offset: int


def as_date(value: dt.date | dt.datetime) -> dt.date:
    """A date column as a date (some drivers give a datetime back)."""
    return value.date() if isinstance(value, dt.datetime) else value


def _is_officer(p: Principal) -> bool:
    return p.role in OFFICER_ROLES or p.role == "admin"


def appeal_event(name: str, row: AppealRow, **extra: Any) -> Event:
    """`appeal.<name>` for the household's village; no names, no ID numbers, no grounds text."""
    data = {
        "appeal_id": row["id"],
        "household_id": row["household_id"],
        "region_code": row["region_code"],
        "subject_kind": row["subject_kind"],
        "subject_id": row["subject_id"],
        "state": row["state"],
        "decided_level": row["decided_level"],
        "review_level": row["review_level"],
        "review_region": row["review_region"],
        "deadline": as_date(row["deadline"]).isoformat(),
        "appellant_sub_hash": row.get("appellant_index"),
        **extra,
    }
    return Event("appeal", name, row["id"], row["region_code"], data, source=SOURCE)


def history_json(entries: tuple[HistoryEntry, ...]) -> list[dict[str, Any]]:
    return [
        {
            "action": h.action,
            "from": h.from_state,
            "to": h.to_state,
            "by": h.by,
            "role": h.role,
            "at": h.at.isoformat(),
            "note": h.note,
        }
        for h in entries
    ]


def _history(raw: list[dict[str, Any]]) -> tuple[HistoryEntry, ...]:
    return tuple(
        HistoryEntry(h["action"], h["from"], h["to"], h["by"], h["role"], dt.datetime.fromisoformat(h["at"]), h["note"])
        for h in raw
    )


def _domain(row: AppealRow) -> Appeal:
    return Appeal(
        id=row["id"],
        state=AppealState(row["state"]),
        received_on=as_date(row["received_on"]),
        deadline=as_date(row["deadline"]),
        history=_history(row["history"]),
        outcome=Outcome(row["outcome"]) if row["outcome"] else None,
        reason=row["reason"],
        version=row["version"],
    )


def _who(p: Principal, row: AppealRow, cipher: FieldCipher) -> Appellant:
    officer = _is_officer(p)
    return Appellant(
        role=p.role,
        is_reviewer=officer and p.sees(row["review_region"]),
        is_appellant=p.role == "citizen" and row["appellant_index"] == cipher.blind_index(p.sub),
        is_officer_in_region=officer and p.sees(row["region_code"]),
    )


def _visible(p: Principal, row: AppealRow | None, cipher: FieldCipher) -> AppealRow:
    if row is not None:
        if p.role == "citizen" and row["appellant_index"] == cipher.blind_index(p.sub):
            return row
        if _is_officer(p) and p.sees(row["region_code"]):
            return row
    raise NotFound("no such appeal in your jurisdiction")


def view(row: AppealRow, p: Principal, deps: GrievanceDeps) -> AppealView:
    """The read model (AppealRead)."""
    appeal = _domain(row)
    today = deps.now().date()
    return AppealView(
        id=row["id"],
        subject=SubjectRef(kind=row["subject_kind"], id=row["subject_id"]),
        household_id=row["household_id"],
        region_code=row["region_code"],
        state=row["state"],
        grounds=row["grounds"],
        attachments=list(row["attachments"]),
        decided_level=row["decided_level"],
        review_level=row["review_level"],
        review_region=row["review_region"],
        received_on=appeal.received_on,
        deadline=appeal.deadline,
        overdue=is_overdue(appeal, today),
        outcome=row["outcome"],
        reason=row["reason"],
        filed_by_role=row["filed_by_role"],
        history=history_json(appeal.history),
        allowed_actions=allowed_actions(appeal, _who(p, row, deps.cipher)),
        explanation=row["explanation"],
        version=row["version"],
    )


async def _own_application(uow: Work, cmd: FileAppeal, deps: GrievanceDeps) -> SubjectFacts | None:
    """A dibao / 特困 application of this service, as the appellant may see it."""
    p = cmd.principal
    app = await uow.applications.get(cmd.subject_id)
    if app is None:
        return None
    if p.role == "citizen" and app.submitter_index != applications_uc.submitter_index(deps.cipher, p):
        return None
    if p.role != "citizen" and not p.sees(app.region_code):
        return None
    refusal = next((e for e in reversed(app.history) if e.get("to") == "rejected"), None)
    return SubjectFacts(
        kind=str(cmd.subject_kind),
        id=app.id,
        household_id=app.household_id,
        region_code=app.region_code,
        status=str(app.state),
        decided_by_role=refusal["role"] if refusal else None,
        decided_at=refusal["at"] if refusal else None,
    )


async def _own_relief_request(uow: Work, cmd: FileAppeal, deps: GrievanceDeps) -> SubjectFacts | None:
    """A temporary-relief request of this service, as the appellant may see it."""
    found = await relief_uc.subject_facts(uow, cmd.principal, cmd.subject_id, deps.cipher)
    if found is None:
        return None
    row, refusal = found
    return SubjectFacts(
        kind=str(cmd.subject_kind),
        id=row.id,
        # a request made without a registered household: the appeal names it
        household_id=row.household_id or cmd.household_id,
        region_code=row.region_code,
        status=row.state,
        decided_by_role=refusal["role"] if refusal else None,
        decided_at=refusal["at"] if refusal else None,
    )


_OWN_SUBJECTS = {
    SubjectKind.SOCIAL_ASSISTANCE_APPLICATION: _own_application,
    SubjectKind.RELIEF_REQUEST: _own_relief_request,
}


async def _standing(cmd: FileAppeal, uow: Work, deps: GrievanceDeps) -> tuple[Level, dict[str, Any]]:
    """The deciding level and what the owning service said (refuses an appeal the caller may not file)."""
    p = cmd.principal
    kind = cmd.subject_kind
    own = _OWN_SUBJECTS.get(kind)
    if own is not None or (kind in CITIZEN_VERIFIABLE and deps.subjects is not None):
        try:
            if own is not None:
                facts = await own(uow, cmd, deps)
            else:
                assert deps.subjects is not None
                facts = await deps.subjects.lookup(str(kind), cmd.subject_id, p)
        except SubjectUnavailable as exc:
            raise ServiceUnavailable(str(exc), code="subject_service_unavailable") from None
        if facts is None:
            raise NotFound(f"no {kind} {cmd.subject_id} that you may appeal")
        errors = []
        if facts.household_id != cmd.household_id:
            errors.append(FieldError("household_id", "is not the household of the subject"))
        if facts.region_code != cmd.region_code:
            errors.append(FieldError("region_code", "is not the region of the subject"))
        if errors:
            raise Unprocessable("the appeal does not match its subject", errors=errors)
        if facts.status not in ("rejected", "cleared"):
            raise Conflict(
                f"the {kind} is {facts.status!r}: only a refusal (rejected, cleared) can be appealed",
                code="subject_not_refused",
            )
        level = decided_level(kind, decided_by_role=facts.decided_by_role, stated=cmd.decided_level)
        return level, {
            "subject_status": facts.status,
            "decided_by_role": facts.decided_by_role,
            "decided_at": facts.decided_at,
            "verified_by": "civil_affairs" if own is not None else "identification",
        }
    if p.role == "citizen":
        raise Conflict(
            f"the owner of a {kind} cannot confirm a citizen's standing here: an officer files the appeal on "
            "the appellant's behalf (with appellant_id_number)",
            code="standing_unverifiable",
        )
    return decided_level(kind, stated=cmd.decided_level), {"verified_by": None, "stated_level": cmd.decided_level}


async def file_appeal(cmd: FileAppeal, uow: Work, deps: GrievanceDeps) -> AppealView:
    p = cmd.principal
    if p.role != "citizen" and not _is_officer(p):
        raise Forbidden("appeals are filed by the citizen concerned or an officer", code="role_not_allowed")
    if _is_officer(p) and not p.sees(cmd.region_code):
        raise NotFound("no such household in your jurisdiction")
    if p.role == "citizen" and cmd.appellant_id_number:
        raise Unprocessable(
            "a citizen appeals in their own name",
            errors=[
                FieldError("appellant_id_number", "only an officer filing on someone's behalf names the appellant")
            ],
        )
    appellant_index: str | None = None
    if p.role == "citizen":
        appellant_index = deps.cipher.blind_index(p.sub)
    elif cmd.appellant_id_number:
        try:
            appellant_index = deps.cipher.blind_index(validate_id_number(cmd.appellant_id_number))
        except InvalidIdNumber as exc:
            raise Unprocessable(str(exc), errors=[FieldError("appellant_id_number", str(exc))]) from None
    level, facts = await _standing(cmd, uow, deps)
    existing = await uow.appeals.open_for_subject(str(cmd.subject_kind), cmd.subject_id)
    if existing:
        raise Conflict("this decision already has an open appeal", code="appeal_exists", existing_appeal_id=existing)
    now = deps.now()
    today = now.date()
    resolved = await grievance_policy(uow, cmd.region_code, today)
    policy = appeal_policy(resolved)
    route = review_route(cmd.region_code, level)
    deadline = deadline_for(today, policy)
    entry = HistoryEntry("file", None, str(AppealState.RECEIVED), actor_label(p), p.role, now, None)
    row: AppealRow = {
        "id": str(uuid.uuid4()),
        "household_id": cmd.household_id,
        "region_code": cmd.region_code,
        "subject_kind": str(cmd.subject_kind),
        "subject_id": cmd.subject_id,
        "state": str(AppealState.RECEIVED),
        "decided_level": str(route.decided_level),
        "review_level": str(route.review_level),
        "review_region": route.review_region,
        "grounds": mask_numbers_in_text(cmd.grounds),
        "attachments": list(cmd.attachments),
        "appellant_index": appellant_index,
        "filed_by": actor_label(p),
        "filed_by_role": p.role,
        "received_on": today,
        "deadline": deadline,
        "outcome": None,
        "reason": None,
        "history": history_json((entry,)),
        "explanation": {
            "rule": route.rule,
            "source": "003 §一(五) (受理、转办、办结); 000 社会保障兜底 §五(三)",
            "deadline_rule": f"received {today.isoformat()} + appeal_review_days {policy.review_days}",
            "deadline_source": policy.review_days_source,
            # the version that set the time limit (a later, more specific one may set other figures)
            "policy": {
                "id": resolved.param("appeal_review_days").version_id,
                "version": resolved.param("appeal_review_days").version,
            },
            "inputs": {"subject_kind": str(cmd.subject_kind), "decided_level": str(level), **facts},
        },
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    await uow.appeals.add(row)
    uow.add_event(appeal_event("received", row, filed_by_role=p.role))
    await uow.commit()
    return view(row, p, deps)


async def act_on_appeal(cmd: ActOnAppeal, uow: Work, deps: GrievanceDeps) -> AppealView:
    p = cmd.principal
    repo = uow.appeals
    row = _visible(p, await repo.get(cmd.appeal_id), deps.cipher)
    if cmd.version is not None and cmd.version != row["version"]:
        raise Conflict("the appeal changed since you read it", code="version_conflict", current_version=row["version"])
    now = deps.now()
    reason = mask_numbers_in_text(cmd.reason) if cmd.reason else cmd.reason
    try:
        after = apply_action(
            _domain(row),
            cmd.action,
            _who(p, row, deps.cipher),
            by=actor_label(p),
            at=now,
            outcome=cmd.outcome,
            reason=reason,
        )
    except AppealError as exc:
        raise Conflict(exc.detail, code=exc.code) from None
    values = {
        "state": str(after.state),
        "history": history_json(after.history),
        "outcome": str(after.outcome) if after.outcome else None,
        "reason": after.reason,
        "version": after.version,
        "updated_at": now,
    }
    try:
        await repo.update(row["id"], row["version"], values)
    except StaleVersion:
        raise Conflict("the appeal changed since you read it", code="version_conflict") from None
    row = cast(AppealRow, {**row, **values})
    if cmd.action is AppealAction.DECIDE:
        reopened = False
        # civil affairs' own subjects are taken again in this transaction
        if after.outcome is Outcome.OVERTURNED and row["subject_kind"] == SubjectKind.SOCIAL_ASSISTANCE_APPLICATION:
            reopened = await applications_uc.reopen_on_appeal(
                uow,
                row["subject_id"],
                appeal_id=row["id"],
                by=actor_label(p),
                role=p.role,
                at=now,
            )
        elif after.outcome is Outcome.OVERTURNED and row["subject_kind"] == SubjectKind.RELIEF_REQUEST:
            reopened = await relief_uc.reopen_on_appeal(
                uow, row["subject_id"], appeal_id=row["id"], by=actor_label(p), role=p.role, now=now
            )
        uow.add_event(
            appeal_event(
                "decided",
                row,
                outcome=values["outcome"],
                reason=after.reason,
                decided_on=now.date().isoformat(),
                decided_by_role=p.role,
                subject_reopened=reopened,
            )
        )
    elif cmd.action is AppealAction.START_REVIEW:
        uow.add_event(appeal_event("review_started", row))
    else:
        uow.add_event(appeal_event("withdrawn", row, withdrawn_by_role=p.role))
    await uow.commit()
    return view(row, p, deps)


async def get_appeal(p: Principal, appeal_id: str, uow: Work, deps: GrievanceDeps) -> AppealView:
    row = _visible(p, await uow.appeals.get(appeal_id), deps.cipher)
    return view(row, p, deps)


async def list_appeals(cmd: ListAppeals, uow: Work, deps: GrievanceDeps) -> AppealPage:
    p = cmd.principal
    if p.role != "citizen" and not _is_officer(p):
        raise Forbidden("appeals are for the appellant and officers", code="role_not_allowed")
    rows, total = await uow.appeals.page(
        region="" if p.role == "citizen" else p.region,
        appellant_index=deps.cipher.blind_index(p.sub) if p.role == "citizen" else None,
        state=cmd.state,
        household_id=cmd.household_id,
        limit=cmd.limit,
        offset=cmd.offset,
    )
    return AppealPage(items=[view(r, p, deps) for r in rows], total=total, limit=cmd.limit, offset=cmd.offset)
