"""Subscription and inbox use cases against an in-memory unit of work (tests/notification/unit/
fake_work.py): registration refusals, secret rotation with a grace period, re-enabling replays
what was missed and wakes the dispatcher after the commit, read marks; no database."""

from __future__ import annotations

import datetime as dt

import pytest

from services.notification.application import inbox as inbox_uc
from services.notification.application import subscriptions as uc
from services.notification.application.common import SECRET_CONTEXT, person_hash
from services.notification.application.results import DeliveryCounts, SmsSettings, SubscriptionOwner
from services.notification.domain.ssrf import DestinationRefused
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.pii import FieldCipher
from tests.notification.unit.fake_work import FakeWork

CIPHER = FieldCipher(b"k" * 32, b"i" * 32)
DEPT = Principal(sub="civil-1", role="department", region="341221", dept="civil_affairs")
OTHER_DEPT = Principal(sub="hr-1", role="department", region="341221", dept="hr")


def deps(woken: list[str] | None = None, refuse: bool = False) -> uc.SubscriptionDeps:
    async def check(url: str) -> None:
        if refuse:
            raise DestinationRefused("resolves to a private address")

    return uc.SubscriptionDeps(
        cipher=CIPHER, check_destination=check, wake_dispatcher=lambda: (woken if woken is not None else []).append("x")
    )


def new(url: str = "https://hooks.example.org/in") -> uc.NewSubscription:
    return uc.NewSubscription(url=url, event_types=["identification.*"], region=None, description="")


async def test_registering_keeps_the_secret_encrypted_and_shows_it_once() -> None:
    work = FakeWork()
    out = await uc.create_subscription(new(), work, DEPT, deps())
    assert out.secret.startswith("whsec_")
    assert out.subscription.region == "341221"  # the caller's own by default
    assert out.subscription.owner == SubscriptionOwner(role="department", region="341221", dept="civil_affairs")
    (stored,) = work.subscriptions.secrets
    assert CIPHER.decrypt_text(stored["secret_enc"], context=SECRET_CONTEXT) == out.secret
    assert work.commits == 1


async def test_a_refused_destination_and_a_bad_pattern_are_422_and_nothing_is_written() -> None:
    work = FakeWork()
    with pytest.raises(Unprocessable) as exc:
        await uc.create_subscription(new(), work, DEPT, deps(refuse=True))
    assert exc.value.code == "webhook_url_refused"
    with pytest.raises(Unprocessable):
        await uc.create_subscription(
            uc.NewSubscription("https://x.example.org", ["a..b"], None, ""), work, DEPT, deps()
        )
    with pytest.raises(Forbidden):
        await uc.create_subscription(new(), work, Principal(sub="c", role="citizen", region="341221"), deps())
    assert (work.commits, work.subscriptions.rows) == (0, {})


async def test_rotation_keeps_the_old_secret_signing_for_the_grace_period_only() -> None:
    work = FakeWork()
    sub = await uc.create_subscription(new(), work, DEPT, deps())
    rotated = await uc.rotate_secret(uc.RotateSecret(sub.subscription.id, grace_s=3600), work, DEPT, deps())
    old, fresh = work.subscriptions.secrets
    assert old["expires_at"] == rotated.previous_secrets_expire_at
    assert fresh["expires_at"] is None
    assert CIPHER.decrypt_text(fresh["secret_enc"], context=SECRET_CONTEXT) == rotated.secret
    with pytest.raises(NotFound):  # another department's subscription is not there for it
        await uc.rotate_secret(uc.RotateSecret(sub.subscription.id, grace_s=1), work, OTHER_DEPT, deps())


async def test_re_enabling_replays_what_was_missed_and_wakes_the_dispatcher_after_the_commit() -> None:
    work = FakeWork()
    sub = await uc.create_subscription(new(), work, DEPT, deps())
    disabled_at = utcnow()
    await work.subscriptions.update(sub.subscription.id, {"status": "disabled", "missed_since": disabled_at})
    for i, (status, dead_at) in enumerate(
        [
            ("dead", disabled_at + dt.timedelta(minutes=1)),
            ("dead", disabled_at - dt.timedelta(days=1)),
            ("delivered", None),
        ]
    ):
        work.subscriptions.deliveries[i + 1] = {
            "id": i + 1,
            "subscription_id": sub.subscription.id,
            "status": status,
            "dead_at": dead_at,
            "created_at": disabled_at,
            "attempts": 8,
        }
    woken: list[str] = []
    out = await uc.set_enabled(uc.SetEnabled(sub.subscription.id, enabled=True), work, DEPT, deps(woken))
    assert (out.status, out.replayed) == ("active", 1)
    assert out.deliveries == DeliveryCounts(pending=1, delivered=1, dead=1)
    assert woken == ["x"]  # once, and only after the commit


