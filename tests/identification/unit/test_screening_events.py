"""The screening writes `risk.warning_raised` without the Event dataclass round trip: the bytes
must be those `encode_event` would write, and the personal-data guard must still refuse a
household number that is a phone number."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from services.identification.application.screening import _WarningEvents
from services.identification.domain.policies import load_shipped_policies, resolve_identification_policy
from shared.events import Event, PersonalDataInEvent, encode_event

NOW = dt.datetime(2026, 11, 22, 8, 30, 15, 123456, tzinfo=dt.UTC)
AS_OF = dt.date(2024, 6, 30)
POLICY = resolve_identification_policy(load_shipped_policies(), region_code="341221001201", as_of=AS_OF)


def _row(number: str = 'HH-0001 "quoted" 区', previous: str | None = None) -> tuple[str, str, str, str, str | None]:
    return ("5f0c6a52-8d1e-4d7e-9a31-1b2c3d4e5f60", number, "341221001201", "2|…", previous)


@pytest.mark.parametrize("previous", [None, "yellow"])
def test_same_bytes_as_encode_event(previous: str | None) -> None:
    h = _row(previous=previous)
    events = _WarningEvents(as_of=AS_OF, policy=POLICY, job_id="job-1", now=NOW)
    event_id, subject, payload, at = events.row("0199e6f4-3a10-7c2e-9f00-5b6a7c8d9e0f", h, "red", 2, 4, 0b101, -5)
    want = Event(
        domain="risk",
        name="warning_raised",
        subject=h[0],
        region=h[2],
        source="identification",
        id=event_id,
        time=NOW,
        data={
            "household_id": h[0],
            "household_number": h[1],
            "warning": "red",
            "previous_warning": previous,
            "category": "marginal",
            "low_income_category": "expenditure_hardship",
            "risk_types": json.loads(payload)["data"]["risk_types"],
            "per_capita_income": "-0.05",
            "as_of": "2024-06-30",
            "policy": {"id": POLICY.id, "version": POLICY.version},
            "screening_job_id": "job-1",
        },
    )
    assert (subject, payload) == encode_event(want)
    assert at == NOW
    assert len(json.loads(payload)["data"]["risk_types"]) == 2


def test_refuses_a_phone_number_in_the_household_number() -> None:
    events = _WarningEvents(as_of=AS_OF, policy=POLICY, job_id="j", now=NOW)
    with pytest.raises(PersonalDataInEvent):
        events.row("e", _row("13812345678"), "red", 2, 4, 1, 100)


@pytest.mark.parametrize(
    ("job_id", "policy_id", "income"),
    [
        ("13812345678", POLICY.id, 100),  # a phone number as the job id
        ("j", "341221199001011231", 100),  # an ID number as the policy id
        ("j", POLICY.id, 1381234567800),  # a per-capita income that reads as a phone number
    ],
)
def test_refuses_personal_data_in_any_other_part(job_id: str, policy_id: str, income: int) -> None:
    last = dataclasses.replace(POLICY.versions[-1], id=policy_id)
    policy = dataclasses.replace(POLICY, versions=(*POLICY.versions[:-1], last))
    with pytest.raises(PersonalDataInEvent):
        _WarningEvents(as_of=AS_OF, policy=policy, job_id=job_id, now=NOW).row("e", _row(), "red", 2, 4, 1, income)
