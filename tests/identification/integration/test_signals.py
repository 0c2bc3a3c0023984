"""Department signals against a real database and NATS: matched by blind index, warnings raised
(`risk.warning_raised`), a case opened for the kinds the rules name, leads for unknown persons,
re-sent signals without a second effect, the department's own name only."""

from __future__ import annotations

import json

from tests.helpers import collect_events
from tests.identification.integration.test_cases_support import (
    COUNTY,
    VILLAGE,
    Service,
    application,
    id_number,
    service,
)

__all__ = ["service"]


def _signal(signal_id: str, kind: str, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "source_dept": "yibao",
        "signal_id": signal_id,
        "kind": kind,
        "region_code": VILLAGE,
        "observed_at": "2024-03-01T08:00:00+08:00",
        "payload": {},
    }
    body.update(extra)
    return body


async def _registered_household(service: Service, ids: list[str]) -> str:
    """A household on file with no open case (its application was rejected)."""
    r = await service.apply(application(ids=ids), service.headers("village", VILLAGE))
    assert r.status_code == 201
    rejected = await service.act(
        r.json()["case_id"], service.headers("village", VILLAGE), action="reject", reason="材料不全"
    )
    assert rejected.status_code == 200
    return str(r.json()["household_id"])


async def test_signals_warn_open_cases_make_leads_and_are_idempotent(service: Service) -> None:
    known, stranger = id_number(), id_number("19700101")
    household_id = await _registered_household(service, [known, id_number("19850505")])
    dept = service.headers("department", COUNTY, dept="yibao")
    batch = [
        _signal("s-1", "hospital_stay", id_number=known, payload={"self_paid": "26000"}),
        _signal("s-2", "income_drop", household_id=household_id),
        _signal("s-3", "disability_certificate", id_number=stranger),
        _signal("s-4", "unemployment", id_number=known, source_dept="renshe"),
        _signal("s-5", "flood_gauge", household_id=household_id),
    ]
    r = await service.client.post("/api/v1/signals", json=batch, headers=dept)
    assert r.status_code == 200, r.text
    out = r.json()["outcomes"]
    assert [o["outcome"] for o in out] == ["case_opened", "warning", "lead", "refused", "warning"]
    assert out[0]["household_id"] == household_id
    assert out[1]["open_case_id"] == out[0]["case_id"]
    assert out[3]["code"] == "department_mismatch"
    assert known not in r.text
    assert stranger not in r.text
    case = (await service.case(out[0]["case_id"], service.headers("county", COUNTY))).json()
    assert case["state"] == "submitted"
    assert case["urgent"] is True  # sudden illness: green channel
    assert case["risk_types"] == ["illness"]
    assert case["history"][0]["by"] == "department:yibao"

    again = await service.client.post("/api/v1/signals", json=batch[:3], headers=dept)
    assert [o["outcome"] for o in again.json()["outcomes"]] == ["duplicate"] * 3
    assert again.json()["outcomes"][0]["case_id"] == out[0]["case_id"]
    cases = await service.client.get(
        "/api/v1/cases", params={"household_id": household_id}, headers=service.headers("county", COUNTY)
    )
    assert cases.json()["total"] == 2  # the rejected one and the one the signal opened

    leads = await service.client.get(
        "/api/v1/signals/leads", params={"region": VILLAGE}, headers=service.headers("village", VILLAGE)
    )
    assert leads.status_code == 200
    [lead] = leads.json()["items"]
    assert lead["id_number_masked"] == stranger[:6] + "*" * 8 + stranger[14:]
    assert lead["kind"] == "disability_certificate"
    assert stranger not in leads.text

    [warning] = await collect_events(service.nats_url, "fangfan.risk.warning_raised.>", count=1)
    assert warning["subject"] == household_id
    assert warning["data"]["warning"] == "red"
    assert warning["data"]["case_id"] == out[0]["case_id"]
    assert sorted(warning["data"]["signal_kinds"]) == ["flood_gauge", "hospital_stay", "income_drop"]
    assert known not in json.dumps(warning)
    stats = await service.client.get(
        "/api/v1/statistics",
        params={"group_by": "warning", "region": COUNTY},
        headers=service.headers("county", COUNTY),
    )
    assert {"warning": "red", "households": 1} in stats.json()["rows"]


async def test_small_hospital_stay_only_warns_and_roles_are_checked(service: Service) -> None:
    known = id_number()
    await _registered_household(service, [known])
    county = service.headers("county", COUNTY)
    r = await service.client.post(
        "/api/v1/signals",
        json=[_signal("small", "hospital_stay", id_number=known, payload={"self_paid": 800})],
        headers=county,
    )
    assert r.json()["outcomes"][0]["outcome"] == "warning"
    assert r.json()["outcomes"][0]["warning"] == "yellow"
    denied = await service.client.post("/api/v1/signals", json=[], headers=service.headers("village", VILLAGE))
    assert denied.status_code == 403
    elsewhere = await service.client.post(
        "/api/v1/signals",
        json=[_signal("far", "dropout", id_number=known, region_code="341222001201")],
        headers=county,
    )
    assert elsewhere.json()["outcomes"][0]["outcome"] == "refused"
    bad = await service.client.post(
        "/api/v1/signals", json=[_signal("x", "dropout", id_number="123", household_id="h")], headers=county
    )
    assert bad.status_code == 422


async def test_signal_without_an_id_is_named_by_its_content_and_any_batch_shape_is_accepted(service: Service) -> None:
    """DESIGN.md lists no `signal_id`: a signal sent without one gets an id derived from its
    content (a keyed hash: the ID number cannot be guessed from it), so the same signal sent
    again is a duplicate and a different one is not. The batch may be a JSON array,
    `{"signals": [...]}` or a single signal."""
    known = id_number()
    await _registered_household(service, [known])
    dept = service.headers("department", COUNTY, dept="yibao")
    plain = _signal("x", "income_drop", id_number=known)
    del plain["signal_id"]

    first = await service.client.post("/api/v1/signals", json=[plain], headers=dept)
    assert first.status_code == 200, first.text
    (out,) = first.json()["outcomes"]
    assert out["outcome"] == "warning"
    assert out["signal_id"].startswith("content-")
    assert len(out["signal_id"]) == len("content-") + 40
    assert known not in out["signal_id"]

    wrapped = await service.client.post("/api/v1/signals", json={"signals": [plain]}, headers=dept)
    assert wrapped.status_code == 200, wrapped.text
    assert wrapped.json()["outcomes"][0]["outcome"] == "duplicate"
    assert wrapped.json()["outcomes"][0]["signal_id"] == out["signal_id"]

    later = dict(plain, observed_at="2024-03-02T08:00:00+08:00")  # another day: another signal
    single = await service.client.post("/api/v1/signals", json=later, headers=dept)
    assert single.status_code == 200, single.text
    assert single.json()["outcomes"][0]["outcome"] == "warning"
    assert single.json()["outcomes"][0]["signal_id"] != out["signal_id"]

    # field paths as the client wrote the body; the offending ID number is not echoed
    bad = dict(plain, id_number=known[:-1] + ("0" if known[-1] != "0" else "1"))
    for body, path in (
        ([plain, bad], "1.id_number"),
        ({"signals": [bad]}, "signals.0.id_number"),
        (bad, "id_number"),
        ({"signals": [plain], "extra": 1}, "extra"),
        ("nonsense", ""),
    ):
        r = await service.client.post("/api/v1/signals", json=body, headers=dept)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert [e["path"] for e in r.json()["errors"]] == [path or "body"], r.text
        assert bad["id_number"] not in r.text
