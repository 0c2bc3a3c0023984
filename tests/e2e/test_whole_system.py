"""The whole system as a user runs it (`fangfan up`: NATS, every service and the gateway in their own
processes), attacked and loaded, in one start:

- oversized bodies: 1 GiB streamed (chunked, never stopping) → 413 while the gateway process's
  resident memory (/proc/<pid>/status) grows < 20 MiB; a declared oversize → 413 at once;
- bursts → 429 `rate_limited` with `Retry-After` (a citizen's self-applications, one caller);
- page sizes: a `limit`/`page_size` over the maximum is refused (422) or capped, as each route
  documents; offsets and cursors beyond 64 bits are refused, not a 500;
- webhook SSRF: loopback, private, link-local, metadata, encoded-loopback and by-name-loopback URLs
  refused, and real listeners on 127.0.0.x see no connection — not even when an allowlisted
  receiver answers 302 towards them;
- a short load run (bench/load) with < 0.1 % errors and every endpoint measured;
- after a full run (imports with ID numbers and phones, applications, signals, contacts, SMS
  settings, subsidies, webhooks, unmasked reads), no valid ID number or mobile number in clear in
  the databases (SQLite files cell by cell; pg_dump of the services on PostgreSQL when it is
  reachable), the JetStream store or any log; every response seen masks ID numbers unless the
  caller revealed them, and each unmasked read left exactly one audit row.

When PostgreSQL is reachable, identification and notification run on throw-away PostgreSQL
databases and the others on SQLite, so one run scans both kinds of store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bench.load.runner import ENDPOINTS, format_report, run_load
from shared.cli.generate import generate_households
from shared.identifiers import is_valid_id_number
from shared.pii import mask_id_number, mask_numbers_in_text
from tests.conftest import PG_ADMIN_DSN
from tests.e2e.pii_scan import find_in_text, pg_dump, scan_paths, summary
from tests.e2e.running_system import UpSystem, memory_kib, pg_reachable

pytestmark = [pytest.mark.sqlite_only, pytest.mark.slow, pytest.mark.timeout(300)]

API = "/api/v1"
MiB = 1 << 20
GiB = 1 << 30
COUNTY = "341221"
RECEIVER_IP = "127.0.0.2"  # the one allowlisted webhook receiver
LISTENER_IPS = ("127.0.0.3", "127.0.0.1")  # must never see a connection
PG_SERVICES = ("identification", "notification")
OUT = Path(__file__).resolve().parents[2] / "bench" / "out"
FIGURES: dict[str, Any] = {}
#: Every response body the tests saw: (role, method, url, status, text), for the masking check.
SEEN: list[tuple[str, str, str, int, str]] = []


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpSystem]:
    pg = pg_reachable()
    s = UpSystem(
        tmp_path_factory.mktemp("whole-system"),
        env={"FANGFAN_WEBHOOK_ALLOWLIST": f"{RECEIVER_IP}/32", "FANGFAN_LOG_LEVEL": "INFO"},
        pg_services=PG_SERVICES if pg else (),
    )
    FIGURES["startup_s"] = round(s.start(), 1)
    FIGURES["databases"] = {svc: ("postgresql" if svc in s.pg_databases else "sqlite") for svc in _services()}
    try:
        yield s
    finally:
        s.stop()
        s.drop_databases()
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "whole_system.json").write_text(json.dumps(FIGURES, indent=1, ensure_ascii=False) + "\n")
        print(json.dumps(FIGURES, indent=1, ensure_ascii=False))


def _services() -> tuple[str, ...]:
    from shared.settings import SERVICES

    return tuple(SERVICES)


def client(system: UpSystem, role: str = "") -> httpx.AsyncClient:
    """An httpx client on the gateway that keeps every answer in SEEN (for the masking check)."""

    async def keep(r: httpx.Response) -> None:
        await r.aread()
        SEEN.append((role, r.request.method, str(r.request.url), r.status_code, r.text))

    return httpx.AsyncClient(base_url=system.url + API, timeout=60, event_hooks={"response": [keep]})


# ---------------------------------------------------------------- oversized bodies


async def _raw(port: int, head: str, body_chunks: Any = (), *, sample: Any = None) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 request on its own connection; writes every chunk whatever the server says
    meanwhile (a hostile client does not stop at a 413), then reads the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode() + b"\r\n")
        n = 0
        with contextlib.suppress(ConnectionError):
            for chunk in body_chunks:
                writer.write(chunk)
                await writer.drain()
                n += 1
                if sample and n % 64 == 0:
                    sample()
        status_line = await asyncio.wait_for(reader.readline(), 30)
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            k, _, v = line.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return int(status_line.split()[1]), headers, body
    finally:
        writer.close()


def _chunked(total: int, size: int = MiB) -> Iterator[bytes]:
    frame = b"%x\r\n" % size + b"x" * size + b"\r\n"
    for _ in range(total // size):
        yield frame
    yield b"0\r\n\r\n"


def _head(method: str, path: str, headers: dict[str, str], extra: str) -> str:
    lines = [f"{method} {API}{path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return "\r\n".join([*lines, extra]) + "\r\n"


async def test_oversized_bodies_413_and_gateway_memory_flat(system: UpSystem) -> None:
    pid = system.pid_of("gateway.main:create_app")
    h = system.headers("county", COUNTY)
    before = memory_kib(pid)
    peak = [before["VmRSS"]]

    def sample() -> None:
        peak.append(memory_kib(pid)["VmRSS"])

    results = {}
    t0 = time.monotonic()
    for path in ("/assessments", "/signals"):  # limits 1 MiB and 64 MiB (the latter streamed upstream)
        status, headers, body = await _raw(
            system.port, _head("POST", path, h, "Transfer-Encoding: chunked"), _chunked(GiB), sample=sample
        )
        results[f"POST {path} 1 GiB chunked"] = status
        assert status == 413, body
        assert headers["content-type"] == "application/problem+json"
        assert json.loads(body)["code"] == "payload_too_large"
    streamed_s = time.monotonic() - t0
    for path, size in (("/assessments", GiB), ("/households/import", 3 * GiB)):
        t1 = time.monotonic()
        status, _, body = await _raw(system.port, _head("POST", path, h, f"Content-Length: {size}"))
        results[f"POST {path} Content-Length {size >> 30} GiB"] = status
        assert status == 413, body
        assert time.monotonic() - t1 < 5  # refused from the header, nothing read
    after = memory_kib(pid)
    sample()
    growth_kib = max(peak) - before["VmRSS"]
    hwm_growth_kib = after["VmHWM"] - before["VmHWM"]
    FIGURES["oversized"] = {
        "gateway_rss_before_mib": round(before["VmRSS"] / 1024, 1),
        "gateway_rss_peak_growth_mib": round(growth_kib / 1024, 1),
        "gateway_hwm_growth_mib": round(hwm_growth_kib / 1024, 1),
        "two_gib_streamed_s": round(streamed_s, 2),
        "statuses": results,
    }
    assert growth_kib < 20 * 1024, FIGURES["oversized"]
    assert hwm_growth_kib < 20 * 1024, FIGURES["oversized"]
    async with client(system) as c:  # and the gateway still serves
        r = await c.post("/assessments", json={}, headers=h)
        assert r.status_code == 422


# ---------------------------------------------------------------- bursts


async def test_bursts_429_with_retry_after(system: UpSystem) -> None:
    row = next(generate_households(1, COUNTY, seed=4242))
    citizen = system.headers("citizen", row["region_code"], sub=row["members"][0]["id_number"])
    async with client(system, "citizen") as c:
        statuses = []
        for _ in range(12):
            r = await c.post("/applications", json={}, headers={**citizen, "Idempotency-Key": uuid.uuid4().hex})
            statuses.append(r.status_code)
        assert 429 not in statuses[:10], statuses
        assert statuses[10:] == [429, 429], statuses
        assert int(r.headers["retry-after"]) >= 1
        assert r.json()["code"] == "rate_limited"
        other = system.headers("citizen", row["region_code"], sub=row["members"][1]["id_number"])
        assert (await c.post("/applications", json={}, headers=other)).status_code == 422  # a bucket each

    # one caller's burst (default 200/s, burst 1,000): requests the gateway refuses from their
    # declared size after spending the caller's token, so no service is involved
    officer = system.headers("township", COUNTY + "001", sub="burst-officer")
    head = _head("POST", "/assessments", officer, "Content-Length: 2000000")
    sem = asyncio.Semaphore(48)

    async def one() -> tuple[int, dict[str, str]]:
        async with sem:
            status, headers, _ = await _raw(system.port, head)
            return status, headers

    # waves until the bucket says no (a slow machine refills it more during the burst)
    t0 = time.monotonic()
    got: list[tuple[int, dict[str, str]]] = []
    while len(got) < 6000 and not any(s == 429 for s, _ in got):
        got += await asyncio.gather(*(one() for _ in range(500)))
    took = time.monotonic() - t0
    limited = [hd for s, hd in got if s == 429]
    passed = sum(1 for s, _ in got if s == 413)
    FIGURES["burst"] = {"requests": len(got), "passed": passed, "limited": len(limited), "seconds": round(took, 2)}
    assert passed + len(limited) == len(got), FIGURES["burst"]
    assert passed >= 1000, FIGURES["burst"]
    assert limited, FIGURES["burst"]
    assert all(int(hd["retry-after"]) >= 1 for hd in limited)
    async with client(system, "township") as c:  # another caller is not held back
        r = await c.post("/assessments", json={}, headers=system.headers("township", COUNTY + "001"))
        assert r.status_code == 422


# ---------------------------------------------------------------- page sizes

#: (path, query, what the API does): "refused" = 422 naming the parameter; "capped" = 200 with at
#: most `cap` items (and the capped size echoed where the page says it).
PAGES: list[tuple[str, dict[str, Any], str, int]] = [
    ("/cases", {"page_size": 10**6}, "capped", 200),
    ("/signals/leads", {"limit": 10**6}, "capped", 1000),
    ("/plans", {"limit": 1001}, "refused", 1000),
    ("/measures", {"limit": 1001}, "refused", 1000),
    ("/subsidies/decisions", {"limit": 501}, "refused", 500),
    ("/subscriptions", {"limit": 501}, "refused", 500),
    ("/inbox", {"limit": 201}, "refused", 200),
    ("/reminders", {"limit": 501}, "refused", 500),
    ("/cases", {"page": 10**19}, "refused", 0),
    ("/subsidies/decisions", {"cursor": 10**19}, "refused", 0),
    ("/plans", {"offset": 10**19}, "refused", 0),
    ("/subscriptions", {"offset": 10**19}, "refused", 0),
    ("/inbox", {"offset": 10**19}, "refused", 0),
    ("/reminders", {"offset": 10**19}, "refused", 0),
]


async def test_page_sizes_capped_or_refused(system: UpSystem) -> None:
    admin = system.headers("admin", "")
    problems = []
    async with client(system, "admin") as c:
        for path, params, expect, cap in PAGES:
            r = await c.get(path, params=params, headers=admin)
            param = next(iter(params))
            if expect == "refused":
                ok = r.status_code == 422 and [e["path"] for e in r.json()["errors"]] == [param]
            else:
                body = r.json()
                ok = r.status_code == 200 and len(body["items"]) <= cap and body.get("page_size", cap) == cap
            if not ok:
                problems.append(f"{path} {params}: {r.status_code} {r.text[:200]}")
    FIGURES["pages"] = {"checked": len(PAGES)}
    assert not problems, problems


# ---------------------------------------------------------------- webhook SSRF


class Listener:
    """A TCP listener that counts connections (it must see none)."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.accepted = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> Listener:
        async def on(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.accepted += 1
            writer.close()

        self.server = await asyncio.start_server(on, self.host, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


class Redirector:
    """The allowlisted receiver: answers every webhook with 302 towards `location`."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.requests: list[str] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> Redirector:
        async def on(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = next(
                        (
                            int(ln.split(b":")[1])
                            for ln in head.split(b"\r\n")
                            if ln.lower().startswith(b"content-length")
                        ),
                        0,
                    )
                    await reader.readexactly(length)
                    self.requests.append(head.decode("latin-1"))
                    writer.write(
                        f"HTTP/1.1 302 Found\r\nLocation: {self.location}\r\nContent-Length: 0\r\n\r\n".encode()
                    )
                    await writer.drain()
            writer.close()

        self.server = await asyncio.start_server(on, RECEIVER_IP, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


def _ssrf_urls(port: int) -> list[str]:
    return [
        f"http://127.0.0.3:{port}/hook",
        f"http://127.0.0.1:{port}/hook",
        f"http://localhost:{port}/hook",  # a name that resolves to loopback
        f"http://localhost.:{port}/hook",
        f"http://[::1]:{port}/hook",
        f"http://[::ffff:127.0.0.3]:{port}/hook",
        f"http://127.1:{port}/hook",  # short, decimal, hex and octal spellings of loopback
        f"http://2130706435:{port}/hook",
        f"http://0x7f000003:{port}/hook",
        f"http://0177.0.0.3:{port}/hook",
        f"http://0.0.0.0:{port}/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://100.100.100.200/latest/meta-data/",
        "http://169.254.10.10/hook",
        "http://10.0.0.1/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.10/hook",
        "http://[fc00::1]/hook",
        "http://[fe80::1]/hook",
    ]


async def test_webhook_ssrf_refused_and_listeners_see_nothing(system: UpSystem) -> None:
    dept = system.headers("department", COUNTY, sub="ws-dept-civil", dept="civil_affairs")
    async with contextlib.AsyncExitStack() as stack:
        listeners = [await stack.enter_async_context(Listener(ip)) for ip in LISTENER_IPS]
        target = listeners[0]
        receiver = await stack.enter_async_context(Redirector(f"http://{target.host}:{target.port}/hook"))
        async with client(system, "department") as c:
            refused = []
            for url in [*_ssrf_urls(target.port), f"http://127.0.0.1:{listeners[1].port}/hook"]:
                r = await c.post(
                    "/subscriptions", json={"url": url, "event_types": ["*"], "region": COUNTY}, headers=dept
                )
                assert r.status_code == 422, (url, r.status_code, r.text)
                assert r.json()["code"] == "webhook_url_refused", (url, r.text)
                refused.append(url)
            r = await c.post(
                "/subscriptions",
                json={"url": f"http://{RECEIVER_IP}:{receiver.port}/hook", "event_types": ["*"], "region": COUNTY},
                headers=dept,
            )
            assert r.status_code == 201, r.text
            sub_id = r.json()["id"]
            # an event in the county: the allowlisted receiver answers 302 towards the listener
            row = next(generate_households(1, COUNTY, seed=777))
            row["household_number"] = f"{row['region_code']}-ssrf"
            v = row["region_code"]
            r = await c.post(
                "/applications",
                json=_application(row),
                headers={**system.headers("village", v), "Idempotency-Key": uuid.uuid4().hex},
            )
            assert r.status_code == 201, r.text
            for _ in range(200):
                if receiver.requests:
                    break
                await asyncio.sleep(0.1)
            assert receiver.requests, "the allowlisted receiver never got the webhook"
            await asyncio.sleep(1.5)  # time for a redirect to be followed, were it followed
            deliveries = (await c.get(f"/subscriptions/{sub_id}/deliveries", headers=dept)).json()["items"]
        attempts = [a for d in deliveries for a in d["attempts"]]
        assert attempts, deliveries
        assert {a["status_code"] for a in attempts} == {302}, deliveries
        assert all(d["status"] != "delivered" for d in deliveries)
        assert [x.accepted for x in listeners] == [0, 0]
    FIGURES["ssrf"] = {
        "refused_urls": len(refused),
        "receiver_requests": len(receiver.requests),
        "listener_connections": [x.accepted for x in listeners],
    }


def _application(row: dict[str, Any], **extra: Any) -> dict[str, Any]:
    from bench.load.runner import application_body

    return {**application_body(row), **extra}


# ---------------------------------------------------------------- load smoke


async def test_load_smoke(system: UpSystem) -> None:
    def headers(role: str, region: str, *, sub: str | None = None) -> dict[str, str]:
        return system.headers(role, region, sub=sub or f"load-{role}-{region}")

    rep = await run_load(system.url, headers, duration=6, concurrency=8, warmup=1)
    print(format_report(rep))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "load_smoke.json").write_text(json.dumps(rep, indent=1, ensure_ascii=False) + "\n")
    FIGURES["load_smoke"] = {"requests": rep["totals"]["requests"], "rps": rep["totals"]["rps"]}
    assert set(rep["endpoints"]) == set(ENDPOINTS)
    assert all(e["requests"] > 0 for e in rep["endpoints"].values()), rep["endpoints"]
    assert rep["totals"]["error_rate"] < 0.001, json.dumps(rep["endpoints"], ensure_ascii=False)[:2000]


# ---------------------------------------------------------------- personal data


async def test_full_run_leaves_no_clear_personal_data(system: UpSystem) -> None:
    rows = list(generate_households(40, COUNTY, seed=31337))
    for i, row in enumerate(rows):
        row["household_number"] = f"{row['region_code']}-pii{i:03d}"
    planted_ids = {m["id_number"] for r in rows for m in r["members"]}
    phones = {r["phone"] for r in rows if r.get("phone")}
    assert phones, "the generator gave no phones"
    county = system.headers("county", COUNTY, sub="ws-county-officer")
    reveals: list[tuple[str, str, str]] = []  # (household id, reason, request id)
    # numbers typed into free text, as people write them (grouped, +86), of persons not imported
    typed = [m["id_number"] for r in rows[37:40] for m in r["members"][:1]]
    grouped = [f"{i[:6]} {i[6:14]} {i[14:]}" for i in typed[:2]] + [
        f"{typed[2][:6]}-{typed[2][6:10]}-{typed[2][10:14]}-{typed[2][14:]}"
    ]
    async with client(system, "county") as c:
        # households with ID numbers and phones, by NDJSON import
        ndjson = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows[:30]).encode()
        r = await c.post(
            "/households/import", content=ndjson, headers={**county, "Content-Type": "application/x-ndjson"}
        )
        assert r.status_code == 202, r.text
        job = await _until(lambda: _job_done(c, r.json()["id"], county))
        assert job["rows_failed"] == 0, job
        # officer-started applications, a self-application, case steps
        apps = []
        for row in rows[30:33]:
            v = row["region_code"]
            r = await c.post(
                "/applications",
                json=_application(row, reason=f"收入骤减，联系电话 {row.get('phone') or '13912345678'}"),
                headers={**system.headers("village", v), "Idempotency-Key": uuid.uuid4().hex},
            )
            assert r.status_code == 201, r.text
            apps.append(r.json())
        row = rows[33]
        me = system.headers("citizen", row["region_code"], sub=row["members"][0]["id_number"])
        r = await c.post("/applications", json=_application(row), headers={**me, "Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code == 201, r.text
        apps.append(r.json())
        for app in apps[:2]:
            v = app["region_code"]
            for step in (
                {"action": "advance"},
                {"action": "advance", "investigators": ["王五", "李四"], "note": "入户核实，电话13812345678"},
            ):
                r = await c.post(
                    f"/cases/{app['case_id']}/transitions", json=step, headers=system.headers("village", v)
                )
                assert r.status_code == 200, r.text
        # department signals: a known member's ID number and an unknown one (a lead)
        dept = system.headers("department", COUNTY, sub="ws-dept-health", dept="health")
        signals = [
            {
                "source_dept": "health",
                "signal_id": f"ws-{i}",
                "kind": "hospital_stay",
                "id_number": idn,
                "region_code": rows[0]["region_code"],
                "observed_at": "2026-11-01T08:00:00+08:00",
                "payload": {"self_paid": 5000, "note": f"家属 +86 138 1234 5678，{grouped[0]}", "tel": 13912345678},
            }
            for i, idn in enumerate((rows[0]["members"][0]["id_number"], rows[35]["members"][0]["id_number"]))
        ]
        r = await c.post("/signals", json=signals, headers=dept)
        assert r.status_code in (200, 201, 202), r.text
        # assistance: a contact person with a phone; notification: a citizen's SMS number
        r = await c.post(
            "/contacts",
            json={
                "region_code": rows[0]["region_code"],
                "name": "王小明",
                "phone": "13812345678",
                "unit": "驻村工作队 139-1234-5678",
            },
            headers=county,
        )
        assert r.status_code == 201, r.text
        r = await c.put("/inbox/sms", json={"phone": "13987654321"}, headers=me)
        assert r.status_code in (200, 201, 204), r.text
        # subsidies: a calculation and a decision; an ID number as a person id is refused
        calc = {
            "kind": "public_welfare_post",
            "region_code": rows[0]["region_code"],
            "as_of": "2020-06-30",
            "inputs": {"annual_wage": "7200", "person_id": "p-ws-1"},
        }
        r = await c.post("/subsidies/calculate", json=calc, headers=county)
        assert r.status_code == 200, r.text
        r = await c.post(
            "/subsidies/decisions",
            json={**calc, "household_id": apps[0]["household_id"], "note": f"经办 13612345678，{typed[1]}"},
            headers={**county, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 201, r.text
        # a rejection's reason and a subscription's description, with numbers in them
        r = await c.post(
            f"/cases/{apps[2]['case_id']}/transitions",
            json={"action": "reject", "reason": f"重复申报，户主 {grouped[2]}，电话 135 1234 5678"},
            headers=system.headers("village", apps[2]["region_code"]),
        )
        assert r.status_code == 200, r.text
        r = await c.post(
            "/subscriptions",
            json={
                "url": f"http://{RECEIVER_IP}:9/hook",  # allowlisted; nothing it subscribes to happens
                "event_types": ["subsidy.decision_paid"],
                "description": f"联系人 13712345678，{grouped[1]}",
            },
            headers=dept,
        )
        assert r.status_code == 201, r.text
        leaky = {**calc, "inputs": {**calc["inputs"], "person_id": rows[36]["members"][0]["id_number"]}}
        r = await c.post(
            "/subsidies/decisions",
            json={**leaky, "household_id": apps[0]["household_id"]},
            headers={**county, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 422, r.text
        # reads: masked for a village officer; revealed (and audited) for the county
        for i, app in enumerate(apps[:3]):
            hid = app["household_id"]
            r = await c.get(f"/households/{hid}", headers=system.headers("village", app["region_code"]))
            assert r.status_code == 200
            assert r.json()["unmasked"] is False
            rid = f"ws-reveal-{i}-{uuid.uuid4().hex[:8]}"
            reason = f"医保比对 #{i}" + (" 回电13700001111" if i == 0 else "")  # a phone in the reason
            r = await c.get(
                f"/households/{hid}",
                params={"reveal": "id_number", "reason": reason},
                headers={**county, "x-request-id": rid},
            )
            assert r.status_code == 200, r.text
            assert r.json()["unmasked"] is True
            assert all(is_valid_id_number(m["id_number"]) for m in r.json()["members"])
            reveals.append((hid, mask_numbers_in_text(reason), rid))
        r = await c.get(
            f"/households/{apps[0]['household_id']}",
            params={"reveal": "id_number", "reason": "核对"},
            headers=system.headers("township", apps[0]["region_code"][:9]),
        )
        assert r.status_code == 403
        for app in apps:
            for path in (f"/applications/{app['id']}", f"/cases/{app['case_id']}"):
                r = await c.get(path, headers=system.headers("village", app["region_code"]))
                assert r.status_code == 200, r.text
            r = await c.get("/plans", params={"household_id": app["household_id"]}, headers=county)
        await c.get("/cases", params={"region": COUNTY, "page_size": 200}, headers=county)
        await c.get("/signals/leads", params={"region": COUNTY}, headers=county)
        await c.get("/inbox", headers=me)
        await asyncio.sleep(2)  # outbox relays and consumers settle

    # every answer: an ID number in clear only where the caller revealed it
    unmasked = []
    for role, method, url, status, text in SEEN:
        found = [f for f in find_in_text(text) if f.kind == "id_number"]
        if found and not ("reveal=id_number" in url and role in ("county", "province", "admin") and status == 200):
            unmasked.append(f"{role} {method} {url} → {status}: {summary(found, 3)}")
    assert not unmasked, "\n".join(unmasked[:20])

    # exactly one audit row per unmasked read: who, whose, why, request id
    audit = await _audit_rows(system)
    assert [(a["household_id"], a["reason"], a["request_id"]) for a in audit] == reveals
    assert {(a["actor"], a["role"], a["fields"]) for a in audit} == {("ws-county-officer", "county", "id_number,name")}

    # and nothing in clear at rest or in the logs
    system.stop()
    paths = [system.data_dir, system.output]
    dumps = []
    for svc, db in system.pg_databases.items():
        dumps.append(pg_dump(PG_ADMIN_DSN, db, system.root / f"{svc}.sql"))
    findings, stats = scan_paths(paths + dumps)
    for dump in dumps:  # the dump holds the encrypted rows: it is not empty
        assert "households" in dump.read_text() or "subscriptions" in dump.read_text()
    FIGURES["pii_scan"] = {
        **stats,
        "pg_dumps": [p.name for p in dumps] or "skipped: PostgreSQL not reachable",
        "jetstream_files": sum(1 for p in (system.data_dir / "jetstream").rglob("*") if p.is_file()),
        "log_files": sorted(p.name for p in (system.data_dir / "logs").iterdir()),
        "audit_rows": len(audit),
        "responses_checked": len(SEEN),
        "planted_id_numbers": len(planted_ids),
        "planted_phones": len(phones),
        # free text: an application's reason, review notes, a signal payload (string and number),
        # a contact's unit, a decision's note, a rejection's reason, a subscription's description
        "free_text_fields_planted": 8,
    }
    assert stats["sqlite_databases"] >= 1
    assert not findings, summary(findings)
    assert mask_id_number(rows[0]["members"][0]["id_number"]) != rows[0]["members"][0]["id_number"]


async def _until(fn: Any, tries: int = 300) -> Any:
    for _ in range(tries):
        got = await fn()
        if got:
            return got
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def _job_done(c: httpx.AsyncClient, job_id: str, headers: dict[str, str]) -> dict[str, Any] | None:
    body = (await c.get(f"/jobs/{job_id}", headers=headers)).json()
    return body if body.get("status") in ("completed", "failed") else None


async def _audit_rows(system: UpSystem) -> list[dict[str, Any]]:
    from services.identification.adapters.audit import audit_log, verify_chain
    from shared.db import make_engine

    engine = make_engine(_database_url(system, "identification"))
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(audit_log).order_by(audit_log.c.seq))).mappings().all()
        from sqlalchemy.ext.asyncio import AsyncSession

        async with AsyncSession(engine) as session:
            assert await verify_chain(session)
        return [dict(r) for r in rows]
    finally:
        await engine.dispose()


def _database_url(system: UpSystem, service: str) -> str:
    if service in system.pg_databases:
        base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        return f"{base}/{system.pg_databases[service]}"
    return f"sqlite+aiosqlite:///{system.data_dir / (service + '.db')}"
