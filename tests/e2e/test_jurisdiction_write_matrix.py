"""The cross-jurisdiction WRITE matrix (issue #22), beside the read matrix: over the running
system, through the gateway, callers of two counties (341221 and 341222: county, township and
village officers, a department, a citizen) aim every write path at the other county's records —
applications matching its household by a member's ID number or by household number, import rows
doing the same, signals naming its household or its people, plans / measures / visits /
employment records, subsidy decisions and their transitions, case transitions, resolving its
duplicates. Afterwards each county re-reads everything it has, as itself (households, cases,
plans, measures, visits, employment records, decisions, leads): nothing may have changed.

A control write by the county itself afterwards must change its snapshot (the matrix is not
vacuous). The figures are printed and kept in bench/out/jurisdiction_write_matrix.{txt,json}."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.cli.demo import demo_system
from tests.e2e.jurisdiction_world import TODAY, World, build_world, household_body

pytestmark = [pytest.mark.sqlite_only, pytest.mark.slow, pytest.mark.timeout(600)]

OUT_DIR = Path(__file__).resolve().parents[2] / "bench" / "out"
API = "/api/v1"
COUNTIES = ("341221", "341222")
ROLES = ("county", "township", "village", "department", "citizen")
DECIDE = "decision: their household, their region"


@dataclass
class Target:
    """The victim county's records the attacks aim at."""

    county: str
    village: str
    household: str
    number: str
    member_ids: list[str]
    plan: str
    measure: str
    case: str
    decision: str | None
    duplicate: str
    #: a household only registered (imported: no case, not monitored), its number and members
    plain: str
    plain_number: str
    plain_ids: list[str]


@dataclass
class Caller:
    county: str
    role: str
    village: str
    headers: dict[str, str]
    contact: str
    spare: Callable[[], dict[str, Any]]
    #: a citizen's own ID number (their applications name them)
    own_id: str | None = None


def _other(county: str) -> str:
    return COUNTIES[1 - COUNTIES.index(county)]


def _ok(r: httpx.Response, *codes: int) -> Any:
    assert r.status_code in (codes or (200, 201, 202)), (r.request.method, r.request.url, r.status_code, r.text[:500])
    return r.json()


async def _job(c: httpx.AsyncClient, r: httpx.Response, headers: dict[str, str]) -> dict[str, Any]:
    job = r.json()
    for _ in range(100):
        if job.get("status") in ("completed", "failed"):
            return dict(job)
        await asyncio.sleep(0.1)
        job = (await c.get(f"{API}/jobs/{job['id']}", headers=headers)).json()
    return dict(job)


def _application(region: str, household: dict[str, Any], number: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "region_code": region,
        "household": household,
        "reason": "收入骤减",
        "risk_types": ["illness"],
        "consent": {"commitment": True, "asset_query_authorized": True},
    }
    if number:
        body["household_number"] = number
    return body


def _import_row(region: str, number: str, household: dict[str, Any]) -> dict[str, Any]:
    return {**household, "region_code": region, "household_number": number}


def _signal(dept: str, region: str, **who: str) -> list[dict[str, Any]]:
    return [
        {
            "source_dept": dept,
            "signal_id": f"wx-{uuid.uuid4().hex}",
            "kind": "hospital_stay",
            "region_code": region,
            "observed_at": f"{TODAY.isoformat()}T08:00:00+08:00",
            "payload": {"self_paid": 90000},
            **who,
        }
    ]


