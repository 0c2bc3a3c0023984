"""`fangfan demo`: a whole fangfan in one process — a NATS server from the wheel, every service
and the gateway on loopback ports, SQLite databases under `<data dir>/demo/<time>` — and a walk
of one household from self-application to monitored, printing what each service did.

The public notice lasts days, so the demo runs the services on a demo clock that it moves
forward (and says so); nothing in the product can move a real service's clock."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import importlib
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import nats
import uvicorn

from shared.auth import make_token
from shared.cli.generate import generate_households
from shared.nats import NatsServer, free_port
from shared.settings import SERVICES, Settings, ensure_dev_secrets

CST = dt.timezone(dt.timedelta(hours=8))
COUNTY = "341221"  # Linquan, Anhui: the seeds' county


class DemoClock:
    """Wall-clock time in China plus an offset the demo moves forward."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(CST) + self.offset

    def advance(self, days: int) -> None:
        self.offset += dt.timedelta(days=days)


class DemoSystem:
    def __init__(self, root: Path, clock: DemoClock, *, gateway_port: int | None = None) -> None:
        self.root = root
        self.clock = clock
        self.gateway_port = gateway_port
        self.nats = NatsServer(root / "jetstream", log_file=root / "nats.log")
        self.servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []
        self.gateway_url = ""
        self.settings: Settings | None = None

    async def start(self) -> None:
        self.nats.start()
        secrets = ensure_dev_secrets(self.root)
        ports = {s: free_port() for s in (*SERVICES, "gateway")}
        if self.gateway_port:
            ports["gateway"] = self.gateway_port
        for s in SERVICES:
            os.environ[f"FANGFAN_{s.upper()}_URL"] = f"http://127.0.0.1:{ports[s]}"
        os.environ.setdefault("FANGFAN_WEBHOOK_ALLOWLIST", "127.0.0.1/32,::1/128")
        self.settings = Settings(
            env="development",
            data_dir=self.root,
            nats_url=self.nats.url,
            log_level="WARNING",
            webhook_allowlist="127.0.0.1/32,::1/128",
            jwt_secret=secrets["jwt_secret"],
            internal_secret=secrets["internal_secret"],
            pii_key=secrets["pii_key"],
            pii_index_key=secrets["pii_index_key"],
        )
        for name in (*SERVICES, "gateway"):
            module = "gateway.main" if name == "gateway" else f"services.{name}.main"
            app = importlib.import_module(module).create_app(self.settings)
            server = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=ports[name], log_level="warning", lifespan="on")
            )
            task = asyncio.create_task(server.serve())
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
            ctx = getattr(app.state, "ctx", None)
            if ctx is not None:
                ctx.clock = self.clock
            self.servers.append((server, task))
        self.gateway_url = f"http://127.0.0.1:{ports['gateway']}"
        async with httpx.AsyncClient() as c:
            for _ in range(200):
                r = await c.get(self.gateway_url + "/readyz")
                if r.status_code == 200:
                    return
                await asyncio.sleep(0.1)
        raise RuntimeError("the demo system did not become ready")

    async def stop(self) -> None:
        for server, _ in reversed(self.servers):
            server.should_exit = True
        for _, task in reversed(self.servers):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 30)
        self.nats.stop()

    def token(self, role: str, region: str, sub: str | None = None, dept: str | None = None) -> dict[str, str]:
        assert self.settings is not None
        t = make_token(sub=sub or f"demo-{role}-{region}", role=role, region=region, dept=dept, settings=self.settings)
        return {"Authorization": f"Bearer {t}"}


@contextlib.asynccontextmanager
async def demo_system(root: Path, *, gateway_port: int | None = None) -> AsyncIterator[DemoSystem]:
    system = DemoSystem(root, DemoClock(), gateway_port=gateway_port)
    try:
        await system.start()
        yield system
    finally:
        await system.stop()


def _say(title: str) -> None:
    print(f"\n== {title}", flush=True)


def _show(resp: httpx.Response, *keys: str) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        body = {"text": resp.text[:300]}
    shown = {k: body.get(k) for k in keys} if keys and isinstance(body, dict) else body
    print(f"   HTTP {resp.status_code} {json.dumps(shown, ensure_ascii=False, default=str)[:900]}", flush=True)
    return body if isinstance(body, dict) else {"items": body}


