"""A populated fangfan for the jurisdiction matrix and the fuzzing run: four counties (three in
Anhui, one in Sichuan) × three townships × villages (one ending in `200` next to `201`), with
objects in every service, all made through the gateway, and the principals that look at them."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.cli.demo import DemoSystem
from shared.cli.generate import generate_households
from shared.identifiers import region_within

__all__ = ["COUNTIES", "VILLAGES", "Obj", "Principal", "World", "build_world", "household_body"]

COUNTIES = ("341221", "341222", "341225", "510112")
#: Township 001 holds the `…200` village next to `…201` (stripping zeros from 341221001200
#: would give the prefix 3412210012, which matches 341221001201); 002 and 003 one village each.
VILLAGES = tuple(f"{c}{t}" for c in COUNTIES for t in ("001200", "001201", "002201", "003201"))
HOUSEHOLDS_PER_VILLAGE = 3
TODAY = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()


@dataclass
class Obj:
    """One object the world holds: its kind, id, region (a village, or a county for jobs and
    subscriptions), and who else may see it (`owners`: citizens' names; `dept` for measures and
    subscriptions)."""

    kind: str
    id: str
    region: str
    dept: str | None = None
    owners: frozenset[str] = frozenset()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    region: str
    sub: str | None = None
    dept: str | None = None


@dataclass
class World:
    system: DemoSystem
    objects: list[Obj] = field(default_factory=list)
    principals: dict[str, Principal] = field(default_factory=dict)
    spare_rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def headers(self, p: Principal) -> dict[str, str]:
        return self.system.token(p.role, p.region, sub=p.sub or f"mx-{p.name}", dept=p.dept)

    def of(self, kind: str) -> Iterator[Obj]:
        return (o for o in self.objects if o.kind == kind)

    def visible(self, p: Principal, o: Obj) -> bool:
        """What DESIGN.md's scope rules let `p` see."""
        if o.kind == "inbox":
            return p.name in o.owners
        if p.role == "citizen":
            return p.name in o.owners
        if p.role == "admin":
            return True
        if not region_within(o.region, p.region):
            return False
        if p.role == "department" and o.kind in ("measure", "subscription"):
            return o.dept == p.dept
        return True

    def spare(self, village: str) -> dict[str, Any]:
        """A household never imported, in `village` (for applications that create households)."""
        row = dict(self.spare_rows[village[:6]].pop())
        row["region_code"] = village
        row["household_number"] = f"{village}-mx{uuid.uuid4().hex[:8]}"
        return row


