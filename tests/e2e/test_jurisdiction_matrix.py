"""The jurisdiction matrix (DESIGN.md "Authentication and scope"): every role × every route of the
gateway's merged OpenAPI × objects inside and outside the caller's scope, over the running system.

For each (principal, route) the test sends, in this order: the route with the id of an object the
caller may not see ("out": the nearest one — the `…201` village next to `…200`, another
department's measure — and one in another province), with an id that exists nowhere ("ghost"),
and with an object or region inside the caller's scope ("in"). It asserts:

- a role the permission table (gateway/permissions.py) does not list → 403 `role_forbidden`;
- an out-of-scope object answers exactly like the ghost (404, same `code`) and never 2xx;
- a create or list aimed at a region or household outside the caller's is never 2xx with data
  (an import takes the row as a row error; a signal batch refuses the item);
- no response — of any status — names an object the caller may not see (ids it did not send);
- nothing answers 5xx; officers reading an in-scope object by id get 200 (the matrix is not
  vacuous).

The role × route counts are printed and kept in bench/out/jurisdiction_matrix.{txt,json}."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway import permissions
from shared.auth import PRINCIPAL_HEADER, PRINCIPAL_SIGNATURE_HEADER, sign_principal
from shared.auth import Principal as AuthPrincipal
from shared.cli.demo import demo_system
from shared.errors import DomainError
from shared.identifiers import region_within
from tests.e2e.jurisdiction_world import TODAY, VILLAGES, Obj, Principal, World, application_body, build_world
from tests.e2e.pii_scan import find_in_text

pytestmark = [pytest.mark.sqlite_only, pytest.mark.slow, pytest.mark.timeout(600)]

OUT_DIR = Path(__file__).resolve().parents[2] / "bench" / "out"
API = "/api/v1"
PARAM_KIND = {
    "application_id": "application",
    "case_id": "case",
    "contact_id": "contact",
    "delivery_id": "delivery",
    "record_id": "employment_record",
    "item_id": "inbox",
    "job_id": "job",
    "measure_id": "measure",
    "plan_id": "plan",
    "sub_id": "subscription",
    "decision_id": "decision",
    "key_id": "apikey",
}
OFFICERS = {"province", "county", "township", "village", "admin"}
#: The caller's own settings: nothing in them points at a region or household.
PERSONAL = {("PUT", "/inbox/sms")}


@dataclass
class Call:
    principal: Principal
    method: str
    template: str
    variant: str  # out | ghost | in
    path: str
    params: dict[str, str]
    body: Any
    sent_ids: frozenset[str]
    target: Obj | None = None


@dataclass
class Ctx:
    """What a body builder may use: the object in the path, and a village / household / region
    on the side of the scope line the variant asks for."""

    w: World
    p: Principal
    obj: Obj | None
    village: str
    region: str
    household: str
    contact: str
    person_ref: str


def own_village(p: Principal) -> str:
    return next(v for v in VILLAGES if region_within(v, p.region or "34"))


def out_village(p: Principal) -> str | None:
    if p.role == "admin":
        return None
    if len(p.region) == 12:
        return p.region[:9] + ("201" if p.region.endswith("200") else "200")
    return next(v for v in VILLAGES if not region_within(v, p.region) and v[:6] in ("341221", "341222", "510112"))


def out_region(p: Principal) -> str | None:
    v = out_village(p)
    return None if v is None else v[: max(len(p.region), 2)]


def _first(w: World, kind: str, pred: Callable[[Obj], bool]) -> Obj | None:
    return next((o for o in w.objects if o.kind == kind and pred(o)), None)


def ctx_for(w: World, p: Principal, obj: Obj | None, *, inside: bool) -> Ctx | None:
    village = own_village(p) if inside else out_village(p)
    if village is None:
        return None
    if p.role == "citizen" and inside:
        hh = _first(w, "household", lambda o: p.name in o.owners)
    else:
        hh = _first(w, "household", lambda o: o.region == village and not o.owners)
    contact = _first(w, "contact", lambda o: o.region == ((obj.region if obj else None) or village))
    rec = _first(w, "employment_record", lambda o: o.region == village)
    return Ctx(
        w,
        p,
        obj,
        village,
        (p.region or "34") if inside else (out_region(p) or ""),
        hh.id if hh else str(uuid.uuid4()),
        contact.id if contact else str(uuid.uuid4()),
        rec.extra["person_ref"] if rec else "p-none",
    )


def _household(c: Ctx) -> dict[str, Any]:
    return application_body(c.w.spare(c.village))


#: Request bodies that pass validation, so that the scope check — not a 422 — answers.
BODIES: dict[tuple[str, str], Callable[[Ctx], Any]] = {
    ("POST", "/assessments"): lambda c: {
        "region_code": c.village,
        "as_of": "2024-06-30",
        "household": _household(c)["household"],
    },
    ("POST", "/applications"): _household,
    ("POST", "/cases/{case_id}/transitions"): lambda c: {"action": "advance", "note": "matrix"},
    ("POST", "/contacts"): lambda c: {"region_code": c.village, "name": "赵六", "phone": "13812345678"},
    ("POST", "/employment/placements"): lambda c: {
        "person_ref": c.person_ref,
        "employer": "某厂",
        "contract_months": 12,
        "social_insurance": True,
        "work_location": "in_county",
        "stable_months": 6,
        "age": 30,
        "placed_on": "2024-03-01",
    },
    ("POST", "/employment/post-wages"): lambda c: {
        "person_ref": c.person_ref,
        "year": 2023,
        "annual_wage": "4800",
        "post": "保洁",
    },
    ("POST", "/employment/records"): lambda c: {
        "person_ref": f"mx-{uuid.uuid4().hex[:8]}",
        "household_id": c.household,
    },
    ("POST", "/employment/records/{record_id}/services"): lambda c: {"kind": "guidance", "provided_on": "2024-03-01"},
    ("POST", "/households/import"): lambda c: [{**_household(c)["household"], **_import_keys(c)}],
    ("POST", "/households/duplicates/{duplicate_id}/resolve"): lambda c: {"action": "keep", "note": "matrix"},
    ("PUT", "/inbox/sms"): lambda c: {"phone": "13812345678"},
    ("PATCH", "/measures/{measure_id}"): lambda c: {"reason": "matrix", "description": "matrix"},
    ("POST", "/measures/{measure_id}/transitions"): lambda c: {"action": "accept", "note": "matrix"},
    ("POST", "/plans/{plan_id}/contact"): lambda c: {"contact_id": c.contact, "reason": "matrix"},
    ("POST", "/plans/{plan_id}/measures"): lambda c: {"type": "education", "reason": "matrix"},
    ("POST", "/screenings"): lambda c: {"region": c.region or c.village, "as_of": "2024-06-30"},
    ("POST", "/signals/leads/{lead_id}/resolve"): lambda c: {"action": "dismiss", "reason": "matrix"},
    ("POST", "/signals"): lambda c: [
        {
            "source_dept": c.p.dept or "health",
            "signal_id": f"mx-{uuid.uuid4().hex}",
            "kind": "income_drop",
            "household_id": c.household,
            "region_code": c.village,
            "observed_at": f"{TODAY.isoformat()}T08:00:00+08:00",
            "payload": {},
        }
    ],
    ("POST", "/subscriptions"): lambda c: {
        "url": "http://127.0.0.1:9/hook",
        "event_types": ["risk.*"],
        "region": c.region or c.village,
    },
    ("POST", "/subsidies/calculate"): lambda c: _calc(c),
    ("POST", "/subsidies/calculate:batch"): lambda c: [_calc(c)],
    ("POST", "/subsidies/decisions"): lambda c: {**_calc(c), "household_id": c.household},
    ("POST", "/subsidies/decisions/{decision_id}/approve"): lambda c: {"note": "matrix"},
    ("POST", "/subsidies/decisions/{decision_id}/pay"): lambda c: {"note": "matrix"},
    ("POST", "/subsidies/decisions/{decision_id}/reject"): lambda c: {"reason": "matrix"},
    ("POST", "/visits"): lambda c: {"household_id": c.household, "visited_on": TODAY.isoformat(), "findings": "m"},
    ("POST", "/admin/policies"): lambda c: {
        "service": "identification",
        "region_prefix": c.region or c.village[:6],
        "effective_from": "2031-01-01",
        "parameters": {"monitoring_line": {"value": "6000", "source": "matrix"}},
        "source": "matrix",
    },
    ("POST", "/admin/api-keys"): lambda c: {"name": "matrix", "role": "county", "region": c.village[:6]},
    ("POST", "/households/search"): lambda c: {"id_number": _head_id_number(c)},
    ("POST", "/social-assistance/relief"): lambda c: {
        "region_code": c.village,
        "household_id": c.household,
        "reason": "illness",
        "amount": "500.00",
    },
    ("POST", "/social-assistance/relief/{request_id}/actions"): lambda c: {"action": "reject", "reason": "matrix"},
    ("POST", "/employment/records/{record_id}/services/{service_id}/outcome"): lambda c: {"outcome": "no_answer"},
    ("POST", "/national-sync/runs"): lambda c: {"region": c.village[:6]},
}


def _head_id_number(c: Ctx) -> str:
    """The head of a household of the variant's village (out: a household the caller may not see)."""
    hh = _first(c.w, "household", lambda o: o.region == c.village and "id_number" in o.extra)
    return str(hh.extra["id_number"]) if hh else "34122119800101001X"


