"""The delivery workers' decisions against an in-memory unit of work (fake_work.py), no
database: what a webhook delivery becomes after an attempt (delivered, retried on the schedule,
dead-lettered) and the failing marks, claiming in household order, disabling a subscription
failing too long, firing due reminders, the SMS sender's refusals and retries, and which fan-out
rows go straight to the dispatcher."""

from __future__ import annotations

import datetime as dt

import pytest

from services.notification.application import dispatch, fanout, people, reminders, sms
from services.notification.application.common import subject_hash
from services.notification.domain.delivery import (
    after_attempt,
    failing_marks,
    over_sms_limit,
    reminder_due,
    reminder_moves,
    sms_after_send,
)
from services.notification.domain.fanout import Target, plan_leases
from services.notification.domain.retry import RetrySchedule
from services.notification.domain.routing import ReminderPolicy, fire_time
from shared.db import utcnow
from shared.events import Event, PersonalDataInEvent
from shared.pii import FieldCipher
from tests.notification.unit.fake_work import FakeWork

NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
SCHEDULE = RetrySchedule((5.0, 30.0), jitter=0.0)
S = dt.timedelta(seconds=1)


# --------------------------------------------------------------------------- domain


@pytest.mark.parametrize(
    ("attempts", "ok", "refused", "status", "next_in", "outcome"),
    [
        (0, True, False, "delivered", 0, "delivered"),
        (0, False, False, "pending", 5, "failed"),
        (1, False, False, "pending", 30, "failed"),
        (2, False, False, "dead", 0, "failed"),
        (0, False, True, "pending", 5, "refused"),
        (5, True, False, "delivered", 0, "delivered"),
    ],
)
def test_an_attempt_is_delivered_retried_on_the_schedule_or_dead_lettered(
    attempts: int, ok: bool, refused: bool, status: str, next_in: int, outcome: str
) -> None:
    d = after_attempt(attempts=attempts, total_attempts=10, ok=ok, refused=refused, now=NOW, schedule=SCHEDULE)
    assert (d.status, d.attempts, d.total_attempts, d.outcome) == (status, attempts + 1, 11, outcome)
    assert d.next_attempt_at == NOW + next_in * S
    assert d.delivered_at == (NOW if status == "delivered" else None)
    assert d.dead_at == (NOW if status == "dead" else None)


def test_jitter_keeps_a_retry_within_its_share_of_the_delay() -> None:
    import random

    rng = random.Random(7)
    for _ in range(50):
        d = after_attempt(
            attempts=1, total_attempts=1, ok=False, refused=False, now=NOW, schedule=RetrySchedule((5, 100)), rng=rng
        )
        assert NOW + 80 * S <= d.next_attempt_at <= NOW + 120 * S


def test_failing_marks_a_subscription_that_also_delivered_is_not_failing() -> None:
    ok = after_attempt(attempts=0, total_attempts=0, ok=True, refused=False, now=NOW, schedule=SCHEDULE)
    dead = after_attempt(attempts=2, total_attempts=2, ok=False, refused=False, now=NOW, schedule=SCHEDULE)
    retry = after_attempt(attempts=0, total_attempts=0, ok=False, refused=False, now=NOW, schedule=SCHEDULE)
    pairs = [("a", ok), ("a", dead), ("b", dead), ("c", retry)]
    assert failing_marks(pairs) == ({"a"}, {"b"})


@pytest.mark.parametrize(
    ("attempts", "error", "status", "next_in"),
    [(0, None, "sent", None), (0, "down", "pending", 30), (1, "down", "pending", 300), (2, "down", "failed", None)],
)
def test_an_sms_is_sent_retried_or_failed(attempts: int, error: str | None, status: str, next_in: int | None) -> None:
    d = sms_after_send(attempts=attempts, error=error, now=NOW, retry=(30, 300))
    assert (d.status, d.attempts, d.error) == (status, attempts + 1, error)
    assert d.next_attempt_at == (None if next_in is None else NOW + next_in * S)
    assert d.sent_at == (NOW if status == "sent" else None)
    assert sms_after_send(attempts=0, error="x" * 900, now=NOW, retry=()).error == "x" * 500


