"""Appeals and complaints as tables a policy officer can read: who reviews (the level above the
one that decided), routing by topic, deadlines in calendar and working days, the state machines
and the alerts due on a day."""

from __future__ import annotations

import datetime as dt

import pytest

from services.civil_affairs.domain.appeals import (
    Appeal,
    AppealAction,
    AppealError,
    AppealPolicy,
    AppealState,
    Appellant,
    Level,
    Outcome,
    SubjectKind,
    alerts_due,
    allowed_actions,
    apply_action,
    deadline_for,
    decided_level,
    review_route,
)
from services.civil_affairs.domain.complaints import (
    Actor,
    Complaint,
    ComplaintAction,
    ComplaintError,
    ComplaintPolicy,
    ComplaintState,
    Route,
    Satisfaction,
    Topic,
    add_working_days,
    deadlines,
    escalation_target,
    route_complaint,
)
from services.civil_affairs.domain.complaints import alerts_due as complaint_alerts
from services.civil_affairs.domain.complaints import allowed_actions as complaint_actions
from services.civil_affairs.domain.complaints import apply_action as complaint_apply

VILLAGE = "341221001201"
CST = dt.timezone(dt.timedelta(hours=8))
AT = dt.datetime(2026, 3, 2, 10, 0, tzinfo=CST)
POLICY = AppealPolicy(review_days=30, reminder_lead_days=5)
CPOLICY = ComplaintPolicy(ack_working_days=1, reply_working_days=10, reminder_lead_working_days=2)


@pytest.mark.parametrize(
    ("name", "decided", "review_level", "review_region"),
    [
        ("village decision → township", Level.VILLAGE, Level.TOWNSHIP, "341221001"),
        ("township decision → county", Level.TOWNSHIP, Level.COUNTY, "341221"),
        ("county decision → city", Level.COUNTY, Level.CITY, "3412"),
        ("city decision → province", Level.CITY, Level.PROVINCE, "34"),
        ("province reviews its own", Level.PROVINCE, Level.PROVINCE, "34"),
    ],
)
def test_review_goes_to_the_level_above(name: str, decided: Level, review_level: Level, review_region: str) -> None:
    route = review_route(VILLAGE, decided)
    assert (route.review_level, route.review_region) == (review_level, review_region), name


@pytest.mark.parametrize(
    ("kind", "role", "stated", "expected"),
    [
        (SubjectKind.IDENTIFICATION_APPLICATION, "township", None, Level.TOWNSHIP),
        (SubjectKind.IDENTIFICATION_APPLICATION, "county", Level.TOWNSHIP, Level.COUNTY),  # the record wins
        (SubjectKind.CASE, "province", None, Level.PROVINCE),
        (SubjectKind.SOCIAL_ASSISTANCE_APPLICATION, None, None, Level.COUNTY),
        (SubjectKind.RELIEF_REQUEST, None, None, Level.TOWNSHIP),
        (SubjectKind.RELIEF_REQUEST, None, Level.COUNTY, Level.COUNTY),  # above the township's limit
        (SubjectKind.SUBSIDY_DECISION, None, None, Level.COUNTY),
    ],
)
def test_the_deciding_level(kind: SubjectKind, role: str | None, stated: Level | None, expected: Level) -> None:
    assert decided_level(kind, decided_by_role=role, stated=stated) is expected


@pytest.mark.parametrize(
    ("received", "review_days", "deadline"),
    [("2026-03-02", 30, "2026-04-01"), ("2026-12-15", 30, "2027-01-14"), ("2026-02-27", 15, "2026-03-14")],
)
def test_appeal_deadline(received: str, review_days: int, deadline: str) -> None:
    policy = AppealPolicy(review_days=review_days, reminder_lead_days=5)
    assert deadline_for(dt.date.fromisoformat(received), policy) == dt.date.fromisoformat(deadline)


REVIEWER = Appellant("county", is_reviewer=True, is_appellant=False, is_officer_in_region=True)
APPELLANT = Appellant("citizen", is_reviewer=False, is_appellant=True, is_officer_in_region=False)
DECIDER = Appellant("township", is_reviewer=False, is_appellant=False, is_officer_in_region=True)


def _appeal(state: AppealState = AppealState.RECEIVED) -> Appeal:
    return Appeal("a-1", state, dt.date(2026, 3, 2), dt.date(2026, 4, 1))


