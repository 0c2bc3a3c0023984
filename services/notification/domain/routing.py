"""Who must hear about an event (通知对象): the in-app inbox items, SMS and reminders an event
gives rise to, and the reminders it cancels. Pure: the caller supplies the applicant looked up
from an earlier `application.submitted` and the reminder lead times in force."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CHINA_TZ",
    "STATE_NAMES",
    "TERMINAL_STATES",
    "Audience",
    "Notice",
    "ReminderCancel",
    "ReminderPolicy",
    "ReminderSchedule",
    "Routing",
    "fire_time",
    "reminder_notice",
    "route_event",
    "sms_text",
]

#: China Standard Time has no daylight saving: a fixed offset is exact.
CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "CST")

STATE_NAMES = {
    "submitted": "已提交",
    "verification": "入户核实",
    "village_review": "村级民主评议",
    "public_notice": "公示",
    "township_review": "乡镇审核",
    "county_review": "县级审定",
    "monitored": "已纳入监测",
    "eliminated": "风险已消除",
    "rejected": "未通过",
    "rolled_back": "已回退",
    "cleared": "已清退",
}
TERMINAL_STATES = frozenset({"monitored", "eliminated", "rejected", "rolled_back", "cleared"})
#: Events from assistance that mean the plan has been drawn up (cancel its due-date reminder).
PLAN_DONE_EVENTS = frozenset({"plan_drawn_up", "plan_approved", "plan_activated", "plan_completed", "plan_closed"})
VISIT_DONE_EVENTS = frozenset({"visit_recorded", "visit_completed", "visit_cancelled"})
OFFICERS_NEAR = ("village", "township")
OFFICERS_ALL = ("village", "township", "county")


@dataclass(frozen=True, slots=True)
class Audience:
    """A person (the blind index of their token subject) and/or roles within a region."""

    person: str | None = None
    roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Notice:
    """One inbox item (per person, or per role within the region)."""

    kind: str
    title: str
    body: str
    region: str
    audience: Audience
    data: Mapping[str, Any] = field(default_factory=dict)
    #: Send an SMS to the person as well (if they registered a phone number).
    sms: bool = False


@dataclass(frozen=True, slots=True)
class ReminderSchedule:
    kind: str
    ref_id: str
    region: str
    due_date: dt.date
    fire_at: dt.datetime  # aware
    audience: Audience
    household_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    #: False: a cancelled reminder stays cancelled (a recorded visit is not scheduled again, so
    #: a late or redelivered `visit_scheduled` must not bring its reminder back).
    revive: bool = True


@dataclass(frozen=True, slots=True)
class ReminderCancel:
    kinds: tuple[str, ...]
    ref_id: str
    reason: str
    #: The thing is done for good: if its reminder is not there yet (events out of order after a
    #: retry), a cancelled placeholder is kept so the late schedule finds it cancelled.
    final: bool = False


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    """Lead times in days before the date a reminder is about, and the local hour it fires."""

    case_deadline_lead_days: int = 3
    public_notice_end_lead_days: int = 0
    plan_due_lead_days: int = 3
    visit_due_lead_days: int = 3
    reminder_hour: int = 8


@dataclass(slots=True)
class Routing:
    notices: list[Notice] = field(default_factory=list)
    schedules: list[ReminderSchedule] = field(default_factory=list)
    cancels: list[ReminderCancel] = field(default_factory=list)


def fire_time(day: dt.date, hour: int) -> dt.datetime:
    """`hour` o'clock China time on `day`, in UTC."""
    return dt.datetime.combine(day, dt.time(hour), CHINA_TZ).astimezone(dt.UTC)


