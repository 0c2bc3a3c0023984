"""Pure notification rules: event-type patterns, the SSRF address rule, Standard Webhooks
signatures (checked with the `standardwebhooks` library), the retry schedule, event routing."""

from __future__ import annotations

import datetime as dt
import random
import time

import pytest
from standardwebhooks.webhooks import Webhook

from services.notification.domain.patterns import InvalidPattern, matches_any, order_key, validate_pattern
from services.notification.domain.retry import RetrySchedule, parse_schedule
from services.notification.domain.routing import ReminderPolicy, fire_time, route_event
from services.notification.domain.signing import new_secret, webhook_headers
from services.notification.domain.ssrf import DestinationRefused, check_address, parse_allowlist, parse_webhook_url


@pytest.mark.parametrize(
    ("patterns", "domain", "name", "expected"),
    [
        (["*"], "risk", "warning_raised", True),
        (["risk.*"], "risk", "eliminated", True),
        (["risk.*"], "case", "status_changed", False),
        (["case.status_changed"], "case", "status_changed", True),
        (["case.status_changed"], "case", "objection_raised", False),
    ],
)
def test_patterns(patterns: list[str], domain: str, name: str, expected: bool) -> None:
    assert matches_any(patterns, domain, name) is expected


@pytest.mark.parametrize("bad", ["", "risk", "Risk.*", "*.x", "risk.a.b", "risk.*x", "risk. a"])
def test_bad_patterns(bad: str) -> None:
    with pytest.raises(InvalidPattern):
        validate_pattern(bad)


def test_order_key_is_the_household() -> None:
    assert order_key("case-1", {"household_id": "hh-1"}) == "hh-1"
    assert order_key("case-1", {}) == "case-1"


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.0.1",
        "169.254.169.254",
        "169.254.1.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fd00:ec2::254",
        "fc00::1",
        "::ffff:10.0.0.1",
        "100.64.0.1",
        "100.100.100.200",
    ],
)
def test_forbidden_addresses(ip: str) -> None:
    with pytest.raises(DestinationRefused):
        check_address(ip, parse_allowlist(""))


def test_public_and_allowlisted_addresses() -> None:
    check_address("8.8.8.8", parse_allowlist(""))
    check_address("2001:4860:4860::8888", parse_allowlist(""))
    allow = parse_allowlist("127.0.0.1/32, ::1/128")
    check_address("127.0.0.1", allow)
    check_address("::1", allow)
    check_address("::ffff:127.0.0.1", allow)
    with pytest.raises(DestinationRefused):
        check_address("127.0.0.2", allow)


@pytest.mark.parametrize(
    "url", ["ftp://x.org/", "http:///x", "http://u:p@x.org/", "javascript:alert(1)", "http://x.org:99999/"]
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(DestinationRefused):
        parse_webhook_url(url)


def test_signature_verifies_with_standardwebhooks_during_rotation() -> None:
    old, new = new_secret(), new_secret()
    body = '{"id":"e1","data":{"名":"值"}}'.encode()
    headers = webhook_headers([new, old], "e1", int(time.time()), body)
    assert headers["webhook-signature"].count("v1,") == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers) == {"id": "e1", "data": {"名": "值"}}
    with pytest.raises(Exception, match="signature"):
        Webhook(new_secret()).verify(body, headers)


def test_retry_schedule_bounds_and_jitter() -> None:
    s = RetrySchedule(parse_schedule("5,30,120"), jitter=0.2)
    assert s.max_attempts == 4
    rng = random.Random(1)
    delays = [s.next_delay(1, rng) for _ in range(200)]
    assert all(4.0 <= d <= 6.0 for d in delays if d is not None)
    assert len({round(d, 3) for d in delays if d is not None}) > 50
    assert s.next_delay(4) is None
    assert RetrySchedule(parse_schedule("1"), jitter=0).next_delay(1) == 1.0


def test_routing_case_into_public_notice() -> None:
    data = {
        "case_id": "c1",
        "household_id": "h1",
        "from": "village_review",
        "to": "public_notice",
        "deadline": "2024-03-19",
        "notice_ends_on": "2024-03-10",
    }
    r = route_event("case", "status_changed", "c1", "341221001001", data, applicant="A", policy=ReminderPolicy())
    assert {n.kind for n in r.notices} == {"application_status", "public_notice_started"}
    kinds = {s.kind: s for s in r.schedules}
    assert set(kinds) == {"public_notice_ending", "case_deadline_approaching", "case_overdue"}
    assert kinds["public_notice_ending"].fire_at == fire_time(dt.date(2024, 3, 10), 8)
    assert kinds["case_deadline_approaching"].fire_at == dt.datetime(2024, 3, 16, 0, tzinfo=dt.UTC)  # 08:00 CST
    assert kinds["case_overdue"].audience.roles == ("village", "township", "county")


def test_routing_terminal_cancels() -> None:
    r = route_event(
        "case", "status_changed", "c1", "341221001001", {"case_id": "c1", "from": "public_notice", "to": "rejected"}
    )
    assert {k for c in r.cancels for k in c.kinds} == {
        "public_notice_ending",
        "case_deadline_approaching",
        "case_overdue",
    }
    assert r.schedules == []
    r = route_event("assistance", "plan_drawn_up", "h1", "341221001001", {"plan_id": "p1"})
    assert r.cancels[0].kinds == ("plan_due",)


def test_routing_visits_address_the_contact_and_cancel_for_good() -> None:
    scheduled = route_event(
        "assistance",
        "visit_scheduled",
        "hh-1",
        "341221001001",
        {"visit_id": "v-1", "household_id": "hh-1", "due_date": "2024-05-10"},
        contact="hash-of-contact",
        policy=ReminderPolicy(visit_due_lead_days=3, reminder_hour=8),
    )
    [r] = scheduled.schedules
    assert (r.kind, r.ref_id, r.due_date) == ("visit_due", "v-1", dt.date(2024, 5, 10))
    assert r.fire_at == dt.datetime(2024, 5, 7, 0, 0, tzinfo=dt.UTC)  # 08:00 China time
    assert r.audience.person == "hash-of-contact"
    assert r.audience.roles == ("village",)
    assert r.revive is False  # a recorded visit is never scheduled again
    for name in ("visit_recorded", "visit_cancelled"):
        done = route_event("assistance", name, "hh-1", "341221001001", {"visit_id": "v-1"})
        [c] = done.cancels
        assert (c.kinds, c.ref_id, c.final) == (("visit_due",), "v-1", True)
    drawn = route_event("assistance", "plan_drawn_up", "hh-1", "341221001001", {"plan_id": "p-1"})
    assert [(c.kinds, c.ref_id, c.final) for c in drawn.cancels] == [(("plan_due",), "p-1", False)]