@pytest.mark.parametrize(
    ("state", "who", "actions"),
    [
        (AppealState.RECEIVED, REVIEWER, ["start_review", "withdraw"]),
        (AppealState.RECEIVED, APPELLANT, ["withdraw"]),
        (AppealState.RECEIVED, DECIDER, ["withdraw"]),
        (AppealState.UNDER_REVIEW, REVIEWER, ["decide", "withdraw"]),
        (AppealState.OVERTURNED, REVIEWER, []),
        (AppealState.WITHDRAWN, APPELLANT, []),
    ],
)
def test_allowed_actions(state: AppealState, who: Appellant, actions: list[str]) -> None:
    assert allowed_actions(_appeal(state), who) == actions


@pytest.mark.parametrize("outcome", list(Outcome))
def test_decide_ends_in_the_outcome(outcome: Outcome) -> None:
    a = apply_action(_appeal(), AppealAction.START_REVIEW, REVIEWER, by="r", at=AT)
    a = apply_action(a, AppealAction.DECIDE, REVIEWER, by="r", at=AT, outcome=outcome, reason="理由")
    assert (a.state, a.outcome, a.reason, a.version) == (AppealState(str(outcome)), outcome, "理由", 3)
    assert [h.action for h in a.history] == ["start_review", "decide"]


@pytest.mark.parametrize(
    ("appeal", "action", "who", "kw", "code"),
    [
        (_appeal(), AppealAction.DECIDE, REVIEWER, {"outcome": Outcome.UPHELD, "reason": "x"}, "action_not_allowed"),
        (_appeal(), AppealAction.START_REVIEW, APPELLANT, {}, "action_not_allowed"),
        (_appeal(AppealState.UNDER_REVIEW), AppealAction.DECIDE, REVIEWER, {"reason": "x"}, "outcome_required"),
        (
            _appeal(AppealState.UNDER_REVIEW),
            AppealAction.DECIDE,
            REVIEWER,
            {"outcome": Outcome.UPHELD},
            "reason_required",
        ),
        (_appeal(AppealState.UPHELD), AppealAction.WITHDRAW, APPELLANT, {}, "appeal_closed"),
    ],
)
def test_refused_appeal_actions(appeal: Appeal, action: AppealAction, who: Appellant, kw: dict, code: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(AppealError) as err:
        apply_action(appeal, action, who, by="x", at=AT, **kw)
    assert err.value.code == code


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        ("2026-03-26", []),
        ("2026-03-27", ["reminder_due"]),  # deadline 04-01 − 5 days
        ("2026-04-01", ["reminder_due"]),
        ("2026-04-02", ["reminder_due", "overdue"]),
    ],
)
def test_appeal_alerts(today: str, expected: list[str]) -> None:
    assert [k for k, _ in alerts_due(_appeal(), dt.date.fromisoformat(today), POLICY)] == expected


# --------------------------------------------------------------------------- complaints


@pytest.mark.parametrize(
    ("topic", "region", "officer_level", "level", "responsible"),
    [
        (Topic.MISSED_ENTITLEMENT, VILLAGE, None, Level.TOWNSHIP, "341221001"),
        (Topic.WRONG_IDENTIFICATION, VILLAGE, None, Level.TOWNSHIP, "341221001"),
        (Topic.SUBSIDY_NOT_PAID, VILLAGE, None, Level.COUNTY, "341221"),
        (Topic.OTHER, VILLAGE, None, Level.TOWNSHIP, "341221001"),
        (Topic.OFFICER_CONDUCT, VILLAGE, Level.VILLAGE, Level.TOWNSHIP, "341221001"),
        (Topic.OFFICER_CONDUCT, VILLAGE, Level.TOWNSHIP, Level.COUNTY, "341221"),
        (Topic.OFFICER_CONDUCT, VILLAGE, Level.COUNTY, Level.CITY, "3412"),
        (Topic.MISSED_ENTITLEMENT, "341221", None, Level.TOWNSHIP, "341221"),  # place known only to the county
    ],
)
def test_complaint_routing(
    topic: Topic, region: str, officer_level: Level | None, level: Level, responsible: str
) -> None:
    route = route_complaint(topic, region, officer_level=officer_level)
    assert (route.level, route.region) == (level, responsible)


@pytest.mark.parametrize(
    ("start", "days", "holidays", "expected"),
    [
        ("2026-03-02", 1, (), "2026-03-03"),  # Monday → Tuesday
        ("2026-03-06", 1, (), "2026-03-09"),  # Friday → Monday
        ("2026-03-07", 1, (), "2026-03-09"),  # Saturday → Monday
        ("2026-03-02", 10, (), "2026-03-16"),
        ("2026-09-30", 1, ("2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"), "2026-10-08"),
        ("2026-03-02", 0, (), "2026-03-02"),
    ],
)
def test_working_days(start: str, days: int, holidays: tuple[str, ...], expected: str) -> None:
    hol = frozenset(dt.date.fromisoformat(h) for h in holidays)
    assert add_working_days(dt.date.fromisoformat(start), days, hol) == dt.date.fromisoformat(expected)


