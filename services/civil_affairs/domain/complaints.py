"""Complaints and reports (12345 热线 / 投诉举报): routing to the responsible unit by topic and
region, acknowledgement and reply time limits in working days, the state machine with transfers
(转办), reply, close (办结) with the complainant's satisfaction, and reopening. Pure.

    received --acknowledge--> accepted --reply--> replied --close(satisfaction)--> closed
    received | accepted --transfer(to_region | to_department)--> (same state, new unit)
    replied | closed --reopen(reason)--> accepted   (a new reply deadline)

Sources: 000 社会保障兜底 §五(三) (畅通社会救助投诉（求助）热线, against 漏保/脱保); 002 篇十四 §二(二)三
(便民通道: the county civil-affairs bureau collects 12345 hotline, 信访 and media leads); 002 篇九
(信访举报 as a discovery channel); 003 §一(五) (受理、转办、办结). DOMAIN.md §4 (预警分办): a
suspected missed entitlement goes to the township to verify. The 12345 time limits (acknowledge
within 1 working day, reply within 5–15) are practice, not seed text: configurable defaults.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from .appeals import LEVEL_DIGITS, HistoryEntry, Level, level_above

__all__ = [
    "TOPIC_LEVEL",
    "Actor",
    "Channel",
    "Complaint",
    "ComplaintAction",
    "ComplaintError",
    "ComplaintPolicy",
    "ComplaintState",
    "Route",
    "Satisfaction",
    "Topic",
    "add_working_days",
    "alerts_due",
    "allowed_actions",
    "apply_action",
    "deadlines",
    "escalation_target",
    "is_working_day",
    "route_complaint",
    "sub_working_days",
]


class Channel(StrEnum):
    HOTLINE_12345 = "hotline_12345"
    APP = "app"
    LETTER = "letter"
    VISIT = "visit"
    DEPARTMENT_REFERRAL = "department_referral"


class Topic(StrEnum):
    MISSED_ENTITLEMENT = "missed_entitlement"  # 漏保 / 应保未保
    WRONG_IDENTIFICATION = "wrong_identification"  # 错保 / 识别不准
    SUBSIDY_NOT_PAID = "subsidy_not_paid"  # 救助金未发放
    OFFICER_CONDUCT = "officer_conduct"  # 干部作风 (人情保、关系保、不作为)
    OTHER = "other"


#: Topic → the level that answers it (before the officer-conduct rule).
TOPIC_LEVEL: dict[Topic, tuple[Level, str]] = {
    Topic.MISSED_ENTITLEMENT: (
        Level.TOWNSHIP,
        "DOMAIN.md §4 预警分办: suspected missed entitlements go to the township",
    ),
    Topic.WRONG_IDENTIFICATION: (Level.TOWNSHIP, "002 篇十四 §二(二): the township verifies; the county decides"),
    Topic.SUBSIDY_NOT_PAID: (Level.COUNTY, "000 社会保障兜底 §五(二): the county civil-affairs bureau pays"),
    Topic.OTHER: (Level.TOWNSHIP, "003 §一(五): accepted by the township, referred on if need be"),
}


@dataclass(frozen=True, slots=True)
class Route:
    level: Level
    region: str
    rule: str


def route_complaint(topic: Topic, region_code: str, *, officer_level: Level | None = None) -> Route:
    """The responsible unit: the topic's level within the complaint's region; a complaint about
    an officer's conduct goes to the level above the officer's (000 §五(三): 纠正不作为、慢作为、乱作为)."""
    if topic is Topic.OFFICER_CONDUCT:
        level = level_above(officer_level or Level.VILLAGE)
        rule = f"officer conduct: the level above the officer's ({officer_level or Level.VILLAGE} → {level})"
    else:
        level, rule = TOPIC_LEVEL[topic]
    digits = min(LEVEL_DIGITS[level], len(region_code))
    return Route(level=level, region=region_code[:digits], rule=rule)


def escalation_target(level: Level, region: str) -> Route:
    """Where an overdue complaint is escalated: the supervising level of the responsible unit."""
    above = level_above(level)
    return Route(
        level=above,
        region=region[: min(LEVEL_DIGITS[above], len(region))],
        rule="overdue: escalated to the supervising level",
    )


# --------------------------------------------------------------------------- working days


def is_working_day(day: dt.date, holidays: Collection[dt.date] = frozenset()) -> bool:
    """Monday to Friday and not a public holiday (调休 Saturdays are not modelled)."""
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: dt.date, days: int, holidays: Collection[dt.date] = frozenset()) -> dt.date:
    """The `days`-th working day after `start` (`start` itself not counted; 0 → `start`)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    current, remaining = start, days
    while remaining:
        current += dt.timedelta(days=1)
        if is_working_day(current, holidays):
            remaining -= 1
    return current


def sub_working_days(end: dt.date, days: int, holidays: Collection[dt.date] = frozenset()) -> dt.date:
    """The working day `days` working days before `end`."""
    current, remaining = end, days
    while remaining > 0:
        current -= dt.timedelta(days=1)
        if is_working_day(current, holidays):
            remaining -= 1
    return current


@dataclass(frozen=True, slots=True)
class ComplaintPolicy:
    ack_working_days: int
    reply_working_days: int
    reminder_lead_working_days: int
    holidays: frozenset[dt.date] = frozenset()
    sources: dict[str, str] = field(default_factory=dict)


def deadlines(received_on: dt.date, policy: ComplaintPolicy) -> tuple[dt.date, dt.date]:
    """(acknowledge by, reply by), counted in working days from the day of receipt."""
    return (
        add_working_days(received_on, policy.ack_working_days, policy.holidays),
        add_working_days(received_on, policy.reply_working_days, policy.holidays),
    )