@pytest.mark.parametrize(("recent", "limit", "over"), [(0, 5, False), (4, 5, False), (5, 5, True), (1, 0, True)])
def test_the_per_phone_hourly_limit(recent: int, limit: int, over: bool) -> None:
    assert over_sms_limit(recent, limit) is over


@pytest.mark.parametrize(
    ("fire_in", "fired", "cancelled", "due"),
    [
        (-1, False, False, True),
        (0, False, False, True),
        (1, False, False, False),
        (-1, True, False, False),
        (-1, False, True, False),
    ],
)
def test_a_reminder_is_due_once_at_its_time_unless_cancelled(
    fire_in: int, fired: bool, cancelled: bool, due: bool
) -> None:
    assert (
        reminder_due(
            fire_at=NOW + fire_in * S, fired_at=NOW if fired else None, cancelled_at=NOW if cancelled else None, now=NOW
        )
        is due
    )


def _t(sid: str, status: str = "active") -> Target:
    return Target(sid, ["*"], "34", status, f"https://{sid}.example.org")


@pytest.mark.parametrize(
    ("pairs", "room", "blocked", "leased"),
    [
        ([("a", "h1"), ("b", "h1")], 5, set(), [True, True]),
        ([("a", "h1"), ("a", "h1"), ("a", "h2")], 5, set(), [True, False, True]),  # one household waits its turn
        ([("a", "h1"), ("b", "h1"), ("c", "h1")], 2, set(), [True, True, False]),  # no more room
        ([("a", "h1"), ("a", "h2")], 5, {("a", "h1")}, [False, True]),  # earlier pending in the table
        ([("off", "h1"), ("a", "h1")], 5, set(), [False, True]),  # a disabled subscription holds its rows
        ([("a", "h1")], 0, set(), [False]),
    ],
)
def test_which_fanned_out_rows_go_straight_to_the_dispatcher(
    pairs: list[tuple[str, str]], room: int, blocked: set[tuple[str, str]], leased: list[bool]
) -> None:
    rows = [(_t(s, "disabled" if s == "off" else "active"), k) for s, k in pairs]
    assert plan_leases(rows, room=room, blocked=blocked) == leased


# --------------------------------------------------------------------------- dispatcher


def _sub(work: FakeWork, sid: str, *, status: str = "active", failing_since: dt.datetime | None = None) -> None:
    work.subscriptions.rows[sid] = {
        "id": sid,
        "url": f"https://{sid}.example.org/in",
        "status": status,
        "region": "341221",
        "owner_region": "341221",
        "owner_sub_hash": f"owner-{sid}",
        "description": "",
        "failing_since": failing_since,
        "missed_since": None,
        "disabled_reason": None,
        "disabled_at": None,
    }


def _delivery(work: FakeWork, i: int, sid: str, key: str, **kw: object) -> None:
    row = {
        "id": i,
        "subscription_id": sid,
        "event_id": f"ev-{i}",
        "order_key": key,
        "status": "pending",
        "attempts": 0,
        "total_attempts": 0,
        "next_attempt_at": utcnow() - S,
        "lease_owner": None,
        "lease_until": None,
        "dead_at": None,
        "created_at": utcnow(),
    }
    row.update(kw)
    work.subscriptions.deliveries[i] = row
    work.deliveries.payloads_by_event[f"ev-{i}"] = f"payload-{i}".encode()