def household_body(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("members", "escaped_poverty", "income", "expenses", "last_year_income", "assets", "dibao_status")
    return {k: row[k] for k in keys if k in row}


def application_body(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "region_code": row["region_code"],
        "household": household_body(row),
        "reason": "收入骤减",
        "risk_types": ["illness"],
        "consent": {"commitment": True, "asset_query_authorized": True},
        "household_number": row["household_number"],
    }


def _income(row: dict[str, Any]) -> float:
    return sum(float(v) for v in row["income"].values()) / len(row["members"])


async def _ok(r: httpx.Response, *codes: int) -> dict[str, Any]:
    assert r.status_code in (codes or (200, 201, 202)), (r.request.method, r.request.url, r.status_code, r.text[:600])
    body = r.json() if r.content else {}
    return body if isinstance(body, dict) else {"items": body}


async def _poll(fn: Any, *, what: str, tries: int = 300) -> Any:
    for _ in range(tries):
        got = await fn()
        if got:
            return got
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def build_world(system: DemoSystem) -> World:
    w = World(system)
    rows_by_village: dict[str, list[dict[str, Any]]] = {}
    for i, county in enumerate(COUNTIES):
        rows = list(generate_households(200, county, seed=100 + i))
        w.spare_rows[county] = rows[4 * HOUSEHOLDS_PER_VILLAGE :]
        for j, village in enumerate(v for v in VILLAGES if v.startswith(county)):
            chunk = rows[j * HOUSEHOLDS_PER_VILLAGE : (j + 1) * HOUSEHOLDS_PER_VILLAGE]
            for k, row in enumerate(chunk):
                row["region_code"] = village
                row["household_number"] = f"{village}-{k:04d}"
            rows_by_village[village] = chunk

    P = Principal
    w.principals = {
        p.name: p
        for p in (
            P("admin", "admin", ""),
            P("province", "province", "34"),
            P("county", "county", "341221"),
            P("county2", "county", "341222"),
            P("township", "township", "341221001"),
            P("village200", "village", "341221001200"),
            P("village201", "village", "341221001201"),
            P("contact", "contact", "341221001200"),
            P("department", "department", "341221", dept="medical_insurance"),
            P("citizen", "citizen", "341221001200", sub=rows_by_village["341221001200"][0]["members"][0]["id_number"]),
            P("citizen2", "citizen", "341221001200", sub=rows_by_village["341221001200"][1]["members"][0]["id_number"]),
        )
    }
    admin = w.headers(w.principals["admin"])

    def officer(role: str, region: str) -> dict[str, str]:
        return system.token(role, region, sub=f"mx-{role}-{region}")

    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=120) as c:
        # households, by import (one job per county, on the county's authority)
        for county in COUNTIES:
            ndjson = "\n".join(
                json.dumps(r, ensure_ascii=False) for v in VILLAGES if v.startswith(county) for r in rows_by_village[v]
            )
            r = await c.post(
                "/api/v1/households/import",
                content=ndjson.encode(),
                headers={**officer("county", county), "Content-Type": "application/x-ndjson"},
            )
            job = await _ok(r, 202)
            w.objects.append(Obj("job", job["id"], county))

            async def done(job_id: str = job["id"], county: str = county) -> dict[str, Any] | None:
                body = (await c.get(f"/api/v1/jobs/{job_id}", headers=officer("county", county))).json()
                return body if body.get("status") in ("completed", "failed") else None

            finished = await _poll(done, what=f"import {county}")
            assert finished["rows_failed"] == 0, finished

        # contact persons, one per village (before plans, so plans get one)
        for village in VILLAGES:
            body = {"region_code": village, "name": "王小明", "phone": "13812345678", "unit": "驻村工作队"}
            got = await _ok(await c.post("/api/v1/contacts", json=body, headers=officer("county", village[:6])), 201)
            w.objects.append(Obj("contact", got["id"], village))

        # officer-started cases, the poorest household of every village, walked to monitored
        cases: dict[str, dict[str, Any]] = {}
        for village in VILLAGES:
            row = min(rows_by_village[village][2:], key=_income)
            r = await c.post(
                "/api/v1/applications",
                json=application_body(row),
                headers={**officer("village", village), "Idempotency-Key": f"mx-{village}"},
            )
            app = await _ok(r, 201)
            cases[village] = app
            w.objects += [
                Obj("application", app["id"], village),
                Obj("case", app["case_id"], village),
                # the head's ID number: for POST /households/search (never sent in a URL)
                Obj("household", app["household_id"], village, extra={"id_number": row["members"][0]["id_number"]}),
            ]
        # two citizens of 341221001200 apply for their own households
        for name, idx in (("citizen", 0), ("citizen2", 1)):
            row = rows_by_village["341221001200"][idx]
            p = w.principals[name]
            r = await c.post(
                "/api/v1/applications",
                json=application_body(row),
                headers={**w.headers(p), "Idempotency-Key": f"mx-{name}"},
            )
            app = await _ok(r, 201)
            owners = frozenset({name})
            w.objects += [
                Obj("application", app["id"], "341221001200", owners=owners),
                Obj("case", app["case_id"], "341221001200", owners=owners),
                Obj("household", app["household_id"], "341221001200", owners=owners),
            ]

        async def step(case_id: str, who: dict[str, str], action: dict[str, Any]) -> None:
            await _ok(await c.post(f"/api/v1/cases/{case_id}/transitions", json=action, headers=who))

        for village, app in cases.items():
            v = officer("village", village)
            await step(app["case_id"], v, {"action": "advance"})
            await step(app["case_id"], v, {"action": "advance", "investigators": ["王", "李"], "note": "属实"})
            await step(app["case_id"], v, {"action": "advance", "note": "评议通过"})
        system.clock.advance(8)
        for village, app in cases.items():
            await step(app["case_id"], officer("village", village), {"action": "advance", "note": "无异议"})
            await step(app["case_id"], officer("township", village[:9]), {"action": "advance", "note": "同意"})
            county = officer("county", village[:6])
            read = (await c.get(f"/api/v1/cases/{app['case_id']}", headers=county)).json()
            for exclusion in read.get("exclusions", []):  # on the negative list: the assembly decided
                override = {
                    "action": "override_exclusion",
                    "exclusion_code": exclusion["code"],
                    "reason": "村民代表会议评议通过",
                    "assembly_decision": {"date": TODAY.isoformat(), "minutes_ref": "matrix"},
                }
                await step(app["case_id"], county, override)
            await step(app["case_id"], county, {"action": "advance", "note": "同意"})

        # plans (assistance, from household.identified), their measures, visits, employment records
        async def plans() -> list[dict[str, Any]] | None:
            got = (await c.get("/api/v1/plans", params={"limit": 500}, headers=admin)).json()["items"]
            return got if len(got) >= len(VILLAGES) else None

        for plan in await _poll(plans, what="plans from household.identified"):
            village = plan["region_code"]
            w.objects.append(Obj("plan", plan["id"], village, extra={"household_id": plan["household_id"]}))
            for m in plan["measures"]:
                w.objects.append(Obj("measure", m["id"], village, dept=m["department"]))
            v = officer("village", village)
            body = {"household_id": plan["household_id"], "visited_on": TODAY.isoformat(), "findings": "在家"}
            visit = await _ok(await c.post("/api/v1/visits", json=body, headers=v), 201)
            w.objects.append(Obj("visit", visit["id"], village))
            body = {"person_ref": f"p-{village}", "household_id": plan["household_id"]}
            rec = await _ok(await c.post("/api/v1/employment/records", json=body, headers=v), 200, 201)
            w.objects.append(Obj("employment_record", rec["id"], village, extra={"person_ref": f"p-{village}"}))
        if not any(o.dept == "medical_insurance" for o in w.of("measure")):
            depts = sorted({o.dept for o in w.of("measure") if o.region.startswith("341221") and o.dept})
            w.principals["department"] = Principal("department", "department", "341221", dept=depts[0])

        # signals: an unknown ID number in every village becomes a lead there
        for county in COUNTIES:
            dept = system.token("department", county, sub=f"mx-dept-{county}", dept="health")
            batch = [
                {
                    "source_dept": "health",
                    "signal_id": f"mx-{village}",
                    "kind": "hospital_stay",
                    "id_number": w.spare(village)["members"][0]["id_number"],
                    "region_code": village,
                    "observed_at": f"{TODAY.isoformat()}T08:00:00+08:00",
                    "payload": {"self_paid": 500},
                }
                for village in VILLAGES
                if village.startswith(county)
            ]
            await _ok(await c.post("/api/v1/signals", json=batch, headers=dept))
        for county in COUNTIES:
            got = await _ok(await c.get("/api/v1/signals/leads", params={"region": county}, headers=admin))
            for lead in got.get("items", []):
                w.objects.append(Obj("lead", lead["id"], lead["region_code"]))

        # subsidy decisions, one per village (where a policy is in force)
        for village in VILLAGES:
            hh = next(o.id for o in w.of("household") if o.region == village and not o.owners)
            body = {
                "kind": "public_welfare_post",
                "region_code": village,
                "as_of": "2020-06-30",
                "inputs": {"annual_wage": "7200", "person_id": f"p-{village}"},
                "household_id": hh,
            }
            r = await c.post(
                "/api/v1/subsidies/decisions",
                json=body,
                headers={**officer("county", village[:6]), "Idempotency-Key": f"mx-{village}"},
            )
            if r.json().get("code") in ("policy_not_found", "policy_parameter_missing"):
                continue
            got = await _ok(r, 201)
            w.objects.append(Obj("decision", got["id"], village))

        # subscriptions: two departments of 341221, county 341222, and Sichuan's county
        for role, region, dept in (
            ("department", "341221", w.principals["department"].dept),
            ("department", "341221", "civil_affairs"),
            ("county", "341222", None),
            ("county", "510112", None),
        ):
            body = {"url": "http://127.0.0.1:9/hook", "event_types": ["risk.*"], "region": region}
            hdrs = system.token(role, region, sub=f"mx-{role}-{region}-{dept}", dept=dept)
            got = await _ok(await c.post("/api/v1/subscriptions", json=body, headers=hdrs), 201)
            w.objects.append(Obj("subscription", got["id"], region, dept=dept))

        # inbox items of the two citizens (notification fans out their applications' events)
        for name in ("citizen", "citizen2"):
            hdrs = w.headers(w.principals[name])

            async def inbox(hdrs: dict[str, str] = hdrs) -> list[dict[str, Any]] | None:
                r = await c.get("/api/v1/inbox", headers=hdrs)
                return r.json().get("items") if r.status_code == 200 else None

            try:
                items = await _poll(inbox, what="inbox", tries=50)
            except AssertionError:
                items = []
            for item in items:
                w.objects.append(Obj("inbox", item["id"], "341221001200", owners=frozenset({name})))

        # deliveries (attempts to the unreachable hook), if any were made yet
        for s in list(w.of("subscription")):
            r = await c.get(f"/api/v1/subscriptions/{s.id}/deliveries", headers=admin)
            for d in (r.json().get("items", []) if r.status_code == 200 else [])[:1]:
                w.objects.append(Obj("delivery", d["id"], s.region, dept=s.dept))
    return w