async def test_an_item_is_marked_read_once_for_its_reader() -> None:
    work = FakeWork()
    citizen = Principal(sub="341221199001011234", role="citizen", region="341221001001")
    me = person_hash(CIPHER, citizen)
    work.inbox.items.append(
        {
            "id": "item-1",
            "recipient_hash": me,
            "recipient_role": None,
            "region": "341221001001",
            "kind": "k",
            "title": "t",
            "body": "b",
            "data": None,
            "created_at": utcnow(),
        }
    )
    assert await inbox_uc.unread_count(work, CIPHER, citizen) == 1
    first = await inbox_uc.mark_read(work, CIPHER, citizen, "item-1")
    again = await inbox_uc.mark_read(work, CIPHER, citizen, "item-1")
    assert first.read_at == again.read_at
    page = await inbox_uc.list_items(inbox_uc.ListInbox(unread_only=False, limit=10, offset=0), work, CIPHER, citizen)
    assert (page.unread, page.items[0].read) == (0, True)
    with pytest.raises(NotFound):
        await inbox_uc.mark_read(work, CIPHER, Principal(sub="x", role="citizen", region="341221001001"), "item-1")


def _delivery_row(i: int, sub_id: str, status: str, **kw: object) -> dict[str, object]:
    at = utcnow()
    row: dict[str, object] = {
        "id": i,
        "subscription_id": sub_id,
        "event_id": f"ev-{i}",
        "event_type": "identification.identified",
        "status": status,
        "attempts": 2,
        "total_attempts": 5,
        "next_attempt_at": at,
        "last_status_code": 503,
        "last_error": None,
        "created_at": at,
        "delivered_at": None,
        "dead_at": at if status == "dead" else None,
    }
    row.update(kw)
    return row


async def test_reading_and_listing_subscriptions_in_the_callers_scope() -> None:
    work = FakeWork()
    mine = (await uc.create_subscription(new(), work, DEPT, deps())).subscription
    await uc.create_subscription(new("https://hr.example.org"), work, OTHER_DEPT, deps())
    work.subscriptions.deliveries[1] = _delivery_row(1, mine.id, "dead")
    got = await uc.get_subscription(work, DEPT, mine.id)
    assert (got.id, got.url, got.status, got.replayed) == (mine.id, "https://hooks.example.org/in", "active", None)
    assert got.deliveries == DeliveryCounts(pending=0, delivered=0, dead=1)
    page = await uc.list_subscriptions(uc.ListSubscriptions(limit=10, offset=0), work, DEPT)
    assert ([s.id for s in page.items], page.total, page.limit, page.offset) == ([mine.id], 1, 10, 0)
    assert page.items[0].deliveries is None  # no counts in a list
    admin = Principal(sub="root", role="admin", region="34")
    assert (await uc.list_subscriptions(uc.ListSubscriptions(10, 0), work, admin)).total == 2
    with pytest.raises(NotFound):
        await uc.get_subscription(work, OTHER_DEPT, mine.id)


async def test_deliveries_list_with_the_next_attempt_only_while_pending() -> None:
    work = FakeWork()
    sub = (await uc.create_subscription(new(), work, DEPT, deps())).subscription
    work.subscriptions.deliveries[1] = _delivery_row(1, sub.id, "pending")
    work.subscriptions.deliveries[2] = _delivery_row(2, sub.id, "dead")
    page = await uc.list_deliveries(uc.ListDeliveries(sub.id, None, 50, 0), work, DEPT)
    assert [(d.id, d.status, d.attempts_in_round, d.total_attempts) for d in page.items] == [
        (1, "pending", 2, 5),
        (2, "dead", 2, 5),
    ]
    assert page.items[0].next_attempt_at is not None
    assert page.items[1].next_attempt_at is None
    assert (page.total, page.items[0].attempts) == (2, [])