def attacks(t: Target, k: Caller) -> list[tuple[str, str, str, Any]]:
    """(label, method, path, body) of every write aimed at `t` (the other county) by `k`."""
    mine = household_body(k.spare())
    if k.own_id:
        mine["members"][0] = {**mine["members"][0], "id_number": k.own_id}
    victim = {**mine["members"][0], "id_number": t.member_ids[0], "relation": "other"}
    with_victim = dict(mine, members=[*mine["members"], victim])
    plain = {**mine["members"][0], "id_number": t.plain_ids[-1], "relation": "other"}
    with_plain = dict(mine, members=[*mine["members"], plain])
    own_number = f"{k.village}-wx{uuid.uuid4().hex[:8]}"
    dept = "health"
    decision = {
        "kind": "public_welfare_post",
        "as_of": "2020-06-30",
        "inputs": {"annual_wage": "7200", "person_id": f"wx-{uuid.uuid4().hex[:8]}"},
        "household_id": t.household,
    }
    out: list[tuple[str, str, str, Any]] = [
        ("application by member ID", "POST", "/applications", _application(k.village, with_victim)),
        ("application by household number", "POST", "/applications", _application(k.village, mine, t.number)),
        (
            "application by member ID, registered household",
            "POST",
            "/applications",
            _application(k.village, with_plain),
        ),
        (
            "application by number, registered household",
            "POST",
            "/applications",
            _application(k.village, mine, t.plain_number),
        ),
        ("import row by household number", "POST", "/households/import", [_import_row(k.village, t.number, mine)]),
        (
            "import row by number, registered household",
            "POST",
            "/households/import",
            [_import_row(k.village, t.plain_number, mine)],
        ),
        (
            "import row with a member of theirs",
            "POST",
            "/households/import",
            [_import_row(k.village, own_number, with_victim)],
        ),
        ("signal: their household, my region", "POST", "/signals", _signal(dept, k.village, household_id=t.household)),
        (
            "signal: their household, their region",
            "POST",
            "/signals",
            _signal(dept, t.village, household_id=t.household),
        ),
        ("signal: their person, my region", "POST", "/signals", _signal(dept, k.village, id_number=t.member_ids[0])),
        ("plan: add a measure", "POST", f"/plans/{t.plan}/measures", {"type": "education", "reason": "wx"}),
        ("plan: change contact", "POST", f"/plans/{t.plan}/contact", {"contact_id": k.contact, "reason": "wx"}),
        ("measure: edit", "PATCH", f"/measures/{t.measure}", {"reason": "wx", "description": "wx"}),
        ("measure: transition", "POST", f"/measures/{t.measure}/transitions", {"action": "accept", "note": "wx"}),
        (
            "visit",
            "POST",
            "/visits",
            {"household_id": t.household, "visited_on": TODAY.isoformat(), "findings": "wx"},
        ),
        (
            "employment record",
            "POST",
            "/employment/records",
            {"person_ref": f"wx-{uuid.uuid4().hex[:8]}", "household_id": t.household},
        ),
        (
            "decision: their household, their region",
            "POST",
            "/subsidies/decisions",
            {**decision, "region_code": t.village},
        ),
        ("case: transition", "POST", f"/cases/{t.case}/transitions", {"action": "advance", "note": "wx"}),
        (
            "duplicate: resolve",
            "POST",
            f"/households/duplicates/{t.duplicate}/resolve",
            {"action": "move", "note": "wx"},
        ),
    ]
    if t.decision:  # (only 341221 has a subsidy policy, hence decisions)
        for action, body in (("approve", {"note": "wx"}), ("reject", {"reason": "wx"}), ("pay", {"note": "wx"})):
            out.append((f"decision: {action}", "POST", f"/subsidies/decisions/{t.decision}/{action}", body))
    return out


async def snapshot(c: httpx.AsyncClient, headers: dict[str, str], households: list[str]) -> dict[str, Any]:
    """Everything a county holds, read as itself."""
    snap: dict[str, Any] = {}
    for path, params in (
        ("/cases", {"page_size": "500"}),
        ("/plans", {"limit": "500"}),
        ("/measures", {"limit": "500"}),
        ("/visits", {"limit": "1000"}),
        ("/employment/records", {}),
        ("/subsidies/decisions", {"limit": "500"}),
        ("/signals/leads", {}),
    ):
        r = await c.get(API + path, params=params, headers=headers)
        snap[path] = (r.status_code, r.json())
    for hid in households:
        r = await c.get(f"{API}/households/{hid}", headers=headers)
        snap[hid] = (r.status_code, r.json())
    return snap


def _diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