async def test_claiming_leases_due_rows_in_household_order_with_payload_and_secrets() -> None:
    work = FakeWork()
    _sub(work, "a")
    _sub(work, "off", status="disabled")
    work.subscriptions.secrets += [
        {"subscription_id": "a", "secret_enc": "old", "expires_at": utcnow() - S},
        {"subscription_id": "a", "secret_enc": "kept", "expires_at": utcnow() + 60 * S},
        {"subscription_id": "a", "secret_enc": "new", "expires_at": None},
    ]
    _delivery(work, 1, "a", "h1")
    _delivery(work, 2, "a", "h1")  # behind 1
    _delivery(work, 3, "a", "h2")
    _delivery(work, 4, "off", "h3")  # held while disabled
    _delivery(work, 5, "a", "h4", next_attempt_at=utcnow() + 60 * S)  # a retry not due yet
    _delivery(work, 6, "a", "h5", lease_owner="other", lease_until=utcnow() + 60 * S)  # another replica's
    claimed = await dispatch.claim_due(dispatch.ClaimDue("me", 10, dt.timedelta(seconds=40)), work)
    assert [c.id for c in claimed] == [1, 3]
    assert (claimed[0].payload, claimed[0].secrets_enc, claimed[0].url) == (
        b"payload-1",
        ["new", "kept"],
        "https://a.example.org/in",
    )
    assert work.subscriptions.deliveries[1]["lease_owner"] == "me"
    assert work.commits == 1
    # nothing further due: nothing written, nothing committed
    assert await dispatch.claim_due(dispatch.ClaimDue("me", 10, dt.timedelta(seconds=40)), work) == []
    assert work.commits == 1


async def test_recording_retries_dead_letters_and_marks_failing_only_where_the_lease_holds() -> None:
    work = FakeWork()
    for sid in ("a", "b", "c"):
        _sub(work, sid)
    work.subscriptions.rows["a"]["failing_since"] = NOW
    _delivery(work, 1, "a", "h1", lease_owner="me")
    _delivery(work, 2, "b", "h2", lease_owner="me", attempts=2, total_attempts=4)
    _delivery(work, 3, "c", "h3", lease_owner="me")
    _delivery(work, 4, "c", "h4", lease_owner="someone-else")  # our lease ran out: not ours to write

    def out(i: int, sid: str, ok: bool, attempts: int = 0, total: int = 0) -> dispatch.SendOutcome:
        return dispatch.SendOutcome(i, sid, attempts, total, NOW, ok, False, 200 if ok else 503, 12.0, None)

    before = utcnow()
    recorded = await dispatch.record_outcomes(
        dispatch.RecordOutcomes(
            "me", [out(1, "a", True), out(2, "b", False, 2, 4), out(3, "c", False), out(4, "c", False)], SCHEDULE
        ),
        work,
    )
    rows = work.subscriptions.deliveries
    assert [rows[i]["status"] for i in (1, 2, 3, 4)] == ["delivered", "dead", "pending", "pending"]
    assert (rows[2]["attempts"], rows[2]["total_attempts"], rows[2]["dead_at"] is not None) == (3, 5, True)
    assert rows[3]["attempts"] == 1
    assert rows[3]["next_attempt_at"] >= before + 5 * S
    assert rows[4]["attempts"] == 0
    assert rows[4]["lease_owner"] == "someone-else"
    assert (recorded.recovered, recorded.failing) == ({"a"}, {"b"})
    assert (recorded.count("delivered"), recorded.count("pending"), recorded.count("dead")) == (1, 2, 1)
    assert work.subscriptions.rows["a"]["failing_since"] is None
    assert work.subscriptions.rows["b"]["failing_since"] is not None
    assert [a["outcome"] for a in work.deliveries.attempts] == ["delivered", "failed", "failed", "failed"]
    assert work.commits == 1