async def test_replaying_requeues_after_the_commit_and_a_pending_delivery_is_a_conflict() -> None:
    work = FakeWork()
    sub = (await uc.create_subscription(new(), work, DEPT, deps())).subscription
    since = utcnow() - dt.timedelta(hours=1)
    work.subscriptions.deliveries[1] = _delivery_row(1, sub.id, "dead")
    work.subscriptions.deliveries[2] = _delivery_row(2, sub.id, "delivered")
    work.subscriptions.deliveries[3] = _delivery_row(3, sub.id, "pending")
    woken: list[str] = []
    out = await uc.replay_subscription(
        uc.ReplaySubscription(sub.id, since, include_delivered=False), work, DEPT, deps(woken)
    )
    assert (out.subscription_id, out.replayed, out.since, woken) == (sub.id, 1, since, ["x"])
    work.subscriptions.deliveries[1]["status"] = "dead"
    one = await uc.replay_delivery(uc.ReplayDelivery(2), work, DEPT, deps(woken))
    assert (one.id, one.status, one.attempts_in_round, one.attempts) == (2, "pending", 0, [])
    with pytest.raises(Conflict):
        await uc.replay_delivery(uc.ReplayDelivery(3), work, DEPT, deps())
    with pytest.raises(NotFound):
        await uc.replay_delivery(uc.ReplayDelivery(1), work, OTHER_DEPT, deps())
    with pytest.raises(NotFound):
        await uc.replay_delivery(uc.ReplayDelivery(99), work, DEPT, deps())


async def test_disabling_by_the_owner_keeps_what_it_misses_for_a_later_enable() -> None:
    work = FakeWork()
    sub = (await uc.create_subscription(new(), work, DEPT, deps())).subscription
    off = await uc.set_enabled(uc.SetEnabled(sub.id, enabled=False), work, DEPT, deps())
    assert (off.status, off.disabled_reason, off.replayed) == ("disabled", "by_owner", 0)
    assert off.disabled_at is not None


async def test_the_sms_number_is_stored_encrypted_and_shown_masked() -> None:
    work = FakeWork()
    citizen = Principal(sub="341221199001011234", role="citizen", region="341221001001")
    assert await inbox_uc.get_sms(work, CIPHER, citizen) == SmsSettings(None, False, None)
    put = await inbox_uc.set_sms(inbox_uc.SetSms("13812345678", enabled=True), work, CIPHER, citizen)
    assert (put.phone, put.enabled) == ("138****5678", True)
    (stored,) = work.inbox.numbers.values()
    assert "13812345678" not in str(stored)
    assert await inbox_uc.get_sms(work, CIPHER, citizen) == put
    await inbox_uc.delete_sms(work, CIPHER, citizen)
    assert (await inbox_uc.get_sms(work, CIPHER, citizen)).phone is None


async def test_officers_list_the_pending_reminders_of_their_region() -> None:
    work = FakeWork()
    at = utcnow()
    for rid, region, fired in (("r1", "341221001001", None), ("r2", "341221002001", at), ("r3", "341222001001", None)):
        work.reminder_queue.rows[rid] = {
            "id": rid,
            "kind": "visit_due",
            "ref_id": f"ref-{rid}",
            "region": region,
            "household_id": None,
            "due_date": at.date(),
            "fire_at": at,
            "recipient_hash": "someone",
            "recipient_roles": None,
            "data": {},
            "fired_at": fired,
            "cancelled_at": None,
            "cancel_reason": None,
        }
    county = Principal(sub="c-1", role="county", region="341221")
    page = await inbox_uc.list_reminders(inbox_uc.ListReminders(pending=True, limit=10, offset=0), work, county)
    assert ([r.id for r in page.items], page.total, page.items[0].recipient_roles) == (["r1"], 1, [])
    everything = await inbox_uc.list_reminders(inbox_uc.ListReminders(False, 10, 0), work, county)
    assert [r.id for r in everything.items] == ["r1", "r2"]
    with pytest.raises(Forbidden):
        await inbox_uc.list_reminders(
            inbox_uc.ListReminders(True, 10, 0), work, Principal(sub="x", role="citizen", region="34")
        )
