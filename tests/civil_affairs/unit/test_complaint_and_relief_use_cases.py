"""Complaint, temporary-relief and appeal-reading use cases against an in-memory unit of work
(tests/civil_affairs/unit/fake_work.py): what they answer (typed views, personal data masked),
what they write and which events they add, no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from services.civil_affairs.adapters.consumers_relief import relief_answer
from services.civil_affairs.application import appeals as appeals_uc
from services.civil_affairs.application import complaints as uc
from services.civil_affairs.application import relief as relief_uc
from services.civil_affairs.domain.appeals import AppealAction, Level, Outcome, SubjectKind
from services.civil_affairs.domain.complaints import Channel, ComplaintAction, Satisfaction, Topic
from shared.app import CST
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.events import Event
from shared.identifiers import id_check_digit
from shared.pii import FieldCipher
from tests.civil_affairs.unit.fake_work import FakeWork

VILLAGE = "341221001001"
TOWNSHIP = Principal(sub="t-1", role="township", region=VILLAGE[:9])
COUNTY = Principal(sub="c-1", role="county", region=VILLAGE[:6])
OTHER_COUNTY = Principal(sub="c-2", role="county", region="341222")
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=CST)  # a Monday
CIPHER = FieldCipher(b"k" * 32, b"i" * 32)


def _id(born: str, serial: str) -> str:
    first17 = f"341221{born}{serial}"
    return first17 + id_check_digit(first17)


PERSON = _id("19800101", "011")
CITIZEN = Principal(sub=_id("19900101", "022"), role="citizen", region="")


def _deps(now: dt.datetime = NOW) -> appeals_uc.GrievanceDeps:
    return appeals_uc.GrievanceDeps(cipher=CIPHER, now=lambda: now)


def _complaint(p: Principal = TOWNSHIP, **kw: Any) -> uc.FileComplaint:
    fields: dict[str, Any] = {
        "principal": p,
        "channel": Channel.HOTLINE_12345,
        "text": f"低保没有评上, 身份证 {PERSON}, 电话 13812345678",
        "region_code": VILLAGE,
        "topic": Topic.MISSED_ENTITLEMENT,
        "household_id": "hh-1",
        "person_id_number": PERSON,
        "contact_phone": "13812345678",
    }
    fields.update(kw)
    return uc.FileComplaint(**fields)


# --------------------------------------------------------------------------- complaints


async def test_a_hotline_complaint_is_routed_with_its_deadlines_and_shown_masked() -> None:
    work = FakeWork()
    view = await uc.file_complaint(_complaint(), work, _deps())
    assert (view.state, view.channel, view.topic) == ("received", "hotline_12345", "missed_entitlement")
    assert (view.responsible_level, view.responsible_region) == ("township", VILLAGE[:9])
    assert view.received_on == NOW.date()
    assert NOW.date() < view.ack_due <= view.reply_due
    assert view.overdue is False
    assert view.person is not None
    assert view.person.id_number != PERSON
    assert view.person.id_number.endswith(PERSON[-4:])
    assert view.contact_phone != "13812345678"
    assert PERSON not in view.text
    assert "13812345678" not in view.text
    assert "acknowledge" in view.allowed_actions
    assert [e.name for e in work.events] == ["received", "routed"]
    assert PERSON not in repr([e.data for e in work.events])
    assert work.commits == 1


@pytest.mark.parametrize(
    ("principal", "kw", "error", "code"),
    [
        (CITIZEN, {}, Unprocessable, "validation_failed"),  # a citizen files through the app
        (TOWNSHIP, {"topic": Topic.OFFICER_CONDUCT}, Unprocessable, "validation_failed"),  # names the level
        (TOWNSHIP, {"person_id_number": "341221198001010000"}, Unprocessable, "validation_failed"),
        (OTHER_COUNTY, {}, NotFound, "not_found"),
        (Principal(sub="x", role="contact", region=VILLAGE), {}, Forbidden, "role_not_allowed"),
    ],
)
async def test_a_complaint_is_refused(
    principal: Principal, kw: dict[str, Any], error: type[Exception], code: str
) -> None:
    work = FakeWork()
    with pytest.raises(error) as exc:
        await uc.file_complaint(_complaint(principal, **kw), work, _deps())
    assert getattr(exc.value, "code", None) == code
    assert (work.commits, work.complaints.rows) == (0, {})


async def test_acknowledge_reply_close_then_reopen() -> None:
    work = FakeWork()
    filed = await uc.file_complaint(_complaint(), work, _deps())

    def act(action: ComplaintAction, **kw: Any) -> uc.ActOnComplaint:
        return uc.ActOnComplaint(TOWNSHIP, filed.id, action, **kw)

    acked = await uc.act_on_complaint(act(ComplaintAction.ACKNOWLEDGE, version=1), work, _deps())
    assert (acked.state, acked.acknowledged_on, acked.version) == ("accepted", NOW.date(), 2)
    with pytest.raises(Conflict) as exc:
        await uc.act_on_complaint(act(ComplaintAction.REPLY, note="x", version=1), work, _deps())
    assert exc.value.code == "version_conflict"
    with pytest.raises(Conflict) as exc:
        await uc.act_on_complaint(act(ComplaintAction.REPLY), work, _deps())
    assert exc.value.code == "reply_required"
    replied = await uc.act_on_complaint(act(ComplaintAction.REPLY, note=f"已核实 {PERSON}"), work, _deps())
    assert replied.state == "replied"
    assert replied.reply is not None
    assert PERSON not in replied.reply
    closed = await uc.act_on_complaint(
        act(ComplaintAction.CLOSE, satisfaction=Satisfaction.DISSATISFIED), work, _deps()
    )
    assert (closed.state, closed.satisfaction) == ("closed", "dissatisfied")
    reopened = await uc.act_on_complaint(act(ComplaintAction.REOPEN, note="仍未解决"), work, _deps())
    assert (reopened.state, reopened.reopen_count) == ("accepted", 1)
    assert [e.name for e in work.events] == ["received", "routed", "acknowledged", "replied", "closed", "reopened"]
    assert [h["action"] for h in reopened.history] == ["receive", "acknowledge", "reply", "close", "reopen"]


async def test_a_transfer_goes_to_a_unit_covering_the_place() -> None:
    work = FakeWork()
    filed = await uc.file_complaint(_complaint(), work, _deps())
    with pytest.raises(Unprocessable):
        await uc.act_on_complaint(
            uc.ActOnComplaint(COUNTY, filed.id, ComplaintAction.TRANSFER, to_region="341222"), work, _deps()
        )
    moved = await uc.act_on_complaint(
        uc.ActOnComplaint(TOWNSHIP, filed.id, ComplaintAction.TRANSFER, to_region=VILLAGE[:6]), work, _deps()
    )
    assert (moved.responsible_level, moved.responsible_region) == ("county", VILLAGE[:6])
    assert work.events[-1].data["reason"] == "transfer"


async def test_who_reads_and_lists_a_complaint() -> None:
    work = FakeWork()
    own = await uc.file_complaint(
        _complaint(CITIZEN, channel=Channel.APP, person_id_number=None, contact_phone=None), work, _deps()
    )
    assert (own.person, own.contact_phone, own.filed_by_role) == (None, None, "citizen")
    assert (await uc.get_complaint(CITIZEN, own.id, work, _deps())).id == own.id
    assert (await uc.get_complaint(COUNTY, own.id, work, _deps())).id == own.id
    with pytest.raises(NotFound):
        await uc.get_complaint(OTHER_COUNTY, own.id, work, _deps())
    other = Principal(sub=_id("19910101", "033"), role="citizen", region="")
    with pytest.raises(NotFound):
        await uc.get_complaint(other, own.id, work, _deps())
    page = await uc.list_complaints(uc.ListComplaints(COUNTY, limit=10, offset=0), work, _deps())
    assert ([c.id for c in page.items], page.total, page.limit, page.offset) == ([own.id], 1, 10, 0)


# --------------------------------------------------------------------------- temporary relief


def _relief(amount: str = "800.00", **kw: Any) -> relief_uc.SubmitRelief:
    return relief_uc.SubmitRelief(region_code=VILLAGE, reason="illness", amount=Decimal(amount), **kw)


async def _act_relief(work: FakeWork, p: Principal, request_id: str, action: str, **kw: Any) -> relief_uc.ReliefView:
    cmd = relief_uc.ActOnRelief(request_id=request_id, action=action, **kw)
    return await relief_uc.act_on_relief(work, p, cmd, cipher=CIPHER, now=NOW, today=NOW.date())


async def test_the_relief_figures_in_force() -> None:
    found = await relief_uc.relief_limit(FakeWork(), TOWNSHIP, VILLAGE, NOW.date())
    assert (found.region_code, found.as_of) == (VILLAGE, NOW.date())
    assert found.policy.township_limit == Decimal("3840.00")
    with pytest.raises(NotFound):
        await relief_uc.relief_limit(FakeWork(), OTHER_COUNTY, VILLAGE, NOW.date())
    with pytest.raises(Forbidden):
        await relief_uc.relief_limit(
            FakeWork(), Principal(sub="x", role="contact", region=VILLAGE), VILLAGE, NOW.date()
        )


async def test_a_citizens_request_reads_and_lists_only_for_them() -> None:
    work = FakeWork()
    household = {"members": 2}
    mine = await relief_uc.submit_relief(
        work, CITIZEN, _relief(household=household), cipher=CIPHER, now=NOW, today=NOW.date()
    )
    assert (mine.submitted_by, mine.household, mine.household_id) == ("citizen", household, None)
    assert CITIZEN.sub not in repr(mine)
    assert mine.created_at == NOW
    assert mine.policy.as_of == NOW.date()
    await relief_uc.submit_relief(
        work, TOWNSHIP, _relief(household_id="hh-2"), cipher=CIPHER, now=NOW, today=NOW.date()
    )
    read = await relief_uc.get_relief(work, CITIZEN, mine.id, cipher=CIPHER, today=NOW.date())
    assert read == mine
    other = Principal(sub=_id("19910101", "033"), role="citizen", region="")
    with pytest.raises(NotFound):
        await relief_uc.get_relief(work, other, mine.id, cipher=CIPHER, today=NOW.date())
    page = await relief_uc.list_relief(work, TOWNSHIP, relief_uc.ListRelief(limit=1), cipher=CIPHER, today=NOW.date())
    assert len(page.items) == 1
    assert page.next_before == page.items[0].seq  # full page: a cursor to the next one
    rest = await relief_uc.list_relief(
        work, TOWNSHIP, relief_uc.ListRelief(before=page.next_before), cipher=CIPHER, today=NOW.date()
    )
    assert [r.id for r in rest.items] == [mine.id]  # the older one
    everything = await relief_uc.list_relief(work, TOWNSHIP, relief_uc.ListRelief(), cipher=CIPHER, today=NOW.date())
    assert (len(everything.items), everything.next_before) == (2, None)
    with pytest.raises(Unprocessable):
        await relief_uc.list_relief(work, TOWNSHIP, relief_uc.ListRelief(state="lost"), cipher=CIPHER, today=NOW.date())
    with pytest.raises(Unprocessable) as exc:
        await relief_uc.submit_relief(
            work, TOWNSHIP, _relief(household_id=PERSON), cipher=CIPHER, now=NOW, today=NOW.date()
        )
    assert exc.value.code == "personal_data"


async def test_relief_first_then_the_paperwork() -> None:
    work = FakeWork()
    read = await relief_uc.submit_relief(
        work, TOWNSHIP, _relief("5000.00", household_id="hh-1"), cipher=CIPHER, now=NOW, today=NOW.date()
    )
    assert read.allowed_actions == ["refer_to_county", "relief_first", "reject"]  # above the township's limit
    first = await _act_relief(work, TOWNSHIP, read.id, "relief_first", amount=Decimal("500.00"))
    assert first.state == "relief_first"
    assert first.deadlines.paperwork_due_on is not None
    assert first.deadlines.paperwork_overdue is False
    (payment,) = first.payments
    assert (payment.amount, payment.status, payment.approved_level) == (Decimal("500.00"), "ordered", "township")
    due = first.deadlines.paperwork_due_on
    late = due + dt.timedelta(days=1)
    overdue = await relief_uc.list_relief(work, TOWNSHIP, relief_uc.ListRelief(overdue=True), cipher=CIPHER, today=late)
    assert [r.id for r in overdue.items] == [read.id]
    assert overdue.items[0].deadlines.paperwork_overdue is True
    on_time = await relief_uc.list_relief(work, TOWNSHIP, relief_uc.ListRelief(overdue=True), cipher=CIPHER, today=due)
    assert on_time.items == []
    paperwork = {"economic_check_ref": "chk-1", "verification_record": "入户核查"}
    done = await _act_relief(work, TOWNSHIP, read.id, "complete_paperwork", paperwork=paperwork)
    assert done.state == "paperwork_complete"
    assert done.paperwork == {**paperwork, "filed_on": NOW.date().isoformat()}
    assert [h["action"] for h in done.history] == ["submit", "relief_first", "complete_paperwork"]
    with pytest.raises(Unprocessable):
        await _act_relief(work, TOWNSHIP, read.id, "fly")


def _answer(name: str, payment_id: str, **data: Any) -> Event:
    data = {"payment_id": payment_id, "reference": {"kind": "relief_request", "id": "r"}, **data}
    return Event("subsidy", name, "hh-1", VILLAGE, data, source="subsidy")


@pytest.mark.parametrize(
    ("name", "data", "status", "recorded"),
    [
        ("decision_approved", {"decision_id": "dec-1", "amount": "800.00"}, "recorded", Decimal("800.00")),
        ("decision_refused", {"code": "over_budget", "reason": "no funds"}, "refused", None),
    ],
)
async def test_subsidys_answer_to_a_relief_order(
    name: str, data: dict[str, Any], status: str, recorded: Decimal | None
) -> None:
    work = FakeWork()
    read = await relief_uc.submit_relief(
        work, TOWNSHIP, _relief(household_id="hh-1"), cipher=CIPHER, now=NOW, today=NOW.date()
    )
    (payment,) = (await _act_relief(work, TOWNSHIP, read.id, "approve")).payments
    cmd = relief_answer(_answer(name, payment.payment_id, **data), NOW)
    assert cmd is not None
    assert await relief_uc.record_payment_answer(cmd, work) == status
    assert await relief_uc.record_payment_answer(cmd, work) is None  # redelivered
    (after,) = (await relief_uc.get_relief(work, TOWNSHIP, read.id, cipher=CIPHER, today=NOW.date())).payments
    assert (after.status, after.recorded_amount, after.recorded_at) == (status, recorded, NOW)
    if status == "refused":
        assert after.refusal == {"code": "over_budget", "reason": "no funds"}


async def test_answers_to_other_orders_are_ignored() -> None:
    work = FakeWork()
    other = Event(
        "subsidy", "decision_approved", "hh-1", VILLAGE, {"payment_id": "p", "reference": {"kind": "enrolment"}}
    )
    assert relief_answer(other, NOW) is None
    assert relief_answer(_answer("decision_paid", "p"), NOW) is None
    unknown = relief_answer(_answer("decision_approved", "no-such-order", amount="1.00"), NOW)
    assert unknown is not None
    assert await relief_uc.record_payment_answer(unknown, work) is None


# --------------------------------------------------------------------------- appeals of relief


async def test_an_overturned_relief_rejection_reopens_the_request() -> None:
    work = FakeWork()
    read = await relief_uc.submit_relief(
        work, TOWNSHIP, _relief(household_id="hh-1"), cipher=CIPHER, now=NOW, today=NOW.date()
    )
    await _act_relief(work, TOWNSHIP, read.id, "reject", reason="收入超标")
    filed = await appeals_uc.file_appeal(
        appeals_uc.FileAppeal(
            principal=COUNTY,
            subject_kind=SubjectKind.RELIEF_REQUEST,
            subject_id=read.id,
            household_id="hh-1",
            region_code=VILLAGE,
            grounds="收入计算有误",
        ),
        work,
        _deps(),
    )
    assert (filed.subject.kind, filed.subject.id) == ("relief_request", read.id)
    assert (filed.decided_level, filed.review_level, filed.review_region) == (Level.TOWNSHIP, Level.COUNTY, VILLAGE[:6])
    assert filed.explanation["inputs"]["verified_by"] == "civil_affairs"
    assert (await appeals_uc.get_appeal(COUNTY, filed.id, work, _deps())) == filed
    with pytest.raises(NotFound):
        await appeals_uc.get_appeal(OTHER_COUNTY, filed.id, work, _deps())
    page = await appeals_uc.list_appeals(appeals_uc.ListAppeals(COUNTY, limit=5), work, _deps())
    assert ([a.id for a in page.items], page.total, page.limit, page.offset) == ([filed.id], 1, 5, 0)

    await appeals_uc.act_on_appeal(appeals_uc.ActOnAppeal(COUNTY, filed.id, AppealAction.START_REVIEW), work, _deps())
    decided = await appeals_uc.act_on_appeal(
        appeals_uc.ActOnAppeal(COUNTY, filed.id, AppealAction.DECIDE, Outcome.OVERTURNED, "收入核算错误"), work, _deps()
    )
    assert (decided.state, decided.outcome) == ("overturned", "overturned")
    assert work.events[-1].data["subject_reopened"] is True
    again = await relief_uc.get_relief(work, TOWNSHIP, read.id, cipher=CIPHER, today=NOW.date())
    assert (again.state, again.rejection_reason) == ("submitted", None)
    assert again.history[-1]["appeal_id"] == filed.id