def _date(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _state(name: Any) -> str:
    return STATE_NAMES.get(str(name), str(name))


def route_event(
    domain: str,
    name: str,
    subject: str,
    region: str,
    data: Mapping[str, Any],
    *,
    applicant: str | None = None,
    contact: str | None = None,
    policy: ReminderPolicy = ReminderPolicy(),
) -> Routing:
    """`applicant`: the blind index of the citizen who submitted the case's application, if
    any; `contact`: the blind index of the household's contact person named by the event."""
    out = Routing()
    etype = f"{domain}.{name}"
    if etype == "application.submitted":
        if applicant:
            out.notices.append(
                Notice(
                    "application_submitted",
                    "申请已受理",
                    "您的防返贫监测申请已提交，我们将按时限办理，请留意后续通知。",
                    region,
                    Audience(person=applicant),
                    {"application_id": data.get("application_id"), "case_id": data.get("case_id")},
                    sms=True,
                )
            )
    elif etype == "case.status_changed":
        _case_status_changed(out, subject, region, data, applicant, policy)
    elif etype == "risk.warning_raised":
        level = {"red": "红色", "orange": "橙色", "yellow": "黄色"}.get(str(data.get("warning")), "")
        out.notices.append(
            Notice(
                "risk_warning",
                f"{level}风险预警",
                "辖区内有农户触发返贫致贫风险预警，请及时核实。",
                region,
                Audience(roles=OFFICERS_NEAR),
                {"household_id": data.get("household_id") or subject},
            )
        )
    elif etype == "signal.lead_resolved":
        outcome = {"matched": "已核实并匹配到农户", "dismissed": "已核查排除"}.get(str(data.get("outcome")), "已处理")
        for person in data.get("source_sub_hashes") or ():
            out.notices.append(
                Notice(
                    "lead_resolved",
                    "线索核查结果",
                    f"贵部门推送的风险线索{outcome}。",
                    region,
                    Audience(person=str(person)),
                    {
                        "lead_id": data.get("lead_id") or subject,
                        "signal_ids": list(data.get("signal_ids") or ()),
                        "outcome": data.get("outcome"),
                        "household_id": data.get("household_id"),
                    },
                )
            )
    elif domain == "assistance":
        _assistance(out, name, subject, region, data, contact, policy)
    elif domain in ("appeal", "complaint"):
        _grievance(out, domain, name, subject, region, data)
    return out


def _case_status_changed(
    out: Routing,
    subject: str,
    region: str,
    data: Mapping[str, Any],
    applicant: str | None,
    policy: ReminderPolicy,
) -> None:
    case_id = str(data.get("case_id") or subject)
    src, dst = data.get("from"), str(data.get("to") or data.get("state") or "")
    links = {"case_id": case_id, "household_id": data.get("household_id")}
    if applicant and src != dst:
        body = (
            f"您的申请进度已更新为「{_state(dst)}」。"
            if src is None
            else f"您的申请进度由「{_state(src)}」变更为「{_state(dst)}」。"
        )
        out.notices.append(
            Notice("application_status", "申请进度更新", body, region, Audience(person=applicant), links, sms=True)
        )
    if src == "public_notice" and dst != "public_notice":
        out.cancels.append(ReminderCancel(("public_notice_ending",), case_id, f"case left public_notice for {dst}"))
    if dst == "public_notice" and src != "public_notice":
        ends = _date(data.get("notice_ends_on") or (data.get("notice") or {}).get("ends_on"))
        body = "辖区内有监测对象识别案件进入公示" + (f"，公示期至{ends.isoformat()}。" if ends else "。")
        out.notices.append(
            Notice("public_notice_started", "案件进入公示", body, region, Audience(roles=OFFICERS_NEAR), links)
        )
        if ends:
            out.schedules.append(
                ReminderSchedule(
                    "public_notice_ending",
                    case_id,
                    region,
                    ends,
                    fire_time(ends - dt.timedelta(days=policy.public_notice_end_lead_days), policy.reminder_hour),
                    Audience(roles=OFFICERS_NEAR),
                    data.get("household_id"),
                    links,
                )
            )
    if dst in TERMINAL_STATES:
        out.cancels.append(
            ReminderCancel(("case_deadline_approaching", "case_overdue"), case_id, f"case reached {dst}")
        )
        return
    deadline = _date(data.get("deadline"))
    if deadline is not None:
        out.schedules.append(
            ReminderSchedule(
                "case_deadline_approaching",
                case_id,
                region,
                deadline,
                fire_time(deadline - dt.timedelta(days=policy.case_deadline_lead_days), policy.reminder_hour),
                Audience(roles=OFFICERS_NEAR),
                data.get("household_id"),
                links,
            )
        )
        out.schedules.append(
            ReminderSchedule(
                "case_overdue",
                case_id,
                region,
                deadline,
                fire_time(deadline + dt.timedelta(days=1), policy.reminder_hour),
                Audience(roles=OFFICERS_ALL),
                data.get("household_id"),
                links,
            )
        )


def _assistance(
    out: Routing,
    name: str,
    subject: str,
    region: str,
    data: Mapping[str, Any],
    contact: str | None,
    policy: ReminderPolicy,
) -> None:
    household = data.get("household_id") or subject
    if name == "plan_created":
        plan_id = str(data.get("plan_id") or subject)
        due = _date(data.get("due_date"))
        links = {"plan_id": plan_id, "household_id": household}
        if contact:
            body = "您联系的农户有新的帮扶计划" + (f"，请于{due.isoformat()}前完成制定。" if due else "。")
            out.notices.append(
                Notice("plan_created", "新的帮扶计划", body, region, Audience(person=contact), links, sms=True)
            )
        if due:
            out.schedules.append(
                ReminderSchedule(
                    "plan_due",
                    plan_id,
                    region,
                    due,
                    fire_time(due - dt.timedelta(days=policy.plan_due_lead_days), policy.reminder_hour),
                    Audience(person=contact, roles=("village",)),
                    str(household),
                    links,
                )
            )
    elif name in PLAN_DONE_EVENTS:
        out.cancels.append(ReminderCancel(("plan_due",), str(data.get("plan_id") or subject), f"assistance.{name}"))
    elif name == "plan_overdue":
        links = {"plan_id": data.get("plan_id"), "household_id": household}
        out.notices.append(
            Notice(
                "plan_overdue",
                "帮扶计划已超期",
                "辖区内有农户的帮扶计划超过规定时限（10日）仍未制定，请督促办理。",
                region,
                Audience(person=contact, roles=OFFICERS_ALL),
                links,
                sms=bool(contact),
            )
        )
    elif name == "visit_scheduled":
        visit_id = str(data.get("visit_id") or subject)
        due = _date(data.get("due_date"))
        links = {"visit_id": visit_id, "household_id": household}
        if due:
            out.schedules.append(
                ReminderSchedule(
                    "visit_due",
                    visit_id,
                    region,
                    due,
                    fire_time(due - dt.timedelta(days=policy.visit_due_lead_days), policy.reminder_hour),
                    Audience(person=contact, roles=("village",)),
                    str(household),
                    links,
                    revive=False,
                )
            )
    elif name in VISIT_DONE_EVENTS:
        visit_id = str(data.get("visit_id") or subject)
        out.cancels.append(ReminderCancel(("visit_due",), visit_id, f"assistance.{name}", final=True))
    elif name == "visit_overdue":
        out.notices.append(
            Notice(
                "visit_overdue",
                "走访已超期",
                "您联系的农户已超过规定周期未走访，请尽快入户走访并记录。",
                region,
                Audience(person=contact, roles=("village",)),
                {"household_id": household, "visit_id": data.get("visit_id")},
                sms=bool(contact),
            )
        )


_REMINDER_TEXT = {
    "case_deadline_approaching": ("案件办理时限将至", "监测对象识别案件办理时限为{due}，请及时办理。"),
    "case_overdue": ("案件已超期", "监测对象识别案件已超过办理时限（{due}），请尽快办结。"),
    "public_notice_ending": ("公示期即将结束", "案件公示期将于{due}结束，请及时处理异议并推进审核。"),
    "plan_due": ("帮扶计划即将到期", "农户帮扶计划须于{due}前制定完成，请及时办理。"),
    "visit_due": ("走访即将到期", "请于{due}前完成对联系农户的走访。"),
}


def reminder_notice(kind: str, region: str, due_date: dt.date, audience: Audience, data: Mapping[str, Any]) -> Notice:
    """The inbox item (and SMS text) of a reminder that fires."""
    title, body = _REMINDER_TEXT.get(kind, ("提醒", "{due}到期事项提醒。"))
    return Notice(
        f"reminder.{kind}",
        title,
        body.format(due=due_date.isoformat()),
        region,
        audience,
        dict(data, due_date=due_date.isoformat()),
        sms=audience.person is not None,
    )


def sms_text(notice: Notice) -> str:
    """SMS in Chinese: the item's title and body, no personal data (the bodies never carry any)."""
    return f"【防返】{notice.title}：{notice.body}"


# --------------------------------------------------------------------------- appeals and complaints

#: The officer role answering at a level; a city (4-digit) unit has no role of its own: the province.
_LEVEL_ROLE = {
    "village": "village",
    "township": "township",
    "county": "county",
    "city": "province",
    "province": "province",
}
_OUTCOME_TEXT = {"upheld": "维持原决定", "overturned": "撤销原决定", "partly_upheld": "部分变更原决定"}
_SATISFACTION_TEXT = {
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
    "not_reached": "未回访到",
}


def _level_roles(*levels: Any) -> tuple[str, ...]:
    roles = [_LEVEL_ROLE[str(level)] for level in levels if str(level) in _LEVEL_ROLE]
    return tuple(dict.fromkeys(roles))


def _grievance(out: Routing, domain: str, name: str, subject: str, region: str, data: Mapping[str, Any]) -> None:
    """Appeals (申诉/复核) and complaints (12345 投诉举报): the person who filed hears of receipt
    and outcome; the unit that must act hears of new work, approaching deadlines and overdue."""
    if domain == "appeal":
        person = data.get("appellant_sub_hash") or None
        links = {"appeal_id": data.get("appeal_id") or subject, "household_id": data.get("household_id")}
        reviewers = _level_roles(data.get("review_level"))
        due = data.get("deadline")
        if name == "received":
            if person:
                out.notices.append(
                    Notice(
                        "appeal_received",
                        "申诉已受理",
                        f"您的申诉已受理，将于{due}前办结。",
                        region,
                        Audience(person=person),
                        links,
                        sms=True,
                    )
                )
            out.notices.append(
                Notice(
                    "appeal_to_review",
                    "新的申诉待复核",
                    f"辖区内有农户提出申诉，请于{due}前复核办结。",
                    region,
                    Audience(roles=reviewers),
                    links,
                )
            )
        elif name == "decided":
            outcome = _OUTCOME_TEXT.get(str(data.get("outcome")), str(data.get("outcome")))
            if person:
                out.notices.append(
                    Notice(
                        "appeal_decided",
                        "申诉结果",
                        f"您的申诉已办结，复核结果：{outcome}。",
                        region,
                        Audience(person=person),
                        dict(links, outcome=data.get("outcome")),
                        sms=True,
                    )
                )
            out.notices.append(
                Notice(
                    "appeal_decided",
                    "申诉复核结果",
                    f"辖区内一件申诉已复核办结：{outcome}。",
                    region,
                    Audience(roles=_level_roles(data.get("decided_level"))),
                    dict(links, outcome=data.get("outcome")),
                )
            )
        elif name == "reminder_due":
            out.notices.append(
                Notice(
                    "appeal_reminder_due",
                    "申诉办理时限将至",
                    f"申诉须于{due}前复核办结，请及时办理。",
                    region,
                    Audience(roles=reviewers),
                    links,
                )
            )
        elif name == "overdue":
            out.notices.append(
                Notice(
                    "appeal_overdue",
                    "申诉已超期",
                    f"申诉已超过办理时限（{due}），请尽快办结。",
                    region,
                    Audience(roles=_level_roles(data.get("review_level"), "province")),
                    links,
                )
            )
        return
    person = data.get("complainant_sub_hash") or None
    links = {"complaint_id": data.get("complaint_id") or subject, "household_id": data.get("household_id")}
    responsible = _level_roles(data.get("responsible_level"))
    if name == "received" and person:
        out.notices.append(
            Notice(
                "complaint_received",
                "诉求已登记",
                "您的诉求已登记，我们将按时限受理并答复。",
                region,
                Audience(person=person),
                links,
                sms=True,
            )
        )
    elif name == "routed":
        out.notices.append(
            Notice(
                "complaint_routed",
                "新的投诉待办",
                f"有一件投诉交由本级办理，请于{data.get('reply_due')}前答复。",
                region,
                Audience(roles=responsible),
                links,
            )
        )
    elif name == "replied" and person:
        out.notices.append(
            Notice(
                "complaint_replied",
                "诉求已答复",
                "您的诉求已有答复，请在应用中查看并评价。",
                region,
                Audience(person=person),
                links,
                sms=True,
            )
        )
    elif name == "closed" and person:
        satisfaction = _SATISFACTION_TEXT.get(str(data.get("satisfaction")), "")
        out.notices.append(
            Notice(
                "complaint_closed",
                "诉求已办结",
                f"您的诉求已办结（评价：{satisfaction}）。",
                region,
                Audience(person=person),
                links,
            )
        )
    elif name == "reminder_due":
        out.notices.append(
            Notice(
                "complaint_reminder_due",
                "投诉答复时限将至",
                f"投诉须于{data.get('due_date')}前答复，请及时办理。",
                region,
                Audience(roles=responsible),
                links,
            )
        )
    elif name == "overdue":
        stage = "受理" if data.get("stage") == "acknowledgement" else "答复"
        out.notices.append(
            Notice(
                "complaint_overdue",
                "投诉已超期",
                f"投诉{stage}已超过时限（{data.get('due_date')}），已提级督办。",
                region,
                Audience(roles=_level_roles(data.get("responsible_level"), data.get("escalated_level"))),
                links,
            )
        )