async def test_a_subscription_failing_too_long_is_disabled_its_owner_told_and_what_it_misses_kept() -> None:
    work = FakeWork()
    long_ago = utcnow() - dt.timedelta(days=2)
    _sub(work, "long", failing_since=long_ago)
    _sub(work, "recent", failing_since=utcnow() - dt.timedelta(minutes=5))
    _sub(work, "fine")
    disabled = await dispatch.disable_failing(dispatch.DisableFailing(24 * 3600), work)
    assert [(d.id, d.failing_since) for d in disabled] == [("long", long_ago)]
    row = work.subscriptions.rows["long"]
    assert (row["status"], row["disabled_reason"], row["missed_since"]) == ("disabled", "failing", long_ago)
    assert work.subscriptions.rows["recent"]["status"] == "active"
    ((notice, event_id, with_sms),) = work.notices.written
    assert (notice.kind, notice.audience.person, notice.region, event_id, with_sms) == (
        "subscription_disabled",
        "owner-long",
        "341221",
        None,
        False,
    )
    assert notice.data == {"subscription_id": "long"}
    assert work.commits == 1


async def test_stopping_gives_back_only_our_pending_leases() -> None:
    work = FakeWork()
    _sub(work, "a")
    _delivery(work, 1, "a", "h1", lease_owner="me", lease_until=utcnow() + 60 * S)
    _delivery(work, 2, "a", "h2", lease_owner="other", lease_until=utcnow() + 60 * S)
    await dispatch.release_leases("me", work)
    assert [work.subscriptions.deliveries[i]["lease_owner"] for i in (1, 2)] == [None, "other"]
    assert work.commits == 1


# --------------------------------------------------------------------------- reminders


def _reminder(work: FakeWork, rid: str, fire_in: dt.timedelta, **kw: object) -> None:
    row = {
        "id": rid,
        "kind": "visit_due",
        "ref_id": f"ref-{rid}",
        "region": "341221001001",
        "household_id": f"hh-{rid}",
        "due_date": dt.date(2026, 3, 8),
        "fire_at": utcnow() + fire_in,
        "recipient_hash": f"person-{rid}",
        "recipient_roles": ["village"],
        "data": {"visit_id": f"v-{rid}"},
        "fired_at": None,
        "cancelled_at": None,
    }
    row.update(kw)
    work.reminder_queue.rows[rid] = row


async def test_due_reminders_fire_once_with_their_notice_and_event() -> None:
    work = FakeWork()
    _reminder(work, "r1", -2 * S)
    _reminder(work, "r2", -1 * S, recipient_hash=None)
    _reminder(work, "later", dt.timedelta(hours=1))
    _reminder(work, "cancelled", -S, cancelled_at=utcnow())
    woken: list[int] = []
    fired = await reminders.fire_due_reminders(
        reminders.FireDueReminders(limit=10, sms=True), work, wake_sms=lambda: woken.append(1)
    )
    assert fired.ids == ["r1", "r2"]
    assert [work.reminder_queue.rows[r]["fired_at"] is not None for r in ("r1", "r2", "later")] == [True, True, False]
    (n1, _, sms1), (n2, _, _) = work.notices.written
    assert (n1.kind, n1.audience.person, n1.audience.roles, n1.sms, sms1) == (
        "reminder.visit_due",
        "person-r1",
        ("village",),
        True,
        True,
    )
    assert n1.data["reminder_id"] == "r1"
    assert n1.data["visit_id"] == "v-r1"
    assert n2.sms is False  # to roles only: no SMS
    assert len(work.notices.wakers) == 1
    ev = work.events[0]
    assert (ev.domain, ev.name, ev.subject, ev.region) == ("notification", "reminder_fired", "ref-r1", "341221001001")
    assert ev.data["to_person"] is True
    assert work.events[1].data["to_person"] is False
    assert ev.data["fire_at"].endswith("+00:00")
    assert ev.data["due_date"] == "2026-03-08"
    assert work.commits == 1
    again = await reminders.fire_due_reminders(reminders.FireDueReminders(limit=10, sms=True), work)
    assert again.ids == []
    assert len(work.events) == 2