async def _target(c: httpx.AsyncClient, w: World, county: str, admin: dict[str, str]) -> Target:
    village = f"{county}001201"
    plan = next(o for o in w.of("plan") if o.region == village)
    hid = plan.extra["household_id"]
    read = _ok(
        await c.get(f"{API}/households/{hid}", params={"reveal": "id_number", "reason": "write matrix"}, headers=admin)
    )
    measure = next(o for o in w.of("measure") if o.region == village)
    case = next(o for o in w.of("case") if o.region == village and not o.owners)
    decision = next((o.id for o in w.of("decision") if o.region.startswith(county)), None)
    # a duplicate of the county's own (two of its households share a person), for it to resolve
    other = next(o for o in w.of("household") if o.region == f"{county}001200" and not o.owners)
    other_read = _ok(
        await c.get(
            f"{API}/households/{other.id}", params={"reveal": "id_number", "reason": "write matrix"}, headers=admin
        )
    )
    row = w.spare(f"{county}002201")
    row["members"] = [{**row["members"][0], "id_number": other_read["members"][0]["id_number"]}, *row["members"]]
    county_h = w.system.token("county", county, sub=f"wx-county-{county}")
    r = await c.post(
        f"{API}/households/import",
        content=(json.dumps(row, ensure_ascii=False) + "\n").encode(),
        headers={**county_h, "Content-Type": "application/x-ndjson"},
    )
    job = await _job(c, r, county_h)
    assert job["rows_done"] == 1, job
    assert job["result"].get("duplicates") == 1, job
    dups = _ok(await c.get(f"{API}/households/duplicates", headers=county_h))["items"]
    assert len(dups) == 1, dups
    return Target(
        county,
        village,
        hid,
        read["household_number"],
        [m["id_number"] for m in read["members"]],
        plan.id,
        measure.id,
        case.id,
        decision,
        dups[0]["id"],
        dups[0]["other_household_id"],
        row["household_number"],
        [m["id_number"] for m in row["members"]],
    )


