"""Assistance's `employment.offers_refused` on real NATS: the household is flagged `refuses_work`
on the negative list — in its exclusions and with the explanation (rule, clauses, the
recommendation ids) — once, however often the event arrives; a payload without a person is
dead-lettered."""

from __future__ import annotations

from shared.events import Event
from tests.identification.integration.test_cases_support import COUNTY, VILLAGE, Service, application, service
from tests.identification.integration.test_loops import household, publish, scalar, until

__all__ = ["service"]


def refused(hid: str, **data: object) -> Event:
    payload = {
        "household_id": hid,
        "region_code": VILLAGE,
        "person_ref": "p-refuser",
        "refusals": 3,
        "recommendation_ids": ["11", "14", "15"],
        "decided_at": "2024-03-04T10:00:00+08:00",
        **data,
    }
    return Event("employment", "offers_refused", hid, VILLAGE, payload, source="assistance")


async def test_three_refused_offers_flag_the_household_once(service: Service) -> None:
    r = await service.apply(application(), service.headers("village", VILLAGE))
    assert r.status_code == 201, r.text
    hid = r.json()["household_id"]
    before = await household(service, hid)
    assert before["exclusions"] == []
    assert before["negative_list_flags"] == []
    ev = refused(hid)
    await publish(service, ev, ev, refused(hid))  # the same event twice, and a second event
    sql = "SELECT COUNT(*) FROM household_flags WHERE household_id = :h"
    await until(service, sql, 1, h=hid)
    body = await household(service, hid)
    assert [e["code"] for e in body["exclusions"]] == ["refuses_work"]
    assert "002 篇八" in body["exclusions"][0]["source"]
    [flag] = body["negative_list_flags"]
    assert (flag["code"], flag["person_ref"], flag["rule"]) == ("refuses_work", "p-refuser", "three_refused_offers")
    assert "000 safety-net §三(二)1" in flag["source"]
    assert flag["evidence"]["recommendation_ids"] == ["11", "14", "15"]
    assert flag["evidence"]["event_id"] == ev.id
    assert await scalar(service, "SELECT COUNT(*) FROM audit_chain WHERE kind = 'negative_list_flag'") == 1
    assert (await household(service, hid, service.headers("county", COUNTY)))["negative_list_flags"] == [flag]


async def test_a_payload_without_a_person_is_dead_lettered(service: Service) -> None:
    r = await service.apply(application(), service.headers("village", VILLAGE))
    hid = r.json()["household_id"]
    await publish(service, refused(hid, person_ref=None))
    await until(service, "SELECT COUNT(*) FROM dead_letters WHERE subject LIKE 'fangfan.employment.%'", 1)
    assert await scalar(service, "SELECT COUNT(*) FROM household_flags") == 0