async def _job(c: httpx.AsyncClient, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    for _ in range(600):
        body = (await c.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
        if body.get("status") in ("succeeded", "completed", "done", "failed", "finished"):
            return dict(body)
        await asyncio.sleep(0.1)
    return dict(body)


async def walk(system: DemoSystem, *, households: int = 300, timeout: float = 120) -> dict[str, Any]:
    """The walk-through; returns what it observed (the e2e test checks it)."""
    seen: dict[str, Any] = {}
    county = system.token("county", COUNTY)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=timeout) as c:
        _say(f"1. The provincial platform uploads a synthetic county ({households} households, Linquan {COUNTY})")
        rows = list(generate_households(households, COUNTY, seed=7))
        ndjson = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()
        r = await c.post(
            "/api/v1/households/import",
            content=ndjson,
            headers={**county, "Content-Type": "application/x-ndjson", "Idempotency-Key": "demo-import"},
        )
        job = _show(r, "id", "status")
        if r.status_code < 300 and job.get("id"):
            done = await _job(c, job["id"], county)
            progress = {k: done.get(k) for k in ("rows_done", "rows_total", "errors_count")}
            print(f"   identification: import job {done.get('status')}: {json.dumps(progress, default=str)}")
            seen["imported"] = done

        _say("2. The county screens every household against Anhui's policy (monitoring line 5,000)")
        r = await c.post(
            "/api/v1/screenings", json={"region": COUNTY, "as_of": system.clock().date().isoformat()}, headers=county
        )
        job = _show(r, "id", "status")
        if r.status_code < 300 and job.get("id"):
            done = await _job(c, job["id"], county)
            result = json.dumps(done.get("result") or done.get("summary"), ensure_ascii=False, default=str)
            print(f"   identification: screening {done.get('status')}; result: {result[:600]}")
            seen["screened"] = done

        # A household below the line applies by itself through the mobile app.
        poor = min(
            rows, key=lambda h: sum(int(str(v).replace(".", "")) for v in h["income"].values()) / len(h["members"])
        )
        head = poor["members"][0]
        village = poor["region_code"]
        citizen = system.token("citizen", village, sub=head["id_number"])
        _say(f"3. A citizen in village {village} applies in the app (self-application, 农户自主申报)")
        body = {
            "region_code": village,
            "household": {
                k: poor[k]
                for k in (
                    "members",
                    "escaped_poverty",
                    "income",
                    "expenses",
                    "last_year_income",
                    "assets",
                    "dibao_status",
                )
                if k in poor
            },
            "reason": "家庭收入低，医疗支出大 (low income, high medical costs)",
            "risk_types": ["illness"],
            "consent": {"commitment": True, "asset_query_authorized": True},
            "household_number": poor["household_number"],
        }
        r = await c.post(
            "/api/v1/applications", json=body, headers={**citizen, "Idempotency-Key": "demo-application-1"}
        )
        app = _show(r, "id", "status", "case_id", "household_id", "category", "deadline")
        case_id, household_id = app.get("case_id"), app.get("household_id")
        seen["application"] = app
        if not case_id:
            print("   the application was not accepted; the demo stops here", file=sys.stderr)
            return seen

        village_officer = system.token("village", village)
        township_officer = system.token("township", village[:9])
        _say("   the village keeps a roster of assistance contact persons (帮扶联系人)")
        for name, unit in (("联系人 甲", "县农业农村局"), ("联系人 乙", "镇政府")):
            contact = {"region_code": village, "name": name, "phone": "17000000001", "unit": unit}
            _show(await c.post("/api/v1/contacts", json=contact, headers=village_officer), "id", "name", "phone")
        steps = [
            ("village officer opens household verification", village_officer, {"action": "advance"}),
            (
                "two investigators verify the household (入户核实)",
                village_officer,
                {"action": "advance", "investigators": ["村干部 王", "镇干部 李"], "note": "情况属实"},
            ),
            (
                "village democratic review (民主评议) → public notice (公示)",
                village_officer,
                {"action": "advance", "note": "评议通过"},
            ),
            (
                "advance during the notice period (refused: the notice is still running)",
                village_officer,
                {"action": "advance", "note": "公示无异议"},
            ),
        ]
        for title, who, action in steps:
            _say(f"4. {title}")
            _show(
                await c.post(f"/api/v1/cases/{case_id}/transitions", json=action, headers=who),
                "state",
                "code",
                "detail",
            )

        system.clock.advance(8)
        _say("5. (demo clock: 8 days later — the public notice has run without objection)")
        for title, who, action in [
            ("village closes the public notice", village_officer, {"action": "advance", "note": "公示期满无异议"}),
            (
                "township review, signed by the township head (乡镇审核)",
                township_officer,
                {"action": "advance", "note": "同意"},
            ),
            (
                "county cross-department comparison and approval (县级审定)",
                county,
                {"action": "advance", "note": "比对通过，同意纳入监测"},
            ),
        ]:
            _say(f"6. {title}")
            _show(
                await c.post(f"/api/v1/cases/{case_id}/transitions", json=action, headers=who),
                "state",
                "code",
                "detail",
            )
        r = await c.get(f"/api/v1/cases/{case_id}", headers=county)
        case = _show(r, "state", "category", "risk_types", "deadline")
        seen["case"] = case
        print("   history: " + " → ".join(str(h.get("to")) for h in case.get("history", [])))

        _say("7. identification published household.identified on NATS (what departments subscribe to)")
        assert system.settings is not None
        nc = await nats.connect(system.nats.url)
        try:
            sub = await nc.jetstream().subscribe("fangfan.household.identified.>", ordered_consumer=True)
            with contextlib.suppress(Exception):
                msg = await sub.next_msg(timeout=5)
                event = json.loads(msg.data)
                seen["event"] = event
                print(f"   {msg.subject}\n   {json.dumps(event, ensure_ascii=False)[:600]}")
        finally:
            await nc.close()

        _say("8. assistance drew up the household's plan (一户一档一方案) from its risks")
        for _ in range(150):  # the plan follows household.identified through NATS: wait for it
            r = await c.get("/api/v1/plans", params={"household_id": household_id}, headers=county)
            if r.status_code == 200 and r.json().get("items"):
                break
            await asyncio.sleep(0.2)
        seen["plans"] = _show(r)

        _say("9. subsidy: a public-welfare post paying 7,200 a year (Linquan 2020: 60% above 6,000, cap 6,000)")
        r = await c.post(
            "/api/v1/subsidies/calculate",
            json={
                "kind": "public_welfare_post",
                "region_code": village,
                "as_of": "2020-06-30",
                "inputs": {"annual_wage": "7200"},
            },
            headers=county,
        )
        seen["subsidy"] = _show(r, "amount", "policy", "explanations")

        _say("10. notification: what the applicant sees in the app's inbox")
        for _ in range(50):  # the inbox is fed by events: give the last one a moment
            r = await c.get("/api/v1/inbox", headers=citizen)
            if r.status_code == 200 and any("已纳入监测" in i.get("body", "") for i in r.json().get("items", [])):
                break
            await asyncio.sleep(0.2)
        seen["inbox"] = _show(r)

        _say("11. more work for the officer console: every worklist gets something (demo clock moves on)")
        seen["worklists"] = await populate_worklists(system, c, rows, monitored=case, poor=poor)
    print(f"\n   open the officer console: {system.gateway_url}/console (development sign-in: pick a role)")
    return seen


def _application_body(row: dict[str, Any], reason: str) -> dict[str, Any]:
    keys = ("members", "escaped_poverty", "income", "expenses", "last_year_income", "assets", "dibao_status")
    return {
        "region_code": row["region_code"],
        "household": {k: row[k] for k in keys if k in row},
        "reason": reason,
        "risk_types": ["illness"],
        "consent": {"commitment": True, "asset_query_authorized": True},
        "household_number": row["household_number"],
    }


def _per_capita(row: dict[str, Any]) -> float:
    return sum(float(v) for v in row["income"].values()) / max(len(row["members"]), 1)


async def populate_worklists(
    system: DemoSystem,
    c: httpx.AsyncClient,
    rows: list[dict[str, Any]],
    *,
    monitored: dict[str, Any],
    poor: dict[str, Any],
) -> dict[str, Any]:
    """Cases left at every step, an objection open, overdue cases, a proposed elimination, visits
    and plans past due and a scale-risk village, so each role's console worklist has entries.
    Officer-started applications (村级发现) for the poorest registered households of the
    monitored household's village; what the API refuses is printed and skipped."""
    village = poor["region_code"]
    township, county = village[:9], village[:6]
    who = {
        "village": system.token("village", village),
        "township": system.token("township", township),
        "county": system.token("county", county),
    }
    made: dict[str, list[str]] = {}

    async def step(case_id: str, role: str, action: str, **fields: Any) -> bool:
        r = await c.post(f"/api/v1/cases/{case_id}/transitions", json={"action": action, **fields}, headers=who[role])
        if r.status_code >= 300:
            print(f"   {action} refused: {r.json().get('code')}: {r.json().get('detail')}", flush=True)
        return r.status_code < 300

    async def open_case(row: dict[str, Any], label: str) -> str | None:
        r = await c.post(
            "/api/v1/applications",
            json=_application_body(row, "村级排查发现：收入低于监测范围"),
            headers={**who["village"], "Idempotency-Key": f"demo-worklist-{row['household_number']}"},
        )
        if r.status_code != 201:
            return None
        made.setdefault(label, []).append(r.json()["case_id"])
        return str(r.json()["case_id"])

    async def to_notice(case_id: str) -> bool:
        return (
            await step(case_id, "village", "advance")
            and await step(case_id, "village", "advance", investigators=["村干部 王", "镇干部 李"], note="情况属实")
            and await step(case_id, "village", "advance", note="评议通过")
        )

    same_village = sorted(
        (r for r in rows if r["region_code"] == village and r["household_number"] != poor["household_number"]),
        key=_per_capita,
    )
    others = sorted((r for r in rows if r["region_code"] != village), key=_per_capita)
    pool = iter(same_village + others)

    # 1. time passes: the monitored household has been watched for more than three months; its
    #    plan and its monthly visit are past due; its income has recovered (a new upload)
    system.clock.advance(100)
    recovered = {**poor, "income": {**poor["income"], "wage": "40000"}}
    r = await c.post(
        "/api/v1/households/import",
        content=json.dumps(recovered, ensure_ascii=False).encode(),
        headers={**who["county"], "Content-Type": "application/x-ndjson", "Idempotency-Key": "demo-recovered"},
    )
    if r.status_code < 300:
        await _job(c, r.json()["id"], who["county"])
    today = system.clock().date()
    if await step(
        monitored["id"],
        "village",
        "propose_elimination",
        note="收入稳定，风险已消除，提出风险消除",
        measures_since=(today - dt.timedelta(days=90)).isoformat(),
    ):
        made["elimination_proposed"] = [monitored["id"]]

    # 2. cases that will be late (15-day limit) and ones that reach township and county review;
    #    enough identified households in the village to flag it for scale risk
    scale = (await c.get("/api/v1/statistics/scale-risk", params={"all": "true"}, headers=who["county"])).json()
    here = next((v for v in scale.get("villages", []) if v["village"] == village), None)
    need = 0
    if here:
        need = int(float(here["threshold"]) * here["village_population"]) + 1 - int(here["non_eliminated_monitored"])
    early: list[tuple[str, str]] = []
    for label in ["overdue", "township_review", "county_review"] + ["monitored"] * max(min(need, 40), 0):
        for row in pool:
            case_id = await open_case(row, label)
            if case_id:
                early.append((label, case_id))
                break
    for label, case_id in early:
        if label != "overdue":
            await to_notice(case_id)
    system.clock.advance(8)
    for label, case_id in early:
        if label == "overdue":
            continue
        await step(case_id, "village", "advance", note="公示期满无异议")
        if label in ("county_review", "monitored"):
            await step(case_id, "township", "advance", note="同意")
        if label == "monitored":
            await step(case_id, "county", "advance", note="比对通过，同意纳入监测")
    system.clock.advance(9)  # the first ones are now past their 15-day limit

    # 3. fresh work at the village: to verify, to review, on notice with an objection
    for label in ("submitted", "verification", "village_review", "objection"):
        case_id = None
        for row in pool:
            case_id = await open_case(row, label)
            if case_id:
                break
        if not case_id:
            continue
        if label in ("verification", "village_review", "objection"):
            await step(case_id, "village", "advance")
        if label in ("village_review", "objection"):
            await step(case_id, "village", "advance", investigators=["村干部 王", "镇干部 李"], note="情况属实")
        if label == "objection":
            await step(case_id, "village", "advance", note="评议通过")
            await step(case_id, "village", "object", note="有村民反映该户有经营收入")
    counts = {label: len(ids) for label, ids in made.items()}
    if here:
        print(f"   scale risk: village {village} has {here['village_population']} residents; identified {need} more")
    print(f"   cases left for the console: {json.dumps(counts, ensure_ascii=False)}", flush=True)
    return {"cases": made}


def run_demo(settings: Settings, *, households: int = 300, stay: bool = False) -> int:
    """`stay`: keep the system running after the walk, the gateway on its usual port (8000), so
    the console at /console shows what the walk left — until Ctrl-C."""
    root = settings.data_dir / "demo" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    root.mkdir(parents=True, exist_ok=True)
    print(f"fangfan demo: a whole system in this process (data in {root})")

    async def go() -> dict[str, Any]:
        async with demo_system(root, gateway_port=settings.gateway_port if stay else None) as system:
            print(f"   gateway {system.gateway_url}   NATS {system.nats.url}")
            seen = await walk(system, households=households)
            if stay:
                print(f"\nfangfan demo: still running — open {system.gateway_url}/console ; Ctrl-C stops", flush=True)
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.Event().wait()
            return seen

    try:
        seen = asyncio.run(go())
    except KeyboardInterrupt:
        print("fangfan demo: stopped", flush=True)
        return 0
    state = (seen.get("case") or {}).get("state")
    print(f"\nfangfan demo: the household's case ended {state!r}")
    return 0 if state == "monitored" else 1
