"""Hostile input through the gateway, over the whole system (issue #20): the exact reproductions
of the issue (money as 1e400, NaN, Infinity, 5,000-digit numbers, counts of 10**30, bodies
nested 10,000 deep) and property-based bodies drawn from every JSON request schema of the
merged OpenAPI with hostile values mixed in. Every answer is below 500 (a 422 names the field),
the services stay up, and another caller's valid requests are served throughout: the circuit
breakers count no failure. The figures go to bench/out/hostile/summary.json (docs/reliability.md)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.cli.demo import DemoSystem, demo_system

pytestmark = [pytest.mark.sqlite_only, pytest.mark.timeout(300)]

OUT = Path(__file__).resolve().parents[2] / "bench" / "out" / "hostile"
EXAMPLES = int(os.environ.get("FANGFAN_HOSTILE_EXAMPLES", "1000"))
VALID = {
    "kind": "public_welfare_post",
    "region_code": "341221",
    "as_of": "2020-06-01",
    "inputs": {"annual_wage": "5000"},
}
CALCULATE = "/api/v1/subsidies/calculate"
#: raw JSON text put in place of a marker string after encoding (json.dumps cannot write 1e400)
_RAW = "\x00raw:"
_RAW_RE = re.compile(r'"\\u0000raw:([^"]*)"')


class _Running:
    def __init__(self, system: DemoSystem) -> None:
        self.system = system
        self.url = system.gateway_url
        self.gateway = system.servers[-1][0].config.app  # the gateway is started last
        self.county = system.token("county", "341221", sub="hostile-county")
        self.admin = system.token("admin", "", sub="hostile-admin")
        self.bystander = system.token("county", "341221", sub="bystander")
        self.statuses: Counter[int] = Counter()
        self.tried: Counter[str] = Counter()
        self.schemas: _Schemas | None = None

    def breakers(self) -> dict[str, tuple[str, int]]:
        return {name: (b.state, b.failures) for name, b in self.gateway.state.gateway.breakers.items()}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Running]:
    """The demo system (NATS, five services, gateway) on its own event loop in a thread, so that
    hypothesis (synchronous) can drive it with a plain HTTP client."""
    saved = {k: os.environ.get(k) for k in ("FANGFAN_RATE_IP", "FANGFAN_RATE_PRINCIPAL", "FANGFAN_RATE_EXPORT")}
    for k in saved:
        os.environ[k] = "off"
    root = tmp_path_factory.mktemp("hostile")
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        async with demo_system(root) as system:
            box["system"], box["stop"] = system, asyncio.Event()
            ready.set()
            await box["stop"].wait()

    def run() -> None:
        try:
            loop.run_until_complete(main())
        except BaseException as exc:
            box["error"] = exc
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="hostile-system", daemon=True)
    thread.start()
    assert ready.wait(180), "the system did not start"
    if "error" in box:
        raise box["error"]
    try:
        yield _Running(box["system"])
    finally:
        loop.call_soon_threadsafe(box["stop"].set)
        thread.join(60)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def http(running: _Running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running.url, timeout=60) as c:
        yield c


def _raw(text: str) -> str:
    return _RAW + text


def encode(body: Any) -> bytes:
    return _RAW_RE.sub(lambda m: m.group(1), json.dumps(body, ensure_ascii=False)).encode()


def _send(
    running: _Running, http: httpx.Client, method: str, path: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    r = http.request(method, path, content=body, headers={"content-type": "application/json", **headers})
    running.statuses[r.status_code] += 1
    assert r.status_code < 500, f"{method} {path} {body[:300]!r} → {r.status_code} {r.text[:500]}"
    return r


def _field_error(r: httpx.Response) -> list[str]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["errors"], body
    return [e["path"] for e in body["errors"]]


def _bystander_served(running: _Running, http: httpx.Client) -> None:
    r = http.post(CALCULATE, json=VALID, headers=running.bystander)
    assert r.status_code == 200, r.text
    assert r.json()["amount"] == "2500.00"


# --- the exact reproductions of issue #20 -------------------------------------------------------

HOSTILE_WAGES = [
    "1e400",
    "-1e400",
    "NaN",
    "Infinity",
    "-Infinity",
    "9" * 5000,
    '"1e400"',
    '"NaN"',
    '"9' + "9" * 5000 + '"',
]


@pytest.mark.parametrize("wage", HOSTILE_WAGES, ids=lambda w: w[:12])
def test_hostile_money_is_422_with_the_field(running: _Running, http: httpx.Client, wage: str) -> None:
    body = encode({**VALID, "inputs": {"annual_wage": _raw(wage)}})
    for _ in range(3):  # more than once: a breaker threshold must never be reached by these
        r = _send(running, http, "POST", CALCULATE, body, running.county)
        paths = _field_error(r)
        assert paths in (["inputs.annual_wage"], ["body"]), paths
    _bystander_served(running, http)


def test_unbounded_counts_are_422_with_the_field(running: _Running, http: httpx.Client) -> None:
    cases = [
        (
            {"work_location": "in_county", "contract_months": _raw(str(10**30))},
            "transport_allowance",
            "inputs.contract_months",
        ),
        (
            {"hires": [{"person_id": "p1", "contract_months": _raw(str(10**30)), "poor_laborer": True}]},
            "enterprise_employment_reward",
            "inputs.hires[0].contract_months",
        ),
        ({"members": _raw(str(10**30)), "per_capita_income_annual": "1"}, "dibao_topup", "inputs.members"),
    ]
    for inputs, kind, path in cases:
        body = encode({**VALID, "kind": kind, "as_of": "2021-06-01", "inputs": inputs})
        for _ in range(3):
            assert _field_error(_send(running, http, "POST", CALCULATE, body, running.county)) == [path]
    _bystander_served(running, http)


DEEP = b"[" * 10_000 + b"]" * 10_000
DEEP_OBJECT = b'{"a":' * 10_000 + b"1" + b"}" * 10_000


@pytest.mark.parametrize(
    ("path", "ctype", "who"),
    [
        ("/api/v1/households/import", "application/json", "county"),
        ("/api/v1/households/import", "application/x-ndjson", "county"),
        ("/api/v1/admin/policies", "application/json", "admin"),
        ("/api/v1/subsidies/calculate", "application/json", "county"),
        ("/api/v1/subsidies/calculate:batch", "application/x-ndjson", "county"),
        ("/api/v1/assessments", "application/json", "county"),
        ("/api/v1/applications", "application/json", "county"),
        ("/api/v1/signals", "application/json", "county"),
        ("/api/v1/plans", "application/json", "county"),
        ("/api/v1/subscriptions", "application/json", "county"),
    ],
)
def test_deep_nesting_is_refused_at_the_gateway(
    running: _Running, http: httpx.Client, path: str, ctype: str, who: str
) -> None:
    headers = {"content-type": ctype, **(running.admin if who == "admin" else running.county)}
    for body in (DEEP, DEEP_OBJECT, b'{"service": "subsidy", "x": ' + DEEP + b"}"):
        r = http.post(path, content=body, headers=headers)
        running.statuses[r.status_code] += 1
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "json_too_deep"
        assert r.json()["errors"][0]["path"] == "body"
    _bystander_served(running, http)
    r = http.get("/api/v1/jobs/00000000-0000-0000-0000-000000000000", headers=running.bystander)
    assert r.status_code == 404  # identification is up and answering


@pytest.mark.parametrize("value", [str(10**30), str(2**63), "-1", "0"])
def test_ids_beyond_64_bits_are_422(running: _Running, http: httpx.Client, value: str) -> None:
    r = _send(running, http, "POST", f"/api/v1/deliveries/{value}/replay", b"", running.admin)
    assert _field_error(r) == ["delivery_id"]


# --- property-based: every JSON request schema, hostile values mixed in ----------------------

_hostile_numbers = st.sampled_from(
    [
        "1e400",
        "-1e400",
        "NaN",
        "Infinity",
        "-Infinity",
        "1e-400",
        "-0",
        str(10**30),
        str(-(10**30)),
        "9" * 5000,
        "123456789012345678901234567890.123456789",
        str(2**63),
        str(2**64),
    ]
).map(_raw)
_hostile_strings = st.one_of(
    st.sampled_from(
        [
            "1e400",
            "NaN",
            "Infinity",
            "9" * 5000,
            "",
            " ",
            "\x00",
            "-1",
            "0.001",
            "1e-400",
            "341221198001010010",
            "13800138000",
            "../../etc/passwd",
            "{{7*7}}",
            "' OR 1=1 --",
        ]
    ),
    st.text(max_size=40),
)


def _hostile() -> st.SearchStrategy[Any]:
    leaf = st.one_of(_hostile_numbers, _hostile_strings, st.booleans(), st.none(), st.integers())
    return st.one_of(
        leaf,
        st.lists(leaf, max_size=3),
        st.dictionaries(st.text(max_size=8), leaf, max_size=3),
        st.integers(min_value=60, max_value=200).map(lambda d: _raw("[" * d + "]" * d)),
    )


class _Schemas:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.components = spec.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 20:
            schema = self.components.get(schema["$ref"].rsplit("/", 1)[-1], {})
            seen += 1
        return schema

    def strategy(self, schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
        schema = self.resolve(schema)
        hostile = _hostile()
        if depth > 4:
            return hostile
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                return st.one_of(*[self.strategy(s, depth + 1) for s in schema[key][:4]], hostile)
        if "enum" in schema:
            return st.one_of(st.sampled_from(schema["enum"]), hostile)
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            props = schema.get("properties", {})
            required = set(schema.get("required", ()))
            fields = {name: self.strategy(sub, depth + 1) for name, sub in list(props.items())[:40]}
            req = {k: v for k, v in fields.items() if k in required}
            opt = {k: v for k, v in fields.items() if k not in required}
            obj = st.fixed_dictionaries(req, optional=opt)
            return st.one_of(obj, obj, obj, hostile)
        if kind == "array":
            return st.one_of(st.lists(self.strategy(schema.get("items", {}), depth + 1), max_size=3), hostile)
        if kind == "integer":
            return st.one_of(st.integers(), hostile)
        if kind == "number":
            return st.one_of(st.integers(), st.decimals(allow_nan=False, places=2).map(str).map(_raw), hostile)
        if kind == "string":
            return st.one_of(st.text(max_size=30), hostile)
        if kind == "boolean":
            return st.one_of(st.booleans(), hostile)
        return hostile


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method not in ("post", "put", "patch") or not isinstance(op, dict):
                continue
            content = op.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is not None:
                out.append((method.upper(), path, schema))
    return out


@pytest.fixture(scope="module")
def operations(running: _Running, http: httpx.Client) -> list[tuple[str, str, dict[str, Any]]]:
    for _ in range(100):
        spec = http.get("/openapi.json", params={"refresh": "true"}).json()
        if len(spec["info"].get("x-fangfan-services", [])) == 4:
            break
    ops = _operations(spec)
    running.schemas = _Schemas(spec)
    assert len(ops) >= 20, [o[:2] for o in ops]
    return ops


def _fill(path: str, data: st.DataObject) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: data.draw(st.sampled_from(["1", "0", "x" * 40, "-1", str(10**30)])), path)


def test_generated_hostile_bodies_never_answer_5xx(
    running: _Running, http: httpx.Client, operations: list[tuple[str, str, dict[str, Any]]]
) -> None:
    schemas = running.schemas
    assert schemas is not None
    strategies = {(m, p): schemas.strategy(s) for m, p, s in operations}
    tried = running.tried

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        method, path, _ = data.draw(st.sampled_from(operations))
        body = data.draw(strategies[(method, path)])
        who = data.draw(st.sampled_from([running.county, running.admin]))
        url = "/api/v1" + _fill(path, data) if not path.startswith("/api/v1") else _fill(path, data)
        tried[f"{method} {path}"] += 1
        _send(running, http, method, url, encode(body), who)

    check()
    _bystander_served(running, http)


def test_the_breakers_counted_nothing_and_the_figures(running: _Running, http: httpx.Client) -> None:
    _bystander_served(running, http)
    breakers = running.breakers()
    assert all(state == "closed" and failures == 0 for state, failures in breakers.values()), breakers
    tried = running.tried
    summary = {
        "requests": sum(running.statuses.values()),
        "server_errors": sum(n for s, n in running.statuses.items() if s >= 500),
        "breaker_failures": sum(f for _, f in breakers.values()),
        "statuses": dict(sorted(running.statuses.items())),
        "generated_operations": len(tried),
        "generated_requests": sum(tried.values()),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary))
    assert summary["server_errors"] == 0
