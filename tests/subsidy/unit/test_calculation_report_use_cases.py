"""The subsidy use cases beside recording (#21): a stateless calculation, reading one decision,
a rejection, totals for a report — against the in-memory unit of work (fake_work.py), with
Decimal amounts in the typed results and the API's strings from the routers' mapping."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from services.subsidy.api.decisions import decision_body
from services.subsidy.application.calculation import CalculateSubsidy, Calculation, calculate_subsidy
from services.subsidy.application.decisions import (
    DecisionCommand,
    StepDecision,
    decide,
    read_decision,
    transition,
)
from services.subsidy.application.reports import ReportRow, SumDecisions, Totals, report
from services.subsidy.domain import DecisionAction
from shared.auth import Principal
from shared.errors import NotFound, Unprocessable
from tests.subsidy.unit.fake_work import FakeWork

VILLAGE = "341221001001"  # Linquan
TOWNSHIP = Principal(sub="officer-7", role="township", region=VILLAGE[:9])
COUNTY = Principal(sub="chief-1", role="county", region=VILLAGE[:6])
ELSEWHERE = Principal(sub="officer-9", role="township", region="341225001")
TRANSPORT = {
    "person_id": "person-1",
    "work_location": "out_of_province",
    "contract_months": 12,
    "social_insurance": True,
}


def _calc(region: str = VILLAGE, inputs: dict[str, Any] | None = None) -> CalculateSubsidy:
    return CalculateSubsidy("transport_allowance", region, dt.date(2020, 6, 1), inputs or TRANSPORT)


async def test_a_calculation_is_typed_and_answers_as_before() -> None:
    out = await calculate_subsidy(_calc(), FakeWork(), TOWNSHIP)
    assert isinstance(out, Calculation)
    assert (out.result.amount, out.region_code, out.as_of) == (Decimal("500.00"), VILLAGE, dt.date(2020, 6, 1))
    body = out.as_dict()
    assert (body["amount"], body["region_code"], body["as_of"]) == ("500.00", VILLAGE, "2020-06-01")
    assert body["policy"]["id"] == "linquan-employment-2020"
    assert list(body)[-3:] == ["region_code", "as_of", "parameters"]


@pytest.mark.parametrize(
    ("region", "who", "error", "code"),
    [
        ("341225001001", TOWNSHIP, NotFound, "not_found"),  # outside the caller's jurisdiction
        ("34122", TOWNSHIP, Unprocessable, "validation_failed"),  # not a region code
        ("110101001001", Principal(sub="a", role="admin", region=""), Unprocessable, "policy_not_found"),
    ],
)
async def test_a_calculation_is_refused(region: str, who: Principal, error: type[Exception], code: str) -> None:
    with pytest.raises(error) as exc:
        await calculate_subsidy(_calc(region), FakeWork(), who)
    assert getattr(exc.value, "code", None) == code


async def test_one_decision_is_read_within_jurisdiction_only() -> None:
    work = FakeWork()
    d = await decide(DecisionCommand("transport_allowance", VILLAGE, dt.date(2020, 6, 1), TRANSPORT), work, TOWNSHIP)
    read = await read_decision(work, d.id, COUNTY)
    assert read == d
    assert (read.amount, read.calculated_amount, read.state) == (Decimal("500.00"), Decimal("500.00"), "calculated")
    assert read.created_at is not None
    assert read.created_at.tzinfo is not None
    with pytest.raises(NotFound):
        await read_decision(work, d.id, ELSEWHERE)
    with pytest.raises(NotFound):
        await read_decision(work, "no-such-decision", COUNTY)


async def test_a_rejection_keeps_its_reason_masked_and_maps_to_the_api_strings() -> None:
    work = FakeWork()
    d = await decide(DecisionCommand("transport_allowance", VILLAGE, dt.date(2020, 6, 1), TRANSPORT), work, TOWNSHIP)
    rejected = await transition(
        StepDecision(d.id, DecisionAction.REJECT, COUNTY, reason="call 13812345678 first"), work
    )
    assert rejected.state == "rejected"
    assert rejected.rejection_reason == "call 138****5678 first"
    assert rejected.history[-1]["reason"] == "call 138****5678 first"
    assert work.commits[-1] == rejected
    body = decision_body(rejected)
    assert (body["amount"], body["calculated_amount"], body["rejected_by"]) == ("500.00", "500.00", "chief-1")
    assert body["rejected_at"].endswith("Z")
    assert body["approved_at"] is None
    assert list(body)[:3] == ["id", "kind", "state"]
    assert list(body)[-2:] == ["payment_id", "reference"]


def _totals(n: int, decided: str, approved: str, paid: str, rejected: str) -> Totals:
    return Totals(n, Decimal(decided), Decimal(approved), Decimal(paid), Decimal(rejected))


@pytest.mark.parametrize(
    ("rows", "expected_rows", "expected_totals"),
    [
        ([], [], _totals(0, "0", "0", "0", "0")),
        (
            [
                ("transport_allowance", "calculated", 2, 100_000),
                ("transport_allowance", "paid", 1, 50_001),
                ("medical_assistance", "rejected", 1, 12_345),
                ("medical_assistance", "approved", 3, 1),
            ],
            [
                ReportRow("medical_assistance", _totals(4, "0.01", "0.01", "0", "123.45")),
                ReportRow("transport_allowance", _totals(3, "1500.01", "500.01", "500.01", "0")),
            ],
            _totals(7, "1500.02", "500.02", "500.01", "123.45"),
        ),
    ],
)
async def test_a_report_sums_whole_fen_into_yuan(
    rows: list[tuple[str, str, int, int]], expected_rows: list[ReportRow], expected_totals: Totals
) -> None:
    work = FakeWork()
    work.totals.rows = rows
    q = SumDecisions("341221", "kind", as_of_from=dt.date(2020, 1, 1))
    out = await report(q, work)
    assert (out.region, out.group_by, out.as_of_from, out.as_of_to) == ("341221", "kind", dt.date(2020, 1, 1), None)
    assert out.rows == expected_rows
    assert out.totals == expected_totals
    assert work.totals.asked == [
        {"region": "341221", "group_by": "kind", "as_of_from": dt.date(2020, 1, 1), "as_of_to": None}
    ]