async def test_a_naive_fire_time_is_announced_as_utc() -> None:
    work = FakeWork()
    naive = (utcnow() - S).replace(tzinfo=None)
    _reminder(work, "r", -S)
    work.reminder_queue.rows["r"]["fire_at"] = naive.replace(tzinfo=dt.UTC)
    row = type("Row", (), dict(work.reminder_queue.rows["r"], fire_at=naive))
    assert reminders.reminder_fired_event(row).data["fire_at"] == naive.replace(tzinfo=dt.UTC).isoformat()


async def test_reminders_fire_in_batches_soonest_first() -> None:
    work = FakeWork()
    for i in range(5):
        _reminder(work, f"r{i}", -(10 - i) * S)
    first = await reminders.fire_due_reminders(reminders.FireDueReminders(limit=3, sms=False), work)
    assert first.ids == ["r0", "r1", "r2"]
    assert all(not with_sms for _, _, with_sms in work.notices.written)


# --------------------------------------------------------------------------- SMS


def _message(work: FakeWork, i: int, who: str, **kw: object) -> None:
    row = {
        "id": i,
        "recipient_hash": who,
        "kind": "k",
        "text": "t",
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": utcnow() - S,
        "lease_until": None,
        "phone_hash": None,
        "sent_at": None,
    }
    row.update(kw)
    work.sms.messages[i] = row


CLAIM = sms.ClaimSms(rate_limit_per_hour=2, lease_s=40)


async def test_an_sms_without_a_number_or_over_the_limit_is_settled_without_sending() -> None:
    work = FakeWork()
    work.sms.recipients = {
        "on": {"recipient_hash": "on", "phone_enc": "enc-on", "phone_hash": "ph-on", "enabled": True},
        "off": {"recipient_hash": "off", "phone_enc": "enc-off", "phone_hash": "ph-off", "enabled": False},
    }
    _message(work, 1, "nobody")
    _message(work, 2, "off")
    _message(work, 3, "on")
    _message(work, 4, "on")
    _message(work, 5, "on")
    results = [await sms.claim_sms(CLAIM, work) for _ in range(5)]
    assert [(r.message_id, r.settled) for r in results if r is not None] == [
        (1, "no_phone"),
        (2, "no_phone"),
        (3, None),
        (4, None),
        (5, "rate_limited"),  # two being sent this hour already
    ]
    assert results[2] is not None
    assert results[2].send is not None
    assert (results[2].send.phone_enc, results[2].send.attempts) == ("enc-on", 0)
    assert work.sms.messages[5]["phone_hash"] == "ph-on"
    assert work.sms.locked == ["ph-on"] * 3
    assert await sms.claim_sms(CLAIM, work) is None
    assert work.commits == 5


async def test_an_sms_send_is_recorded_sent_or_retried_then_failed() -> None:
    work = FakeWork()
    _message(work, 1, "on", lease_until=utcnow() + 40 * S)
    retry = (30.0,)
    d = await sms.record_sms(sms.RecordSms(1, 0, "gateway down", retry), work)
    assert (d.status, work.sms.messages[1]["lease_until"], work.sms.messages[1]["attempts"]) == ("pending", None, 1)
    d = await sms.record_sms(sms.RecordSms(1, 1, "gateway down", retry), work)
    assert (d.status, work.sms.messages[1]["status"]) == ("failed", "failed")
    _message(work, 2, "on")
    d = await sms.record_sms(sms.RecordSms(2, 0, None, retry), work)
    assert (work.sms.messages[2]["status"], work.sms.messages[2]["sent_at"] is not None) == ("sent", True)


# --------------------------------------------------------------------------- fan-out


def _event(name: str = "identified", region: str = "341221001001", **data: object) -> Event:
    return Event("identification", name, "case-1", region, {"household_id": "hh-1", **data}, source="identification")


