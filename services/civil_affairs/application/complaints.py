"""Complaint use cases (12345 热线 / 投诉举报): intake with routing to the responsible unit,
acknowledge (受理), transfer (转办), reply, close (办结) with satisfaction, reopen; read and list.

The person a complaint is about is kept encrypted with a blind index and never shown in clear;
the complainant (a citizen by ID number, others by `role:sub`) is known only by blind index, so
the unit handling a report (举报) never learns who filed it from this API."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, cast

from services.civil_affairs.application.ports import ComplaintRow, StaleVersion, Work
from services.civil_affairs.domain.appeals import HistoryEntry, Level, level_of_region
from services.civil_affairs.domain.complaints import (
    Actor,
    Channel,
    Complaint,
    ComplaintAction,
    ComplaintError,
    ComplaintState,
    Route,
    Satisfaction,
    Topic,
    allowed_actions,
    apply_action,
    deadlines,
    route_complaint,
)
from shared.auth import OFFICER_ROLES, Principal
from shared.errors import Conflict, FieldError, Forbidden, NotFound, Unprocessable
from shared.events import Event
from shared.identifiers import InvalidIdNumber, validate_id_number
from shared.pii import FieldCipher, mask_id_number, mask_numbers_in_text, mask_phone

from .appeals import GrievanceDeps, _history, actor_label, as_date, history_json
from .appeals_policy import complaint_policy, grievance_policy

__all__ = [
    "ActOnComplaint",
    "ComplaintPage",
    "ComplaintView",
    "FileComplaint",
    "ListComplaints",
    "MaskedPerson",
    "act_on_complaint",
    "complaint_event",
    "complaint_view",
    "file_complaint",
    "get_complaint",
    "list_complaints",
    "subject_hash",
]

SOURCE = "civil_affairs"
_PERSON_CTX = b"complaints.person_id"
_PHONE_CTX = b"complaints.contact_phone"


@dataclass(frozen=True, slots=True)
class FileComplaint:
    principal: Principal
    channel: Channel
    text: str
    region_code: str
    topic: Topic
    household_id: str | None = None
    person_id_number: str | None = None
    contact_phone: str | None = None
    officer_level: Level | None = None


@dataclass(frozen=True, slots=True)
class ActOnComplaint:
    principal: Principal
    complaint_id: str
    action: ComplaintAction
    note: str | None = None
    to_region: str | None = None
    to_department: str | None = None
    satisfaction: Satisfaction | None = None
    version: int | None = None


@dataclass(frozen=True, slots=True)
class ListComplaints:
    principal: Principal
    state: str | None = None
    topic: str | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class MaskedPerson:
    id_number: str  # masked (110***********1234)


@dataclass(frozen=True, slots=True)
class ComplaintView:
    """A complaint as its reader sees it (the api answers it as `ComplaintRead`): the person and
    the contact phone masked."""

    id: str
    channel: str
    topic: str
    text: str
    household_id: str | None
    person: MaskedPerson | None
    contact_phone: str | None
    region_code: str
    officer_level: str | None
    state: str
    responsible_level: str
    responsible_region: str
    responsible_department: str | None
    escalated_level: str | None
    escalated_region: str | None
    received_on: dt.date
    ack_due: dt.date
    reply_due: dt.date
    acknowledged_on: dt.date | None
    replied_on: dt.date | None
    reply: str | None
    satisfaction: str | None
    reopen_count: int
    overdue: bool
    filed_by_role: str
    history: list[dict[str, Any]]
    allowed_actions: list[str]
    explanation: dict[str, Any]
    version: int


@dataclass(frozen=True, slots=True)
class ComplaintPage:
    items: list[ComplaintView]
    total: int
    limit: int
    offset: int


def subject_hash(cipher: FieldCipher, p: Principal) -> str:
    """The convention notification files inbox items under: a citizen by ID number, others by `role:sub`."""
    return cipher.blind_index(p.sub if p.role == "citizen" else f"{p.role}:{p.sub}")


def _is_officer(p: Principal) -> bool:
    return p.role in OFFICER_ROLES or p.role == "admin"


def complaint_event(name: str, row: ComplaintRow, **extra: Any) -> Event:
    """`complaint.<name>` for the place complained about; no text, no person, no phone."""
    data = {
        "complaint_id": row["id"],
        "channel": row["channel"],
        "topic": row["topic"],
        "household_id": row["household_id"],
        "region_code": row["region_code"],
        "state": row["state"],
        "responsible_level": row["responsible_level"],
        "responsible_region": row["responsible_region"],
        "responsible_department": row["responsible_department"],
        "ack_due": as_date(row["ack_due"]).isoformat(),
        "reply_due": as_date(row["reply_due"]).isoformat(),
        "complainant_sub_hash": row["complainant_index"],
        **extra,
    }
    return Event("complaint", name, row["id"], row["region_code"], data, source=SOURCE)


def _domain(row: ComplaintRow) -> Complaint:
    return Complaint(
        id=row["id"],
        state=ComplaintState(row["state"]),
        region_code=row["region_code"],
        responsible_level=Level(row["responsible_level"]),
        responsible_region=row["responsible_region"],
        responsible_department=row["responsible_department"],
        received_on=as_date(row["received_on"]),
        ack_due=as_date(row["ack_due"]),
        reply_due=as_date(row["reply_due"]),
        acknowledged_on=as_date(row["acknowledged_on"]) if row["acknowledged_on"] else None,
        replied_on=as_date(row["replied_on"]) if row["replied_on"] else None,
        satisfaction=Satisfaction(row["satisfaction"]) if row["satisfaction"] else None,
        reopen_count=row["reopen_count"],
        history=_history(row["history"]),
        version=row["version"],
    )


def _who(p: Principal, row: ComplaintRow, cipher: FieldCipher) -> Actor:
    if p.role == "department":
        handler = (
            bool(row["responsible_department"])
            and row["responsible_department"] == p.dept
            and p.sees(row["region_code"])
        )
    else:
        handler = _is_officer(p) and p.sees(row["responsible_region"])
    return Actor(role=p.role, is_handler=handler, is_complainant=row["complainant_index"] == subject_hash(cipher, p))


def _visible(p: Principal, row: ComplaintRow | None, cipher: FieldCipher) -> ComplaintRow:
    if row is not None:
        if row["complainant_index"] == subject_hash(cipher, p):
            return row
        if _is_officer(p) and (p.sees(row["region_code"]) or p.sees(row["responsible_region"])):
            return row
        if p.role == "department" and row["responsible_department"] == p.dept and p.sees(row["region_code"]):
            return row
    raise NotFound("no such complaint in your jurisdiction")


def complaint_view(row: ComplaintRow, p: Principal, deps: GrievanceDeps) -> ComplaintView:
    c = _domain(row)
    today = deps.now().date()
    open_ = c.state in (ComplaintState.RECEIVED, ComplaintState.ACCEPTED)
    person = None
    if row["person_id_enc"] is not None:
        person = MaskedPerson(mask_id_number(deps.cipher.decrypt(row["person_id_enc"], context=_PERSON_CTX)))
    phone = None
    if row["contact_phone_enc"] is not None:
        phone = mask_phone(deps.cipher.decrypt(row["contact_phone_enc"], context=_PHONE_CTX))
    return ComplaintView(
        id=row["id"],
        channel=row["channel"],
        topic=row["topic"],
        text=row["text"],
        household_id=row["household_id"],
        person=person,
        contact_phone=phone,
        region_code=row["region_code"],
        officer_level=row["officer_level"],
        state=row["state"],
        responsible_level=row["responsible_level"],
        responsible_region=row["responsible_region"],
        responsible_department=row["responsible_department"],
        escalated_level=row["escalated_level"],
        escalated_region=row["escalated_region"],
        received_on=c.received_on,
        ack_due=c.ack_due,
        reply_due=c.reply_due,
        acknowledged_on=c.acknowledged_on,
        replied_on=c.replied_on,
        reply=row["reply"],
        satisfaction=row["satisfaction"],
        reopen_count=c.reopen_count,
        overdue=open_ and ((c.state is ComplaintState.RECEIVED and today > c.ack_due) or today > c.reply_due),
        filed_by_role=row["filed_by_role"],
        history=history_json(c.history),
        allowed_actions=allowed_actions(c, _who(p, row, deps.cipher)),
        explanation=row["explanation"],
        version=row["version"],
    )


def _channel_allowed(p: Principal, channel: Channel) -> None:
    if p.role == "citizen" and channel is not Channel.APP:
        raise Unprocessable("a citizen files through the app", errors=[FieldError("channel", "citizens use 'app'")])
    if p.role == "department" and channel is not Channel.DEPARTMENT_REFERRAL:
        raise Unprocessable(
            "a department refers complaints", errors=[FieldError("channel", "departments use 'department_referral'")]
        )
    if _is_officer(p) and channel is Channel.DEPARTMENT_REFERRAL:
        raise Unprocessable(
            "department referrals come from a department",
            errors=[FieldError("channel", "officers record the channel the complaint came by")],
        )


async def file_complaint(cmd: FileComplaint, uow: Work, deps: GrievanceDeps) -> ComplaintView:
    p = cmd.principal
    if p.role not in ("citizen", "department") and not _is_officer(p):
        raise Forbidden("complaints are filed by citizens, officers and departments", code="role_not_allowed")
    _channel_allowed(p, cmd.channel)
    if p.role != "citizen" and not p.sees(cmd.region_code):
        raise NotFound("no such region in your jurisdiction")
    errors: list[FieldError] = []
    if cmd.topic is Topic.OFFICER_CONDUCT and cmd.officer_level is None:
        errors.append(FieldError("officer_level", "a complaint about an officer names the officer's level"))
    person_id: str | None = None
    if cmd.person_id_number:
        try:
            person_id = validate_id_number(cmd.person_id_number)
        except InvalidIdNumber as exc:
            errors.append(FieldError("person.id_number", str(exc)))
    if errors:
        raise Unprocessable("the complaint is incomplete", errors=errors)
    now = deps.now()
    today = now.date()
    resolved = await grievance_policy(uow, cmd.region_code, today)
    policy = complaint_policy(resolved)
    route = route_complaint(cmd.topic, cmd.region_code, officer_level=cmd.officer_level)
    ack_due, reply_due = deadlines(today, policy)
    entry = HistoryEntry(
        "receive", None, str(ComplaintState.RECEIVED), actor_label(p), p.role, now, f"via {cmd.channel}"
    )
    row: ComplaintRow = {
        "id": str(uuid.uuid4()),
        "channel": str(cmd.channel),
        "topic": str(cmd.topic),
        "text": mask_numbers_in_text(cmd.text),
        "household_id": cmd.household_id,
        "person_id_enc": deps.cipher.encrypt(person_id, context=_PERSON_CTX) if person_id else None,
        "person_index": deps.cipher.blind_index(person_id) if person_id else None,
        "contact_phone_enc": deps.cipher.encrypt(cmd.contact_phone, context=_PHONE_CTX) if cmd.contact_phone else None,
        "region_code": cmd.region_code,
        "officer_level": str(cmd.officer_level) if cmd.officer_level else None,
        "responsible_level": str(route.level),
        "responsible_region": route.region,
        "responsible_department": None,
        "escalated_level": None,
        "escalated_region": None,
        "state": str(ComplaintState.RECEIVED),
        "received_on": today,
        "ack_due": ack_due,
        "reply_due": reply_due,
        "acknowledged_on": None,
        "replied_on": None,
        "reply": None,
        "satisfaction": None,
        "reopen_count": 0,
        "complainant_index": subject_hash(deps.cipher, p),
        "filed_by": actor_label(p),
        "filed_by_role": p.role,
        "history": history_json((entry,)),
        "explanation": {
            "rule": route.rule,
            "source": "003 §一(五) (受理、转办、办结); 002 篇十四 §二(二) (12345 便民通道); 000 社会保障兜底 §五(三)",
            "deadline_rule": (
                f"received {today.isoformat()}: acknowledge within {policy.ack_working_days} working day(s), "
                f"reply within {policy.reply_working_days} working days"
            ),
            "deadline_sources": policy.sources,
            # the version that set the time limit (a later, more specific one may set other figures)
            "policy": {
                "id": resolved.param("complaint_reply_working_days").version_id,
                "version": resolved.param("complaint_reply_working_days").version,
            },
            "inputs": {
                "topic": str(cmd.topic),
                "region_code": cmd.region_code,
                "officer_level": str(cmd.officer_level) if cmd.officer_level else None,
            },
        },
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    await uow.complaints.add(row)
    uow.add_event(complaint_event("received", row))
    uow.add_event(complaint_event("routed", row, reason="intake", routing_rule=route.rule))
    await uow.commit()
    return complaint_view(row, p, deps)


def _transfer_target(cmd: ActOnComplaint, row: ComplaintRow) -> Route | None:
    if cmd.to_region is None:
        return None
    try:
        level = level_of_region(cmd.to_region)
    except ValueError:
        raise Unprocessable(
            "to_region is not a region code", errors=[FieldError("to_region", "a 2/4/6/9/12-digit region code")]
        ) from None
    if not row["region_code"].startswith(cmd.to_region):
        raise Unprocessable(
            "a complaint goes to a unit whose region covers its place",
            errors=[FieldError("to_region", f"must be a prefix of {row['region_code']}")],
        )
    return Route(level=level, region=cmd.to_region, rule="transfer (转办)")


async def act_on_complaint(cmd: ActOnComplaint, uow: Work, deps: GrievanceDeps) -> ComplaintView:
    p = cmd.principal
    repo = uow.complaints
    row = _visible(p, await repo.get(cmd.complaint_id), deps.cipher)
    if cmd.version is not None and cmd.version != row["version"]:
        raise Conflict(
            "the complaint changed since you read it", code="version_conflict", current_version=row["version"]
        )
    now = deps.now()
    policy = complaint_policy(await grievance_policy(uow, row["region_code"], now.date()))
    note = mask_numbers_in_text(cmd.note) if cmd.note else cmd.note
    target = _transfer_target(cmd, row) if cmd.action is ComplaintAction.TRANSFER else None
    if target is not None and not p.sees(target.region) and not p.sees(row["region_code"]):
        raise NotFound("no such unit in your jurisdiction")
    try:
        after = apply_action(
            _domain(row),
            cmd.action,
            _who(p, row, deps.cipher),
            by=actor_label(p),
            at=now,
            policy=policy,
            note=note,
            to=target,
            to_department=cmd.to_department,
            satisfaction=cmd.satisfaction,
        )
    except ComplaintError as exc:
        raise Conflict(exc.detail, code=exc.code) from None
    values: dict[str, Any] = {
        "state": str(after.state),
        "responsible_level": str(after.responsible_level),
        "responsible_region": after.responsible_region,
        "responsible_department": after.responsible_department,
        "acknowledged_on": after.acknowledged_on,
        "replied_on": after.replied_on,
        "reply_due": after.reply_due,
        "satisfaction": str(after.satisfaction) if after.satisfaction else None,
        "reopen_count": after.reopen_count,
        "history": history_json(after.history),
        "version": after.version,
        "updated_at": now,
    }
    if cmd.action is ComplaintAction.REPLY:
        values["reply"] = note
    if cmd.action is ComplaintAction.TRANSFER:
        values["escalated_level"], values["escalated_region"] = None, None
    try:
        await repo.update(row["id"], row["version"], values)
    except StaleVersion:
        raise Conflict("the complaint changed since you read it", code="version_conflict") from None
    row = cast(ComplaintRow, {**row, **values})
    if cmd.action is ComplaintAction.TRANSFER:
        uow.add_event(complaint_event("routed", row, reason="transfer", routing_rule="transfer (转办)"))
    elif cmd.action is ComplaintAction.CLOSE:
        uow.add_event(
            complaint_event("closed", row, satisfaction=values["satisfaction"], closed_on=now.date().isoformat())
        )
    elif cmd.action is ComplaintAction.REOPEN:
        uow.add_event(complaint_event("reopened", row, reopen_count=after.reopen_count))
    elif cmd.action is ComplaintAction.REPLY:
        uow.add_event(complaint_event("replied", row, replied_on=now.date().isoformat()))
    else:
        uow.add_event(complaint_event("acknowledged", row, acknowledged_on=now.date().isoformat()))
    await uow.commit()
    return complaint_view(row, p, deps)


async def get_complaint(p: Principal, complaint_id: str, uow: Work, deps: GrievanceDeps) -> ComplaintView:
    row = _visible(p, await uow.complaints.get(complaint_id), deps.cipher)
    return complaint_view(row, p, deps)


async def list_complaints(cmd: ListComplaints, uow: Work, deps: GrievanceDeps) -> ComplaintPage:
    p = cmd.principal
    mine = subject_hash(deps.cipher, p)
    rows, total = await uow.complaints.page(
        region=p.region,
        complainant_index=mine if p.role in ("citizen", "department", "contact") else None,
        department=p.dept if p.role == "department" else None,
        state=cmd.state,
        topic=cmd.topic,
        limit=cmd.limit,
        offset=cmd.offset,
    )
    return ComplaintPage(
        items=[complaint_view(r, p, deps) for r in rows], total=total, limit=cmd.limit, offset=cmd.offset
    )
