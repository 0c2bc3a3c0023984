"""Temporary relief rules as tables (000 safety-net §三(二)3; 002 篇一 §8): the township limit is
multiple × the urban dibao standard a month (2 × and 6 × around the boundary), relief first up
to the small amount with the paperwork due, county approval above the limit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from services.civil_affairs.adapters.policy import make_policy_store
from services.civil_affairs.domain.relief import (
    ReliefAction,
    ReliefError,
    ReliefPolicy,
    ReliefState,
    allowed_actions,
    decide,
    is_overdue,
    relief_policy,
    reopened_state,
)
from shared.policy import PolicyError, parse_policy_document, resolve_policy

TODAY = dt.date(2020, 6, 1)
SOURCES = {
    "relief_township_limit_multiple": "test",
    "dibao_standard_urban_monthly": "test",
    "relief_first_max_amount": "test",
    "relief_paperwork_days": "test",
}


def policy(multiple: str, standard: str = "915", small: str = "1000", days: int = 10) -> ReliefPolicy:
    return ReliefPolicy(Decimal(multiple), Decimal(standard), Decimal(small), days, "p", "1", SOURCES)


LIMITS = [
    # name, multiple, urban standard / month, limit
    ("2 × 915 (Shaanxi's urban standard)", "2", "915", "1830.00"),
    ("6 × 915", "6", "915", "5490.00"),
    ("3.5 × 640.50", "3.5", "640.50", "2241.75"),
    ("Linquan placeholder 6 × 640", "6", "640", "3840.00"),
]


@pytest.mark.parametrize(("multiple", "standard", "limit"), [pytest.param(m, s, lim, id=n) for n, m, s, lim in LIMITS])
def test_township_limit(multiple: str, standard: str, limit: str) -> None:
    p = policy(multiple, standard)
    assert p.township_limit == Decimal(limit)
    expl = p.limit_explanation()
    assert expl.rule == "township_approval_limit"
    assert "000 safety-net §三(二)3" in expl.source
    assert expl.inputs["township_limit"] == limit


BOUNDARY = [
    # name, multiple, amount, township may approve?
    ("2 ×: at the limit", "2", "1830.00", True),
    ("2 ×: one fen above", "2", "1830.01", False),
    ("6 ×: at the limit", "6", "5490.00", True),
    ("6 ×: one fen above", "6", "5490.01", False),
]


@pytest.mark.parametrize(("multiple", "amount", "ok"), [pytest.param(m, a, ok, id=n) for n, m, a, ok in BOUNDARY])
def test_township_approves_up_to_its_limit(multiple: str, amount: str, ok: bool) -> None:
    p = policy(multiple)
    args: dict[str, Any] = {"requested": Decimal(amount), "policy": p, "today": TODAY}
    actions = allowed_actions(ReliefState.SUBMITTED, "township", amount=Decimal(amount), policy=p)
    assert ("approve" in actions) is ok
    if ok:
        t = decide(ReliefState.SUBMITTED, ReliefAction.APPROVE, "township", **args)
        assert (t.to, t.pay, str(t.level)) == (ReliefState.APPROVED, Decimal(amount), "township")
    else:
        with pytest.raises(ReliefError) as err:
            decide(ReliefState.SUBMITTED, ReliefAction.APPROVE, "township", **args)
        assert err.value.code == "above_township_limit"
        # the county approves it
        t = decide(ReliefState.SUBMITTED, ReliefAction.APPROVE, "county", **args)
        assert (t.pay, str(t.level)) == (Decimal(amount), "county")


def test_refer_then_county_approves_and_township_cannot() -> None:
    p = policy("2")
    args: dict[str, Any] = {"requested": Decimal("4000.00"), "policy": p, "today": TODAY}
    t = decide(ReliefState.SUBMITTED, ReliefAction.REFER_TO_COUNTY, "township", **args)
    assert t.to is ReliefState.COUNTY_REVIEW
    assert allowed_actions(ReliefState.COUNTY_REVIEW, "township", amount=Decimal(4000), policy=p) == []
    assert allowed_actions(ReliefState.COUNTY_REVIEW, "county", amount=Decimal(4000), policy=p) == ["approve", "reject"]
    with pytest.raises(ReliefError) as err:
        decide(ReliefState.COUNTY_REVIEW, ReliefAction.APPROVE, "township", **args)
    assert err.value.kind == "forbidden"
    assert decide(ReliefState.COUNTY_REVIEW, ReliefAction.APPROVE, "county", **args).pay == Decimal("4000.00")


RELIEF_FIRST = [
    # name, requested, urgent amount, small-amount limit, expected (pay or error code)
    ("the whole small request at once", "800.00", None, "1000", "800.00"),
    ("at the small-amount limit", "3000.00", "1000.00", "1000", "1000.00"),
    ("one fen above it", "3000.00", "1000.01", "1000", "above_relief_first_limit"),
    ("a large request without an urgent amount", "3000.00", None, "1000", "above_relief_first_limit"),
    ("more than requested", "500.00", "600.00", "1000", "above_requested"),
]


@pytest.mark.parametrize(
    ("requested", "urgent", "small", "expected"), [pytest.param(r, u, s, e, id=n) for n, r, u, s, e in RELIEF_FIRST]
)
def test_relief_first(requested: str, urgent: str | None, small: str, expected: str) -> None:
    p = policy("6", small=small, days=10)
    kw: dict[str, Any] = {"requested": Decimal(requested), "policy": p, "today": TODAY}
    if urgent is not None:
        kw["amount"] = Decimal(urgent)
    if expected[0].isdigit():
        t = decide(ReliefState.SUBMITTED, ReliefAction.RELIEF_FIRST, "township", **kw)
        assert (t.to, t.pay, t.paperwork_due_on) == (ReliefState.RELIEF_FIRST, Decimal(expected), dt.date(2020, 6, 11))
    else:
        with pytest.raises(ReliefError) as err:
            decide(ReliefState.SUBMITTED, ReliefAction.RELIEF_FIRST, "township", **kw)
        assert err.value.code == expected


@pytest.mark.parametrize(
    ("state", "today", "overdue"),
    [
        (ReliefState.RELIEF_FIRST, dt.date(2020, 6, 11), False),  # the due day itself
        (ReliefState.RELIEF_FIRST, dt.date(2020, 6, 12), True),
        (ReliefState.PAPERWORK_COMPLETE, dt.date(2020, 7, 1), False),
    ],
)
def test_paperwork_overdue(state: ReliefState, today: dt.date, overdue: bool) -> None:
    assert is_overdue(state, dt.date(2020, 6, 11), today) is overdue


def test_paperwork_needs_both_documents_and_reject_a_reason() -> None:
    p = policy("6")
    kw: dict[str, Any] = {"requested": Decimal(500), "policy": p, "today": TODAY}
    with pytest.raises(ReliefError) as err:
        decide(
            ReliefState.RELIEF_FIRST,
            ReliefAction.COMPLETE_PAPERWORK,
            "township",
            paperwork={"economic_check_ref": "c1"},
            **kw,
        )
    assert err.value.field == "paperwork.verification_record"
    with pytest.raises(ReliefError) as err:
        decide(ReliefState.SUBMITTED, ReliefAction.REJECT, "township", reason=" ", **kw)
    assert err.value.code == "reason_required"
    with pytest.raises(ReliefError) as err:
        decide(ReliefState.APPROVED, ReliefAction.REJECT, "county", reason="late", **kw)
    assert err.value.code == "invalid_transition"
    with pytest.raises(ReliefError) as err:
        decide(ReliefState.SUBMITTED, ReliefAction.APPROVE, "village", **kw)
    assert err.value.code == "role_not_allowed"


def test_shipped_linquan_policy_and_the_2_to_6_range() -> None:
    p = relief_policy(
        resolve_policy(make_policy_store().shipped, service="civil_affairs", region_code="341221001001", as_of=TODAY)
    )
    assert p.township_limit == Decimal("3840.00")
    assert p.policy_id == "linquan-relief-placeholder"

    def doc(multiple: int) -> Any:
        return parse_policy_document(
            {
                "id": "x",
                "service": "civil_affairs",
                "region_prefix": "34",
                "effective_from": "2020-01-01",
                "source": "test",
                "parameters": {
                    "relief_township_limit_multiple": multiple,
                    "dibao_standard_urban_monthly": 600,
                    "relief_first_max_amount": 500,
                    "relief_paperwork_days": 5,
                },
            }
        )

    for bad in (1, 7):
        with pytest.raises(PolicyError):
            relief_policy(resolve_policy([doc(bad)], service="civil_affairs", region_code="341221", as_of=TODAY))
    assert relief_policy(
        resolve_policy([doc(2)], service="civil_affairs", region_code="34", as_of=TODAY)
    ).township_limit == Decimal(1200)


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([{"from": None, "to": "submitted"}, {"from": "submitted", "to": "rejected"}], "submitted"),
        ([{"from": "submitted", "to": "county_review"}, {"from": "county_review", "to": "rejected"}], "county_review"),
        ([{"from": "submitted", "to": "relief_first"}, {"from": "relief_first", "to": "rejected"}], "relief_first"),
        ([{"from": "approved", "to": "rejected"}], "submitted"),  # not an open state: from the start
        ([{"from": "nonsense", "to": "rejected"}], "submitted"),
        ([], "submitted"),
    ],
)
def test_an_overturned_rejection_goes_back_to_where_it_was_rejected(history: list[Any], expected: str) -> None:
    assert reopened_state(history) is ReliefState(expected)
