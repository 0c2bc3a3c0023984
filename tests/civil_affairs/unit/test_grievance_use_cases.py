"""Appeal and relief use cases against an in-memory unit of work (tests/civil_affairs/unit/
fake_work.py): filing, deciding, the deadline sweep and a relief request, no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.civil_affairs.application import appeals as uc
from services.civil_affairs.application import relief as relief_uc
from services.civil_affairs.application.appeals_sweep import SweepCounts, sweep_grievances
from services.civil_affairs.domain.appeals import AppealAction, Outcome, SubjectKind
from shared.app import CST
from shared.auth import Principal
from shared.errors import Conflict
from shared.pii import FieldCipher
from tests.civil_affairs.unit.fake_work import FakeWork

VILLAGE = "341221001001"
COUNTY_OFFICER = Principal(sub="officer-1", role="county", region=VILLAGE[:6])
CITY_OFFICER = Principal(sub="officer-2", role="county", region=VILLAGE[:4])
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=CST)
CIPHER = FieldCipher(b"k" * 32, b"i" * 32)


def _deps(now: dt.datetime = NOW) -> uc.GrievanceDeps:
    return uc.GrievanceDeps(cipher=CIPHER, now=lambda: now)


def _file(subject_id: str = "measure-1") -> uc.FileAppeal:
    return uc.FileAppeal(
        principal=COUNTY_OFFICER,
        subject_kind=SubjectKind.MEASURE,
        subject_id=subject_id,
        household_id="hh-1",
        region_code=VILLAGE,
        grounds="the measure ended without a visit",
    )


async def test_an_officer_files_an_appeal_in_one_transaction_with_its_event() -> None:
    work = FakeWork()
    view = await uc.file_appeal(_file(), work, _deps())
    assert view.state == "received"
    assert view.deadline == NOW.date() + dt.timedelta(days=30)  # appeal_review_days, appeals.yaml
    assert view.review_level == "city"
    assert view.explanation["deadline_source"].startswith("configurable default")
    assert work.commits == 1
    assert [e.name for e in work.events] == ["received"]
    assert work.events[0].data["appeal_id"] == view.id


async def test_a_second_open_appeal_of_the_same_decision_is_refused() -> None:
    work = FakeWork()
    first = await uc.file_appeal(_file(), work, _deps())
    with pytest.raises(Conflict) as exc:
        await uc.file_appeal(_file(), work, _deps())
    assert exc.value.code == "appeal_exists"
    assert exc.value.extra["existing_appeal_id"] == first.id
    assert work.commits == 1


async def test_the_reviewing_level_decides_and_a_stale_version_is_a_conflict() -> None:
    work = FakeWork()
    filed = await uc.file_appeal(_file(), work, _deps())
    started = await uc.act_on_appeal(
        uc.ActOnAppeal(CITY_OFFICER, filed.id, AppealAction.START_REVIEW, version=1), work, _deps()
    )
    assert started.state == "under_review"
    with pytest.raises(Conflict) as exc:
        await uc.act_on_appeal(
            uc.ActOnAppeal(CITY_OFFICER, filed.id, AppealAction.DECIDE, Outcome.UPHELD, "ok", version=1),
            work,
            _deps(),
        )
    assert exc.value.code == "version_conflict"
    decided = await uc.act_on_appeal(
        uc.ActOnAppeal(CITY_OFFICER, filed.id, AppealAction.DECIDE, Outcome.UPHELD, "the measure stands"),
        work,
        _deps(),
    )
    assert decided.state == "upheld"
    assert [e.name for e in work.events] == ["received", "review_started", "decided"]
    assert work.events[-1].data["subject_reopened"] is False


async def test_the_sweep_reminds_once_per_deadline_then_reports_the_overdue() -> None:
    work = FakeWork()
    filed = await uc.file_appeal(_file(), work, _deps())
    deadline = filed.deadline
    assert (await sweep_grievances(work, NOW)).appeal_reminder_due == 0
    near = dt.datetime.combine(deadline - dt.timedelta(days=5), dt.time(9), CST)
    assert (await sweep_grievances(work, near)).appeal_reminder_due == 1
    assert (await sweep_grievances(work, near)).appeal_reminder_due == 0
    late = dt.datetime.combine(deadline + dt.timedelta(days=1), dt.time(9), CST)
    assert (await sweep_grievances(work, late)) == SweepCounts(appeal_overdue=1)
    assert [e.name for e in work.events] == ["received", "reminder_due", "overdue"]


async def test_a_relief_request_takes_the_township_limit_of_the_policy_in_force() -> None:
    work = FakeWork()
    township = Principal(sub="officer-3", role="township", region=VILLAGE[:9])
    cmd = relief_uc.SubmitRelief(region_code=VILLAGE, reason="illness", amount=Decimal("800.00"), household_id="hh-1")
    read = await relief_uc.submit_relief(work, township, cmd, cipher=CIPHER, now=NOW, today=NOW.date())
    assert read.state == "submitted"
    assert read.township_limit == Decimal("3840.00")  # 6 × 640, the Linquan placeholder version
    assert read.requested_amount == Decimal("800.00")
    assert work.commits == 1
    approved = await relief_uc.act_on_relief(
        work,
        township,
        relief_uc.ActOnRelief(request_id=read.id, action="approve"),
        cipher=CIPHER,
        now=NOW,
        today=NOW.date(),
    )
    assert approved.state == "approved"
    assert [p.amount for p in approved.payments] == [Decimal("800.00")]
    (ordered,) = work.events
    assert ordered.name == "payment_ordered"
    assert ordered.data["inputs"]["amount"] == "800.00"