async def test_an_event_goes_to_the_subscriptions_matching_its_type_and_region() -> None:
    work = FakeWork()
    work.fanout.targets = [
        Target("all", ["*"], "34", "active", "u"),
        Target("ident", ["identification.*"], "341221", "disabled", "u"),
        Target("risk", ["risk.*"], "34", "active", "u"),
        Target("elsewhere", ["*"], "3412", "active", "u"),
        Target("other-county", ["*"], "341222", "active", "u"),
    ]
    fanned = await fanout.match_event(_event(), work)
    assert fanned is not None
    assert [t.id for t in fanned.targets] == ["all", "ident", "elsewhere"]
    assert (fanned.event_type, fanned.order_key) == ("identification.identified", "hh-1")
    assert await fanout.match_event(Event("risk", "x", "s", "110101", {}), work) is None
    with pytest.raises(PersonalDataInEvent):
        await fanout.match_event(_event(note="call 13812345678"), work)


async def test_a_batch_leases_what_the_dispatcher_takes_and_leaves_the_rest_queued() -> None:
    work = FakeWork()
    work.fanout.targets = [Target("a", ["*"], "34", "active", "u-a"), Target("off", ["*"], "34", "disabled", "u")]
    work.fanout.pending = {("a", "hh-2")}  # an earlier delivery of hh-2 still pending
    events = [await fanout.match_event(_event(household_id=hh), work) for hh in ("hh-1", "hh-1", "hh-2", "hh-3")]
    cmd = fanout.QueueDeliveries([e for e in events if e is not None], room=5, lease_owner="me", lease=40 * S)
    queued = await fanout.queue_deliveries(cmd, work)
    assert [(d.event.order_key, d.target.id) for d in queued.leased] == [("hh-1", "a"), ("hh-3", "a")]
    assert queued.left_active  # the second hh-1 and hh-2 wait for the claim loop
    leased = [r for r in work.fanout.rows if r["lease_owner"] == "me"]
    assert len(leased) == 2
    assert len(work.fanout.rows) == 8
    assert min(r["id"] for r in leased) == 1  # direct rows are inserted first: they get the smaller ids
    assert len(work.fanout.payloads) == 4
    assert work.fanout.lookups == [(["hh-1", "hh-2", "hh-3"], ["a"])]


async def test_without_a_dispatcher_nothing_is_leased_and_a_disabled_subscription_wakes_nobody() -> None:
    work = FakeWork()
    work.fanout.targets = [Target("off", ["*"], "34", "disabled", "u")]
    fanned = await fanout.match_event(_event(), work)
    assert fanned is not None
    queued = await fanout.queue_deliveries(fanout.QueueDeliveries([fanned], room=0), work)
    assert (queued.leased, queued.left_active, work.fanout.lookups) == ([], False, [])
    assert [r["lease_owner"] for r in work.fanout.rows] == [None]


# --------------------------------------------------------------------------- people


@pytest.mark.parametrize(
    ("fired", "cancelled", "same_date", "revive", "moves"),
    [
        (False, False, True, True, True),  # a newer event moves a pending reminder
        (True, False, True, True, False),  # fired for that date: not again
        (True, False, False, True, True),  # the date changed: fires again
        (False, True, False, True, True),  # revived
        (False, True, False, False, False),  # a recorded visit stays cancelled
    ],
)
def test_when_a_newer_schedule_moves_a_reminder(
    fired: bool, cancelled: bool, same_date: bool, revive: bool, moves: bool
) -> None:
    assert reminder_moves(fired=fired, cancelled=cancelled, same_date=same_date, revive=revive) is moves


CIPHER = FieldCipher(b"k" * 32, b"i" * 32)
VILLAGE = "341221001001"


def _notify(ev: Event) -> people.NotifyPeople:
    return people.NotifyPeople(ev, ReminderPolicy(), sms=True)