# --------------------------------------------------------------------------- state machine


class ComplaintState(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REPLIED = "replied"
    CLOSED = "closed"


class ComplaintAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    TRANSFER = "transfer"
    REPLY = "reply"
    CLOSE = "close"
    REOPEN = "reopen"


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"
    NOT_REACHED = "not_reached"  # the return visit (回访) reached nobody


class ComplaintError(ValueError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


@dataclass(frozen=True, slots=True)
class Complaint:
    id: str
    state: ComplaintState
    region_code: str
    responsible_level: Level
    responsible_region: str
    received_on: dt.date
    ack_due: dt.date
    reply_due: dt.date
    responsible_department: str | None = None
    acknowledged_on: dt.date | None = None
    replied_on: dt.date | None = None
    satisfaction: Satisfaction | None = None
    reopen_count: int = 0
    history: tuple[HistoryEntry, ...] = field(default_factory=tuple)
    version: int = 1


@dataclass(frozen=True, slots=True)
class Actor:
    """`handler`: an officer whose region covers the responsible unit, or the department it was
    transferred to; `complainant`: the person who filed it."""

    role: str
    is_handler: bool
    is_complainant: bool


def allowed_actions(c: Complaint, who: Actor) -> list[str]:
    out: list[ComplaintAction] = []
    if who.is_handler:
        if c.state is ComplaintState.RECEIVED:
            out.append(ComplaintAction.ACKNOWLEDGE)
        if c.state in (ComplaintState.RECEIVED, ComplaintState.ACCEPTED) and who.role != "department":
            out.append(ComplaintAction.TRANSFER)
        if c.state is ComplaintState.ACCEPTED:
            out.append(ComplaintAction.REPLY)
    if c.state is ComplaintState.REPLIED and (who.is_handler or who.is_complainant):
        out.append(ComplaintAction.CLOSE)
    if c.state in (ComplaintState.REPLIED, ComplaintState.CLOSED) and (who.is_handler or who.is_complainant):
        out.append(ComplaintAction.REOPEN)
    return [str(a) for a in out]


def apply_action(
    c: Complaint,
    action: ComplaintAction,
    who: Actor,
    *,
    by: str,
    at: dt.datetime,
    policy: ComplaintPolicy,
    note: str | None = None,
    to: Route | None = None,
    to_department: str | None = None,
    satisfaction: Satisfaction | None = None,
) -> Complaint:
    """The complaint after `action` (ComplaintError when not allowed). `at` is local time."""
    if str(action) not in allowed_actions(c, who):
        raise ComplaintError(
            "action_not_allowed",
            f"{action} is not allowed in state {c.state} for role {who.role}"
            " (handling is for the responsible unit and the levels above it)",
        )
    today = at.date()
    changes: dict[str, object] = {}
    target = c.state
    if action is ComplaintAction.ACKNOWLEDGE:
        target, changes = ComplaintState.ACCEPTED, {"acknowledged_on": today}
    elif action is ComplaintAction.TRANSFER:
        if to is None and not to_department:
            raise ComplaintError("transfer_target_required", "a transfer names to_region or to_department")
        if to is not None and not c.region_code.startswith(to.region):
            raise ComplaintError(
                "transfer_outside_region", "a complaint is transferred to a unit whose region covers its place"
            )
        route = to or Route(c.responsible_level, c.responsible_region, "")
        changes = {
            "responsible_level": route.level,
            "responsible_region": route.region,
            "responsible_department": to_department,
        }
        note = note or f"transferred to {to_department or route.region}"
    elif action is ComplaintAction.REPLY:
        if not note or not note.strip():
            raise ComplaintError("reply_required", "a reply carries its text")
        target, changes = ComplaintState.REPLIED, {"replied_on": today}
    elif action is ComplaintAction.CLOSE:
        if satisfaction is None:
            raise ComplaintError("satisfaction_required", "closing records the complainant's satisfaction")
        target, changes = ComplaintState.CLOSED, {"satisfaction": satisfaction}
    else:  # reopen: a new reply period from today
        if not note or not note.strip():
            raise ComplaintError("reason_required", "reopening says why")
        target = ComplaintState.ACCEPTED
        changes = {
            "reply_due": add_working_days(today, policy.reply_working_days, policy.holidays),
            "replied_on": None,
            "satisfaction": None,
            "reopen_count": c.reopen_count + 1,
        }
    entry = HistoryEntry(str(action), str(c.state), str(target), by, who.role, at, note)
    return replace(c, state=target, history=(*c.history, entry), version=c.version + 1, **changes)  # type: ignore[arg-type]


def alerts_due(c: Complaint, today: dt.date, policy: ComplaintPolicy) -> Sequence[tuple[str, str, str, dt.date]]:
    """(kind, stage, key, due) for today: the acknowledgement overdue, the reply reminder from
    `reminder_lead_working_days` before the reply deadline, the reply overdue. Keys name the
    deadline, so a reopened complaint (new deadline) is reminded again."""
    out: list[tuple[str, str, str, dt.date]] = []
    if c.state is ComplaintState.RECEIVED and today > c.ack_due:
        out.append(("overdue", "acknowledgement", f"{c.id}:ack:{c.ack_due.isoformat()}", c.ack_due))
    if c.state in (ComplaintState.RECEIVED, ComplaintState.ACCEPTED):
        remind_from = sub_working_days(c.reply_due, policy.reminder_lead_working_days, policy.holidays)
        if today >= remind_from:
            out.append(("reminder_due", "reply", f"{c.id}:reply:{c.reply_due.isoformat()}", c.reply_due))
        if today > c.reply_due:
            out.append(("overdue", "reply", f"{c.id}:reply:{c.reply_due.isoformat()}", c.reply_due))
    return out