async def test_no_write_crosses_a_county(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FANGFAN_RATE_SELF_APPLICATION", "off")
    monkeypatch.setenv("FANGFAN_RATE_PRINCIPAL", "off")
    monkeypatch.setenv("FANGFAN_RATE_IP", "off")
    t0 = time.monotonic()
    async with demo_system(tmp_path) as system:
        w = await build_world(system)
        async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as c:
            admin = w.headers(w.principals["admin"])
            targets = {county: await _target(c, w, county, admin) for county in COUNTIES}
            callers: list[Caller] = []
            for county in COUNTIES:
                village = f"{county}001201"
                contact = next(o.id for o in w.of("contact") if o.region == village)
                for role in ROLES:
                    region = {"county": county, "township": village[:9]}.get(role, village)
                    if role == "department":
                        region = county
                    own_id = w.spare(village)["members"][0]["id_number"] if role == "citizen" else None
                    sub = own_id or f"wx-{role}-{county}"
                    headers = system.token(role, region, sub=sub, dept="health" if role == "department" else None)
                    callers.append(
                        Caller(county, role, village, headers, contact, lambda v=village: w.spare(v), own_id)
                    )
            own = {county: system.token("county", county, sub=f"wx-own-{county}") for county in COUNTIES}
            households = {
                county: sorted(
                    {o.id for o in w.of("household") if o.region.startswith(county)} | {targets[county].plain}
                )
                for county in COUNTIES
            }
            # one county attacks the other, which is read before and after (its own writes to itself
            # in the other phase — its leads, its households — are not the other county's doing)
            before: dict[str, Any] = {}
            after: dict[str, Any] = {}

            tried: Counter[str] = Counter()
            statuses: dict[str, Counter[str]] = {}
            failures: list[str] = []
            for k in sorted(callers, key=lambda k: COUNTIES.index(k.county)):
                t = targets[_other(k.county)]
                if t.county not in before:
                    if after or before:
                        prev = _other(t.county)
                        after[prev] = await snapshot(c, own[prev], households[prev])
                    before[t.county] = await snapshot(c, own[t.county], households[t.county])
                for label, method, path, body in attacks(t, k):
                    headers = {**k.headers, "Idempotency-Key": f"wx-{uuid.uuid4().hex}"}
                    if path == "/households/import":
                        r = await c.post(
                            API + path,
                            content="".join(json.dumps(x, ensure_ascii=False) + "\n" for x in body).encode(),
                            headers={**headers, "Content-Type": "application/x-ndjson"},
                        )
                    else:
                        r = await c.request(method, API + path, json=body, headers=headers)
                    tried[label] += 1
                    code = (r.json().get("code") if r.content and isinstance(r.json(), dict) else None) or ""
                    outcome = f"{r.status_code} {code}".strip()
                    where = f"{k.county}/{k.role} {label}: {r.status_code} {r.text[:300]}"
                    if r.status_code >= 500:
                        failures.append(f"5xx: {where}")
                    if label.startswith("application") and r.status_code < 300:
                        failures.append(f"application matched another county's household: {where}")
                    if label.startswith("application") and r.status_code == 409 and code != "household_conflict":
                        failures.append(f"application refused with another code: {where}")
                    if path == "/households/import" and r.status_code == 202:
                        job = await _job(c, r, k.headers)
                        if label.startswith("import row by"):
                            ok = job["rows_failed"] == 1 and job["errors"][0].get("code") == "household_conflict"
                            outcome += f" row error {job['errors'][0].get('code') if job['errors'] else None}"
                        else:
                            ok = job["rows_done"] == 1 and job["result"].get("duplicates") == 1
                            outcome += f" stored, duplicates {job['result'].get('duplicates')}"
                        if not ok:
                            failures.append(f"import: {where} {job}")
                        told = json.dumps([job["result"], [e.get("message") for e in job["errors"]]])
                        if t.household in json.dumps(job) or t.village in told:  # (the number is the caller's)
                            failures.append(f"import job names the other county's household: {where}")
                    if r.status_code == 409 and (t.household in r.text or t.number in r.text):
                        failures.append(f"409 names the other household: {where}")
                    if path == "/signals" and r.status_code == 200:
                        outcome += " " + ",".join(sorted(str(o.get("outcome")) for o in r.json()["outcomes"]))
                    statuses.setdefault(label, Counter())[outcome] += 1

            last = callers[-1].county
            after[_other(last)] = await snapshot(c, own[_other(last)], households[_other(last)])
            changed = {county: _diff(before[county], after[county]) for county in COUNTIES}
            # control: a write by the county itself shows in its snapshot
            t = targets[_other(last)]  # the county read last: nothing else wrote to it since
            r = await c.post(
                f"{API}/visits",
                json={"household_id": t.household, "visited_on": TODAY.isoformat(), "findings": "control"},
                headers=system.token("village", t.village, sub="wx-control"),
            )
            _ok(r, 201)
            control = _diff(after[t.county], await snapshot(c, own[t.county], households[t.county]))
            duplicates = _ok(await c.get(f"{API}/households/duplicates", headers=w.headers(w.principals["province"])))
    elapsed = time.monotonic() - t0

    reached = sum(n for label, cnt in statuses.items() for o, n in cnt.items() if "role_forbidden" not in o)
    lines = [
        f"write matrix: {len(tried)} write paths x {len(callers)} callers"
        f" ({', '.join(ROLES)} of {' and '.join(COUNTIES)})",
        f"requests: {sum(tried.values())} sent, {reached} reached a service (the rest: 403 role_forbidden)",
        f"records re-read per county: {', '.join(f'{k}: {len(v)}' for k, v in before.items())}",
        f"cross-jurisdiction changes: {sum(len(v) for v in changed.values())}",
        f"duplicates recorded for the province: {len(duplicates['items'])}",
        f"elapsed {elapsed:.0f} s",
        "",
        *(f"{label}: {dict(cnt)}" for label, cnt in statuses.items()),
    ]
    summary = "\n".join(lines)
    print(summary)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "jurisdiction_write_matrix.txt").write_text(summary + "\n\n" + "\n".join(failures) + "\n")
    (OUT_DIR / "jurisdiction_write_matrix.json").write_text(
        json.dumps({label: dict(cnt) for label, cnt in statuses.items()}, indent=1, ensure_ascii=False)
    )
    assert not failures, "\n".join(failures[:40])
    assert changed == {county: [] for county in COUNTIES}, changed
    assert control, "the control write did not show: the snapshot sees nothing"
    assert len(tried) >= 16
    # decisions exist only where a subsidy policy is in force (341221): 341222's callers try those
    assert all(n == len(callers) or label.startswith("decision: ") for label, n in tried.items()), tried
    assert all(n == len(ROLES) for label, n in tried.items() if label.startswith("decision: ") and label != DECIDE)