def test_complaint_deadlines_and_escalation() -> None:
    assert deadlines(dt.date(2026, 3, 6), CPOLICY) == (dt.date(2026, 3, 9), dt.date(2026, 3, 20))
    assert escalation_target(Level.TOWNSHIP, "341221001") == Route(
        Level.COUNTY, "341221", escalation_target(Level.TOWNSHIP, "341221001").rule
    )


def _complaint(state: ComplaintState = ComplaintState.RECEIVED) -> Complaint:
    return Complaint(
        "c-1",
        state,
        VILLAGE,
        Level.TOWNSHIP,
        "341221001",
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 3),
        dt.date(2026, 3, 16),
    )


HANDLER = Actor("township", is_handler=True, is_complainant=False)
COMPLAINANT = Actor("citizen", is_handler=False, is_complainant=True)
DEPT = Actor("department", is_handler=True, is_complainant=False)


@pytest.mark.parametrize(
    ("state", "who", "actions"),
    [
        (ComplaintState.RECEIVED, HANDLER, ["acknowledge", "transfer"]),
        (ComplaintState.RECEIVED, DEPT, ["acknowledge"]),
        (ComplaintState.RECEIVED, COMPLAINANT, []),
        (ComplaintState.ACCEPTED, HANDLER, ["transfer", "reply"]),
        (ComplaintState.REPLIED, COMPLAINANT, ["close", "reopen"]),
        (ComplaintState.CLOSED, COMPLAINANT, ["reopen"]),
        (ComplaintState.CLOSED, HANDLER, ["reopen"]),
    ],
)
def test_complaint_actions(state: ComplaintState, who: Actor, actions: list[str]) -> None:
    assert complaint_actions(_complaint(state), who) == actions


def test_complaint_walk() -> None:
    c = complaint_apply(_complaint(), ComplaintAction.ACKNOWLEDGE, HANDLER, by="t", at=AT, policy=CPOLICY)
    c = complaint_apply(
        c, ComplaintAction.TRANSFER, HANDLER, by="t", at=AT, policy=CPOLICY, to=Route(Level.COUNTY, "341221", "")
    )
    assert (c.state, c.responsible_level, c.responsible_region) == (ComplaintState.ACCEPTED, Level.COUNTY, "341221")
    with pytest.raises(ComplaintError) as err:
        complaint_apply(c, ComplaintAction.REPLY, HANDLER, by="t", at=AT, policy=CPOLICY)
    assert err.value.code == "reply_required"
    c = complaint_apply(c, ComplaintAction.REPLY, HANDLER, by="t", at=AT, policy=CPOLICY, note="已核实")
    c = complaint_apply(
        c, ComplaintAction.CLOSE, COMPLAINANT, by="c", at=AT, policy=CPOLICY, satisfaction=Satisfaction.SATISFIED
    )
    assert (c.state, c.satisfaction) == (ComplaintState.CLOSED, Satisfaction.SATISFIED)
    later = AT + dt.timedelta(days=4)  # Friday 03-06: 10 working days → 03-20
    c = complaint_apply(c, ComplaintAction.REOPEN, COMPLAINANT, by="c", at=later, policy=CPOLICY, note="未解决")
    assert (c.state, c.reply_due, c.reopen_count, c.satisfaction) == (
        ComplaintState.ACCEPTED,
        dt.date(2026, 3, 20),
        1,
        None,
    )
    with pytest.raises(ComplaintError):
        complaint_apply(
            c, ComplaintAction.TRANSFER, HANDLER, by="t", at=AT, policy=CPOLICY, to=Route(Level.COUNTY, "341222", "")
        )


@pytest.mark.parametrize(
    ("state", "today", "expected"),
    [
        (ComplaintState.RECEIVED, "2026-03-03", []),
        (ComplaintState.RECEIVED, "2026-03-04", [("overdue", "acknowledgement")]),
        (ComplaintState.ACCEPTED, "2026-03-11", []),
        (ComplaintState.ACCEPTED, "2026-03-12", [("reminder_due", "reply")]),  # 2 working days before 03-16
        (ComplaintState.ACCEPTED, "2026-03-17", [("reminder_due", "reply"), ("overdue", "reply")]),
        (ComplaintState.REPLIED, "2026-03-17", []),
    ],
)
def test_complaint_alerts(state: ComplaintState, today: str, expected: list[tuple[str, str]]) -> None:
    got = complaint_alerts(_complaint(state), dt.date.fromisoformat(today), CPOLICY)
    assert [(k, s) for k, s, _, _ in got] == expected