def _calc(c: Ctx) -> dict[str, Any]:
    return {
        "kind": "public_welfare_post",
        "region_code": c.village,
        "as_of": "2020-06-30",
        "inputs": {"annual_wage": "7200", "person_id": f"mx-{uuid.uuid4().hex[:8]}"},
    }


def _import_keys(c: Ctx) -> dict[str, Any]:
    return {"region_code": c.village, "household_number": f"{c.village}-mx{uuid.uuid4().hex[:6]}"}


QUERY_VALUES: dict[str, Callable[[Ctx], str | None]] = {
    "region": lambda c: c.region or None,
    "village": lambda c: c.village,
    "household_id": lambda c: c.household,
    "contact": lambda c: c.contact,
    "subject": lambda c: c.household,
}


def build_calls(w: World, spec: dict[str, Any]) -> tuple[list[Call], list[str]]:
    calls: list[Call] = []
    no_body: list[str] = []
    for template_full, ops in sorted(spec["paths"].items()):
        template = template_full[len(API) :]
        for method_l, op in ops.items():
            method = method_l.upper()
            params = [x for x in op.get("parameters", []) if x["in"] == "path"]
            queries = [x["name"] for x in op.get("parameters", []) if x["in"] == "query" and x["name"] in QUERY_VALUES]
            has_body = "requestBody" in op
            if has_body and (method, template) not in BODIES:
                no_body.append(f"{method} {template}")
            for p in w.principals.values():
                variants: list[tuple[str, Obj | None, bool]] = []
                if params:
                    kind = PARAM_KIND.get(params[0]["name"], "unknown")
                    hidden = [o for o in w.objects if o.kind == kind and not w.visible(p, o)]
                    hidden.sort(key=lambda o: -len(_common(o.region, p.region)))
                    outs = hidden[:1] + [o for o in hidden[1:] if o.region.startswith("51")][:1]
                    variants += [("out", o, False) for o in outs]
                    variants.append(("ghost", None, False))
                    seen = [o for o in w.objects if o.kind == kind and w.visible(p, o)]
                    seen.sort(key=lambda o: (o.region != (p.region or o.region), o.region))
                    variants += [("in", o, True) for o in seen[:1]]
                else:
                    if queries or (has_body and (method, template) not in PERSONAL):
                        variants.append(("out", None, False))
                    variants.append(("in", None, True))
                for variant, obj, inside in variants:
                    c = ctx_for(w, p, obj, inside=inside)
                    if c is None:
                        continue
                    path = template
                    for prm in params:
                        path = path.replace("{" + prm["name"] + "}", obj.id if obj else str(uuid.uuid4()))
                    qp = {q: v for q in queries if (v := QUERY_VALUES[q](c)) is not None}
                    if variant == "out" and not params and not qp and not has_body:
                        continue
                    body = BODIES[(method, template)](c) if (method, template) in BODIES else ({} if has_body else None)
                    sent = json.dumps([path, qp, body], default=str)
                    ids = frozenset(o.id for o in w.objects if o.id in sent)
                    calls.append(Call(p, method, template, variant, path, qp, body, ids, obj))
    return calls, no_body


