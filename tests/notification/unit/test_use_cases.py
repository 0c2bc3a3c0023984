"""Subscription and inbox use cases against an in-memory unit of work (tests/notification/unit/
fake_work.py): registration refusals, secret rotation with a grace period, re-enabling replays
what was missed and wakes the dispatcher after the commit, read marks; no database."""

from __future__ import annotations

import datetime as dt

import pytest

from services.notification.application import inbox as inbox_uc
from services.notification.application import subscriptions as uc
from services.notification.application.common import SECRET_CONTEXT, person_hash
from services.notification.application.results import DeliveryCounts, SubscriptionOwner
from services.notification.domain.ssrf import DestinationRefused
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Forbidden, NotFound, Unprocessable
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