async def test_a_case_update_reaches_the_citizen_who_applied() -> None:
    work = FakeWork()
    submitted = Event(
        "application",
        "submitted",
        "app-1",
        VILLAGE,
        {"applicant_sub_hash": "citizen-h", "case_id": "case-1", "application_id": "app-1"},
    )
    out = await people.notify_people(_notify(submitted), work, CIPHER)
    assert work.people.links == {"case-1": {"application_id": "app-1", "applicant_hash": "citizen-h"}}
    assert len(out.item_ids) == 1
    changed = Event(
        "case", "status_changed", "case-1", VILLAGE, {"case_id": "case-1", "from": "submitted", "to": "review"}
    )
    await people.notify_people(_notify(changed), work, CIPHER)
    kinds = [(n.kind, n.audience.person, with_sms) for n, _, with_sms in work.notices.written]
    assert kinds == [("application_submitted", "citizen-h", True), ("application_status", "citizen-h", True)]
    assert work.commits == 0  # the consumer's inbox transaction commits


def _visit(name: str, visit_id: str = "v-1", **data: object) -> Event:
    body = {"visit_id": visit_id, "household_id": "hh-1", "contact_person_ref": "contact-7", **data}
    return Event("assistance", name, "hh-1", VILLAGE, body, source="assistance")


async def test_a_visit_reminder_is_scheduled_moved_and_cancelled_for_good() -> None:
    work = FakeWork()
    first = dt.date(2026, 5, 10)
    out = await people.notify_people(_notify(_visit("visit_scheduled", due_date=first.isoformat())), work, CIPHER)
    assert out.scheduled == 1
    (row,) = work.reminder_queue.rows.values()
    assert (row["kind"], row["ref_id"], row["due_date"], row["recipient_roles"]) == (
        "visit_due",
        "v-1",
        first,
        ["village"],
    )
    assert row["recipient_hash"] == subject_hash(CIPHER, "contact", "contact-7")
    assert row["fire_at"] == fire_time(first - dt.timedelta(days=3), 8)
    moved = first + dt.timedelta(days=5)
    await people.notify_people(_notify(_visit("visit_scheduled", due_date=moved.isoformat())), work, CIPHER)
    assert (len(work.reminder_queue.rows), row["due_date"]) == (1, moved)
    await people.notify_people(_notify(_visit("visit_recorded")), work, CIPHER)
    assert (row["cancel_reason"], row["cancelled_at"] is not None) == ("assistance.visit_recorded", True)
    # a late visit_scheduled does not bring it back
    late = _visit("visit_scheduled", due_date=(moved + dt.timedelta(days=1)).isoformat())
    await people.notify_people(_notify(late), work, CIPHER)
    assert (row["cancelled_at"] is not None, row["due_date"]) == (True, moved)


async def test_a_visit_recorded_before_its_schedule_leaves_a_cancelled_placeholder() -> None:
    work = FakeWork()
    await people.notify_people(_notify(_visit("visit_recorded", visit_id="v-2")), work, CIPHER)
    (row,) = work.reminder_queue.rows.values()
    assert (row["ref_id"], row["cancel_reason"], row["fired_at"]) == ("v-2", "assistance.visit_recorded", None)
    await people.notify_people(_notify(_visit("visit_scheduled", visit_id="v-2", due_date="2026-05-10")), work, CIPHER)
    assert len(work.reminder_queue.rows) == 1
    assert row["cancelled_at"] is not None


async def test_a_fired_reminder_fires_again_only_for_a_new_date() -> None:
    work = FakeWork()
    due = dt.date(2026, 5, 10)
    await people.notify_people(_notify(_visit("visit_scheduled", due_date=due.isoformat())), work, CIPHER)
    (row,) = work.reminder_queue.rows.values()
    row["fired_at"] = utcnow()
    await people.notify_people(_notify(_visit("visit_scheduled", due_date=due.isoformat())), work, CIPHER)
    assert row["fired_at"] is not None
    await people.notify_people(_notify(_visit("visit_scheduled", due_date="2026-05-20")), work, CIPHER)
    assert (row["fired_at"], row["due_date"]) == (None, dt.date(2026, 5, 20))