def _common(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def table_allows(p: Principal, method: str, path: str) -> bool:
    try:
        rule = permissions.match(method, path)
        permissions.check(rule, p.role, path, "")
    except DomainError:
        return False
    return True


async def send(c: httpx.AsyncClient, w: World, call: Call) -> httpx.Response:
    headers = w.headers(call.principal)
    if call.method in ("POST", "PUT", "PATCH"):
        headers["Idempotency-Key"] = f"mx-{uuid.uuid4().hex}"
    # The whole system runs in this test's event loop; on a loaded CI machine a connection can
    # wait past its timeout before the loop gets to it. A connect that failed sent nothing, so it
    # is safe to try again (a write carries its Idempotency-Key besides).
    for attempt in range(3):
        try:
            return await c.request(
                call.method,
                API + call.path,
                params=call.params,
                json=call.body if call.body is not None else None,
                headers=headers,
            )
        except (httpx.ConnectTimeout, httpx.ConnectError):
            if attempt == 2:
                raise
            await asyncio.sleep(1.0)
    raise AssertionError("unreachable")


def problem_code(r: httpx.Response) -> str | None:
    try:
        body = r.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


UUIDISH = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def test_jurisdiction_matrix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FANGFAN_RATE_SELF_APPLICATION", "off")
    monkeypatch.setenv("FANGFAN_RATE_PRINCIPAL", "off")
    monkeypatch.setenv("FANGFAN_RATE_IP", "off")
    t0 = time.monotonic()
    async with demo_system(tmp_path) as system:
        w = await build_world(system)
        t_world = time.monotonic() - t0
        async with httpx.AsyncClient(base_url=system.gateway_url, timeout=httpx.Timeout(120.0)) as c:
            admin = w.headers(w.principals["admin"])
            key = (
                await c.post(
                    f"{API}/admin/api-keys", json={"name": "mx", "role": "county", "region": "341221"}, headers=admin
                )
            ).json()
            w.objects.append(Obj("apikey", key["id"], "", owners=frozenset({"admin"})))
            spec = (await c.get("/openapi.json", params={"refresh": "true"})).json()
            assert set(spec["info"]["x-fangfan-services"]) == {
                "assistance",
                "civil_affairs",
                "identification",
                "notification",
                "subsidy",
            }
            calls, no_body = build_calls(w, spec)
            results: dict[int, httpx.Response] = {}
            sem = asyncio.Semaphore(8)

            async def run(i: int, call: Call) -> None:
                async with sem:
                    results[i] = await send(c, w, call)

            # out-of-scope and ghost requests first, so that in-scope writes cannot mask them
            for phase in (("out", "ghost"), ("in",)):
                await asyncio.gather(*(run(i, k) for i, k in enumerate(calls) if k.variant in phase))
            # imports aimed outside: the job must have refused the row
            for i, k in enumerate(calls):
                r = results[i]
                if k.template == "/households/import" and r.status_code == 202:
                    job = await _job(c, r.json()["id"], w.headers(k.principal))
                    results[i] = _with_job(r, job)
            await check_forged_principal_and_other_province(c, w)
    elapsed = time.monotonic() - t0

    failures: list[str] = []
    ghost_of: dict[tuple[str, str, str], httpx.Response] = {}
    for i, k in enumerate(calls):
        if k.variant == "ghost":
            ghost_of[(k.principal.name, k.method, k.template)] = results[i]
    matrix: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for i, k in enumerate(calls):
        r = results[i]
        s = r.status_code
        where = f"{k.principal.name} {k.method} {k.path} {k.params} [{k.variant}] → {s} {r.text[:300]}"
        bucket = "2xx" if s < 300 else str(s) if s in (403, 404) else "other"
        matrix[(k.principal.name, f"{k.method} {k.template}")][bucket] += 1
        if s >= 500:
            failures.append(f"5xx: {where}")
            continue
        allowed = table_allows(k.principal, k.method, k.path)
        if not allowed:
            if s != 403 or problem_code(r) != "role_forbidden":
                failures.append(f"table says 403: {where}")
            continue
        if s == 403 and problem_code(r) == "role_forbidden":
            failures.append(f"table allows, gateway refused: {where}")
        # nothing the caller may not see, in any answer (ids it sent itself excepted)
        hidden = {o.id for o in w.objects if not w.visible(k.principal, o)} - k.sent_ids
        leaked = sorted(hidden & set(UUIDISH.findall(r.text)))
        if leaked:
            failures.append(f"LEAK {[(o.kind, o.region) for o in w.objects if o.id in leaked]}: {where}")
        # resident ID numbers only masked (the matrix never asks to reveal): a clear one may only be
        # one the caller sent itself, or a citizen's own
        own = {f.masked for f in find_in_text(json.dumps([k.params, k.body, k.principal.sub], default=str))}
        clear = {f.masked for f in find_in_text(r.text) if f.kind == "id_number"} - own
        if clear:
            failures.append(f"ID NUMBER IN CLEAR {sorted(clear)}: {where}")
        if k.variant == "out" and k.target is not None:
            g = ghost_of[(k.principal.name, k.method, k.template)]
            if s < 300 or (s, problem_code(r)) != (g.status_code, problem_code(g)):
                failures.append(f"out-of-scope differs from nonexistent ({g.status_code} {problem_code(g)}): {where}")
        elif k.variant == "out":
            failures += _out_of_scope_create(k, r, where)
        elif k.variant == "in" and k.method == "GET" and k.target and k.principal.role in OFFICERS and s != 200:
            failures.append(f"officer cannot read an in-scope object: {where}")

    summary = _summary(w, calls, matrix, no_body, t_world, elapsed)
    print(summary)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "jurisdiction_matrix.txt").write_text(summary + "\n\n" + "\n".join(failures) + "\n")
    (OUT_DIR / "jurisdiction_matrix.json").write_text(
        json.dumps({f"{p} {route}": dict(cnt) for (p, route), cnt in sorted(matrix.items())}, indent=1)
    )
    assert not failures, "\n".join(failures[:60])


READ_BY_ID = {
    "application": "/applications/{}",
    "case": "/cases/{}",
    "plan": "/plans/{}",
    "measure": "/measures/{}",
    "contact": "/contacts/{}",
    "employment_record": "/employment/records/{}",
    "job": "/jobs/{}",
    "subscription": "/subscriptions/{}",
    "decision": "/subsidies/decisions/{}",
}


async def check_forged_principal_and_other_province(c: httpx.AsyncClient, w: World) -> None:
    """JWT negatives through the full system: a principal header sent straight to a service port
    (bypassing the gateway) is 401 — signed with a wrong key, with a made-up signature, or not at
    all; through the gateway a client-sent principal is dropped; a valid province-34 token reads
    nothing of county 510112 (Sichuan), by id or by list."""
    forger = AuthPrincipal(sub="forger", role="admin", region="")
    raw, wrong_sig = sign_principal(forger, "not-the-internal-secret")
    forged = [
        {PRINCIPAL_HEADER: raw, PRINCIPAL_SIGNATURE_HEADER: wrong_sig},
        {PRINCIPAL_HEADER: raw, PRINCIPAL_SIGNATURE_HEADER: "0" * 64},
        {PRINCIPAL_HEADER: raw},
    ]
    case = next(o for o in w.of("case") if o.region.startswith("51"))
    plan = next(o for o in w.of("plan") if o.region.startswith("51"))
    for service, path in (
        ("IDENTIFICATION", f"/cases/{case.id}"),
        ("ASSISTANCE", f"/plans/{plan.id}"),
        ("SUBSIDY", "/subsidies/decisions"),
        ("NOTIFICATION", "/subscriptions"),
    ):
        for headers in forged:
            r = await c.get(os.environ[f"FANGFAN_{service}_URL"] + API + path, headers=headers)
            assert r.status_code == 401, (service, list(headers), r.status_code, r.text[:300])
        # through the gateway the client's principal header is dropped: the token decides
        r = await c.get(API + path, headers={**forged[0], **w.headers(w.principals["village201"])})
        if case.id in path or plan.id in path:
            assert r.status_code == 404, (service, r.status_code, r.text[:300])
        else:
            assert r.status_code in (200, 403), (service, r.status_code, r.text[:300])
            assert not {o.id for o in w.objects if o.region.startswith("51")} & set(UUIDISH.findall(r.text))
    province = w.headers(w.principals["province"])
    read = 0
    for o in w.objects:
        if o.region.startswith("51") and o.kind in READ_BY_ID:
            r = await c.get(API + READ_BY_ID[o.kind].format(o.id), headers=province)
            assert r.status_code == 404, (o.kind, r.status_code, r.text[:300])
            read += 1
    assert read >= 10
    household = next(o.id for o in w.of("household") if o.region.startswith("51"))
    for path, params in (
        ("/plans", {"region": "510112"}),
        ("/cases", {"region": "510112"}),
        ("/signals/leads", {"region": "510112"}),
        ("/plans", {"household_id": household}),
    ):
        r = await c.get(API + path, params=params, headers=province)
        assert r.status_code == 404 or not r.json().get("items"), (path, params, r.status_code, r.text[:300])


def _out_of_scope_create(k: Call, r: httpx.Response, where: str) -> list[str]:
    """A list, create or calculation aimed at a region/household outside the caller's."""
    s = r.status_code
    if s >= 300:
        return []
    if k.template == "/households/import":
        job = r.json().get("job") or {}
        ok = (job.get("result") or {}).get("inserted", 0) == 0 and job.get("rows_failed", 0) == 1
        return [] if ok else [f"import outside the caller's region was not refused: {where}"]
    if k.template == "/signals":
        outcomes = {x.get("outcome") for x in r.json().get("items", r.json().get("results", []))}
        return [] if outcomes <= {"refused"} else [f"signal outside the caller's region was not refused: {where}"]
    if k.template == "/subsidies/calculate:batch":
        items = r.json()
        ok = all((x.get("error") or {}).get("status") == 404 for x in items)
        return [] if ok else [f"batch item outside the caller's region was calculated: {where}"]
    if k.template == "/households/search":  # a look-up (POST: the ID number stays out of the URL)
        return [] if r.json().get("items") == [] else [f"search found a household outside the scope: {where}"]
    if k.method == "GET":
        return []  # a list: the leak check above decides
    return [f"created/calculated outside the caller's scope: {where}"]


async def _job(c: httpx.AsyncClient, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    for _ in range(100):
        job = (await c.get(f"{API}/jobs/{job_id}", headers=headers)).json()
        if job.get("status") in ("completed", "failed"):
            return dict(job)
        await asyncio.sleep(0.1)
    return dict(job)


def _with_job(r: httpx.Response, job: dict[str, Any]) -> httpx.Response:
    return httpx.Response(r.status_code, json={"job": job}, request=r.request)


def _summary(
    w: World,
    calls: list[Call],
    matrix: dict[tuple[str, str], Counter[str]],
    no_body: list[str],
    t_world: float,
    elapsed: float,
) -> str:
    routes = sorted({route for _, route in matrix})
    names = list(w.principals)
    width = max(len(r) for r in routes)
    lines = [
        f"jurisdiction matrix: {len(names)} principals × {len(routes)} routes, {len(calls)} requests "
        f"({Counter(k.variant for k in calls)}); objects {dict(Counter(o.kind for o in w.objects))}; "
        f"world {t_world:.0f} s, total {elapsed:.0f} s",
        "cell = 2xx/403/404/other",
        " " * width + " " + " ".join(f"{n[:10]:>11}" for n in names),
    ]
    for route in routes:
        cells = []
        for n in names:
            cnt = matrix.get((n, route), Counter())
            cells.append(f"{cnt['2xx']}/{cnt['403']}/{cnt['404']}/{cnt['other']}".rjust(11))
        lines.append(f"{route:<{width}} " + " ".join(cells))
    if no_body:
        lines.append("routes without a body builder (sent {}): " + ", ".join(no_body))
    return "\n".join(lines)
