"""fangfan's DCI Social Registry API against the official OpenAPI documents (spdci/standards,
verbatim in tests/contract/data/dci/): every request and response body of every endpoint is
validated; JWS round trip and tamper refusal; async search callback to a real local HTTP server;
subscribe → a household becomes monitored → exactly one notification (real NATS, one retry on
a 503), unsubscribe stops it; consent, masking and jurisdiction."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import jwt
import pytest
import sqlalchemy as sa
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from services.identification.adapters.dci_keys import SigningKey, verify_envelope
from services.identification.adapters.dci_orm import dci_outbound
from services.identification.domain.dci import DciRefusal, canonical_json
from tests.identification.integration.test_cases_support import (
    COUNTY,
    VILLAGE,
    Service,
    application,
    id_number,
    service,
)

__all__ = ["service"]

DATA = Path(__file__).parent / "data" / "dci"
ENROLLED = "fangfan:RegistryEventType:MonitoringEnrolled"


def _load(name: str) -> dict[str, Any]:
    spec = yaml.load((DATA / name).read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))

    def fix(node: Any) -> None:  # `type: enum` (NotifyEventRequest.response_entity) is no JSON Schema type
        if isinstance(node, dict):
            if node.get("type") == "enum":
                del node["type"]
            for v in node.values():
                fix(v)
        elif isinstance(node, list):
            for v in node:
                fix(v)

    def canonical(ref: str) -> str:
        """A pointer that passes through a `$ref` (the spec's `…/message/oneOf/0/properties/…`,
        where `oneOf/0` is a reference): rewritten to the target's own path, as OpenAPI tools
        resolve it."""
        node: Any = spec
        path: list[str] = []
        for raw in ref.removeprefix("#/").split("/"):
            token = raw.replace("~1", "/").replace("~0", "~")
            while isinstance(node, dict) and token not in node and "$ref" in node:
                path = [p.replace("~1", "/").replace("~0", "~") for p in node["$ref"].removeprefix("#/").split("/")]
                node = spec
                for t in path:
                    node = node[t]
            node = node[int(token)] if isinstance(node, list) else node[token]
            path.append(token)
        return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path)

    def refs(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
                node["$ref"] = canonical(node["$ref"])
            for v in node.values():
                refs(v)
        elif isinstance(node, list):
            for v in node:
                refs(v)

    fix(spec)
    refs(spec)
    return spec


SOCIAL = _load("social_api_v1.0.0.yaml")
CORE = _load("registry_core_api_v1.0.0.yaml")
_JSON = "application~1json"


def _pointer(path: str) -> str:
    return path.replace("~", "~0").replace("/", "~1")


def validate(spec: dict[str, Any], pointer: str, body: Any) -> None:
    """Validate against the schema at `pointer` inside the whole document (its $refs resolve
    there), as JSON Schema draft 4 — what OpenAPI 3.0 schemas are."""
    jsonschema.Draft4Validator({**spec, "$ref": "#" + pointer}).validate(body)


def request_of(spec: dict[str, Any], path: str, body: Any) -> None:
    validate(spec, f"/paths/{_pointer(path)}/post/requestBody/content/{_JSON}/schema", body)


def sync_response_of(spec: dict[str, Any], path: str, body: Any) -> None:
    validate(spec, f"/paths/{_pointer(path)}/post/responses/default/content/{_JSON}/schema", body)


def ack_of(spec: dict[str, Any], body: Any) -> None:
    validate(spec, f"/components/responses/Response/content/{_JSON}/schema", body)


def error_of(spec: dict[str, Any], body: Any) -> None:
    validate(spec, f"/components/responses/HttpErrorResponse/content/{_JSON}/schema", body)
    validate(spec, f"/components/responses/Response/content/{_JSON}/schema", body)


# --- a partner system ---------------------------------------------------------------------------


class Partner:
    """A DCI partner: its Ed25519 key, its JWKS, and signed envelopes."""

    def __init__(self, sender_id: str, sub: str) -> None:
        self.sender_id, self.sub = sender_id, sub
        self.key = Ed25519PrivateKey.generate()
        self.kid = f"{sender_id}-k1"
        jwk = json.loads(OKPAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": self.kid, "alg": "EdDSA", "use": "sig"}]}

    def envelope(
        self, action: str, message: dict[str, Any], at: dt.datetime, *, sender_uri: str | None = None
    ) -> dict[str, Any]:
        header: dict[str, Any] = {
            "version": "1.0.0",
            "message_id": str(uuid.uuid4()),
            "message_ts": at.isoformat(),
            "action": action,
            "sender_id": self.sender_id,
            "receiver_id": "fangfan",
            "total_count": 1,
            "is_msg_encrypted": False,
        }
        if sender_uri:
            header["sender_uri"] = sender_uri
        payload = canonical_json({"header": header, "message": message})
        sig = jwt.api_jws.encode(
            payload, self.key, algorithm="EdDSA", headers={"kid": self.kid}, is_payload_detached=True
        )
        return {"signature": sig, "header": header, "message": message}


class Receiver:
    """A partner's callback endpoint: a real HTTP server on 127.0.0.1 recording every POST;
    `fail_first` paths answer 503 once."""

    def __init__(self, fail_first: set[str] | None = None) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.fail_first = set(fail_first or ())
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                if self.path in outer.fail_first:
                    outer.fail_first.discard(self.path)
                    self.send_response(503)
                else:
                    outer.received.append((self.path, body))
                    self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_port}/dci"

    def on(self, path: str) -> list[dict[str, Any]]:
        return [b for p, b in self.received if p == f"/dci/{path}"]

    async def wait_for(self, path: str, count: int = 1, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.on(path)) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        got = self.on(path)
        assert len(got) >= count, f"{path}: {len(got)} of {count} received"
        return got

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail_first={"/dci/notify"})
    yield r
    r.close()


async def _register(svc: Service, partner: Partner) -> None:
    r = await svc.client.post(
        "/api/v1/registry/partners",
        json={
            "sender_id": partner.sender_id,
            "name": "县社会救助信息系统",
            "client_sub": partner.sub,
            "jwks": partner.jwks,
        },
        headers=svc.headers("admin", ""),
    )
    assert r.status_code == 201, r.text
    assert r.json()["kids"] == [partner.kid]


async def _household(svc: Service, ids: list[str] | None = None, region: str = VILLAGE) -> tuple[str, str, list[str]]:
    ids = ids or [id_number(), id_number("19820202")]
    r = await svc.apply(application(region, ids), svc.headers("village", region))
    assert r.status_code == 201, r.text
    return r.json()["household_id"], r.json()["case_id"], ids


def _consent(at: dt.datetime) -> dict[str, Any]:
    return {
        "@type": "Consent",
        "ts": at.isoformat(),
        "purpose": {
            "text": "低保审核比对",
            "code": "social-assistance-check",
            "ref_uri": "https://mca.example.cn/consent",
        },
    }


def _search(criteria: dict[str, Any], at: dt.datetime, ref: str = "ref-1") -> dict[str, Any]:
    return {
        "transaction_id": f"txn-{uuid.uuid4().hex[:12]}",
        "search_request": [
            {"reference_id": ref, "timestamp": at.isoformat(), "search_criteria": criteria, "locale": "zho"}
        ],
    }


async def _post(svc: Service, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return await svc.client.post(f"/api/v1/registry{path}", json=body, headers=headers)


# --- JWS ----------------------------------------------------------------------------------------


def test_jws_round_trip_and_tamper_refusal() -> None:
    from services.identification.adapters.dci_keys import _from_private, sign_envelope

    ours: SigningKey = _from_private(Ed25519PrivateKey.generate())
    header = {"message_id": "m1", "message_ts": "2024-03-04T02:00:00Z", "action": "on-search", "status": "succ"}
    message = {"transaction_id": "t1", "correlation_id": "c1", "search_response": []}
    signature = sign_envelope(ours, header, message)
    protected, empty, _ = signature.split(".")
    assert empty == ""  # detached payload
    assert json.loads(jwt.utils.base64url_decode(protected)) == {
        "alg": "EdDSA",
        "b64": False,
        "crit": ["b64"],
        "kid": ours.kid,
        "typ": "JOSE",
    }
    verify_envelope(signature, header, message, ours.jwks())  # round trip
    for tampered in (
        (header, {**message, "correlation_id": "c2"}),
        ({**header, "status": "rjct"}, message),
    ):
        with pytest.raises(DciRefusal) as refused:
            verify_envelope(signature, *tampered, ours.jwks())
        assert (refused.value.code, refused.value.status) == ("err.signature.invalid", 401)
    other = _from_private(Ed25519PrivateKey.generate())
    with pytest.raises(DciRefusal) as refused:
        verify_envelope(signature, header, message, {"keys": [{**other.public_jwk, "kid": ours.kid}]})
    assert refused.value.code == "err.signature.invalid"
    with pytest.raises(DciRefusal) as refused:
        verify_envelope(None, header, message, ours.jwks())
    assert refused.value.code == "err.signature.missing"


# --- search -------------------------------------------------------------------------------------


async def test_sync_search_consent_masking_jurisdiction_and_paging(service: Service) -> None:
    county = Partner("mca.341221.example.cn", "spmis-341221")
    dept = Partner("hrss.34.example.cn", "hrss-34")
    other = Partner("mca.341222.example.cn", "spmis-341222")
    for p in (county, dept, other):
        await _register(service, p)
    hid, _, ids = await _household(service)
    await _household(service)
    await _household(service)
    as_county = service.headers("county", COUNTY, sub=county.sub)
    now = service.now[0]

    # by resident ID number, with consent, as the county: members with the ID number in clear
    criteria = {"query_type": "idtype-value", "query": {"type": "UIN", "value": ids[1]}, "consent": _consent(now)}
    body = county.envelope("search", _search(criteria, now), now)
    request_of(SOCIAL, "/registry/sync/search", body)
    r = await _post(service, "/sync/search", body, as_county)
    assert r.status_code == 200, r.text
    sync_response_of(SOCIAL, "/registry/sync/search", r.json())
    jwks = (await service.client.get("/api/v1/registry/.well-known/jwks.json")).json()
    verify_envelope(r.json()["signature"], r.json()["header"], r.json()["message"], jwks)
    [item] = r.json()["message"]["search_response"]
    assert item["status"] == "succ"
    assert item["pagination"] == {"page_size": 20, "page_number": 1, "total_count": 1}
    [record] = item["data"]["reg_records"]
    assert record["household_identifier"] == hid
    assert record["household_size"] == "2"
    assert record["address"] == {"region_code": VILLAGE, "country_code": "CN"}
    values = [m["household_member"]["demographic_info"]["person"]["identifier_value"] for m in record["member_list"]]
    assert values == ids
    assert record["household_head_info"]["person"]["name"] == {"surname": "张", "given_name": "三"}

    # the same as a department (province-wide): ID numbers masked, no names
    as_dept = service.headers("department", "34", sub=dept.sub, dept="hrss")
    r = await _post(service, "/sync/search", dept.envelope("search", _search(criteria, now), now), as_dept)
    sync_response_of(SOCIAL, "/registry/sync/search", r.json())
    [record] = r.json()["message"]["search_response"][0]["data"]["reg_records"]
    person = record["member_list"][1]["household_member"]["demographic_info"]["person"]
    assert person["identifier_value"] == ids[1][:6] + "********" + ids[1][14:]
    assert "name" not in person
    assert ids[1] not in r.text

    # without consent: an identifier search is refused
    no_consent = {"query_type": "idtype-value", "query": {"type": "UIN", "value": ids[1]}}
    r = await _post(service, "/sync/search", county.envelope("search", _search(no_consent, now), now), as_county)
    sync_response_of(SOCIAL, "/registry/sync/search", r.json())
    [item] = r.json()["message"]["search_response"]
    assert (item["status"], item["status_reason_code"]) == ("rjct", "rjct.search_criteria.invalid")
    assert "consent" in item["status_reason_message"]
    assert "data" not in item

    # another county's partner: the household is outside its jurisdiction → not found
    as_other = service.headers("county", "341222", sub=other.sub)
    r = await _post(service, "/sync/search", other.envelope("search", _search(criteria, now), now), as_other)
    [item] = r.json()["message"]["search_response"]
    assert item["status"] == "succ"
    assert item["data"]["reg_records"] == []
    assert item["pagination"]["total_count"] == 0

    # a predicate search, paged, without consent: non-personal fields only
    predicate = {
        "query_type": "predicate",
        "query": [
            {
                "seq_num": 1,
                "expression1": {"attribute_name": "region_code", "operator": "eq", "attribute_value": VILLAGE},
            },
            {
                "seq_num": 2,
                "condition": "and",
                "expression1": {
                    "attribute_name": "household_status",
                    "operator": "eq",
                    "attribute_value": "registered",
                },
            },
        ],
        "sort": [{"attribute_name": "registration_date", "sort_order": "asc"}],
        "pagination": {"page_size": 2, "page_number": 2},
    }
    body = county.envelope("search", _search(predicate, now), now)
    request_of(SOCIAL, "/registry/sync/search", body)
    r = await _post(service, "/sync/search", body, as_county)
    sync_response_of(SOCIAL, "/registry/sync/search", r.json())
    [item] = r.json()["message"]["search_response"]
    assert item["pagination"] == {"page_size": 2, "page_number": 2, "total_count": 3}
    [record] = item["data"]["reg_records"]
    assert "member_list" not in record
    assert "household_head_info" not in record
    assert {"name": "monitoring_status", "value": "registered"} in record["additional_attributes"]


async def test_refusals_carry_the_spec_error_codes(service: Service) -> None:
    partner = Partner("mca.341221.example.cn", "spmis-341221")
    await _register(service, partner)
    now = service.now[0]
    headers = service.headers("county", COUNTY, sub=partner.sub)
    criteria = {
        "query_type": "predicate",
        "query": [{"expression1": {"attribute_name": "region_code", "operator": "eq", "attribute_value": COUNTY}}],
    }
    good = partner.envelope("search", _search(criteria, now), now)

    async def refused(body: dict[str, Any], status: int, code: str, h: dict[str, str] = headers) -> None:
        r = await _post(service, "/sync/search", body, h)
        assert r.status_code == status, r.text
        error_of(SOCIAL, r.json())
        assert r.json()["message"]["ack_status"] == "ERR"
        assert r.json()["message"]["error"]["code"] == code
        assert r.json()["errors"] == [r.json()["message"]["error"]]

    tampered = json.loads(json.dumps(good))
    tampered["message"]["search_request"][0]["search_criteria"]["query"][0]["expression1"]["attribute_value"] = "34"
    await refused(tampered, 401, "err.signature.invalid")
    await refused({k: v for k, v in good.items() if k != "signature"}, 401, "err.signature.missing")
    stranger = Partner("unknown.example.cn", "spmis-341221")
    await refused(stranger.envelope("search", _search(criteria, now), now), 403, "err.sender_id.invalid")
    # a registered sender_id used by another bearer subject
    await refused(good, 403, "err.sender_id.invalid", service.headers("county", COUNTY, sub="someone-else"))
    await refused(partner.envelope("subscribe", _search(criteria, now), now), 400, "err.request.bad")
    stale = partner.envelope("search", _search(criteria, now), now - dt.timedelta(hours=1))
    await refused(stale, 400, "err.request.bad")
    await refused(good, 403, "err.request.forbidden", service.headers("village", VILLAGE, sub=partner.sub))
    # async search without a callback URL, and to a refused (metadata) address
    r = await _post(service, "/search", good, headers)
    assert (r.status_code, r.json()["message"]["error"]["code"]) == (400, "err.sender_uri.invalid")
    meta = partner.envelope("search", _search(criteria, now), now, sender_uri="http://169.254.169.254/on-search")
    r = await _post(service, "/search", meta, headers)
    assert (r.status_code, r.json()["message"]["error"]["code"]) == (400, "err.sender_uri.invalid")
    error_of(SOCIAL, r.json())


async def test_async_search_posts_on_search_and_txn_status(service: Service, receiver: Receiver) -> None:
    partner = Partner("mca.341221.example.cn", "spmis-341221")
    await _register(service, partner)
    hid, _, ids = await _household(service)
    headers = service.headers("county", COUNTY, sub=partner.sub)
    now = service.now[0]
    criteria = {"query_type": "idtype-value", "query": {"type": "UIN", "value": ids[0]}, "consent": _consent(now)}
    message = _search(criteria, now, ref="ref-async")
    body = partner.envelope("search", message, now, sender_uri=f"{receiver.base}/on-search")
    request_of(SOCIAL, "/registry/search", body)
    r = await _post(service, "/search", body, headers)
    assert r.status_code == 202, r.text
    ack_of(SOCIAL, r.json())
    assert r.json()["message"]["ack_status"] == "ACK"
    correlation_id = r.json()["message"]["correlation_id"]
    # the same transaction again: the same correlation id, no second search
    again = await _post(
        service, "/search", partner.envelope("search", message, now, sender_uri=f"{receiver.base}/on-search"), headers
    )
    assert again.json()["message"]["correlation_id"] == correlation_id

    [callback] = await receiver.wait_for("on-search")
    request_of(SOCIAL, "/registry/on-search", callback)
    jwks = (await service.client.get("/api/v1/registry/.well-known/jwks.json")).json()
    verify_envelope(callback["signature"], callback["header"], callback["message"], jwks)
    assert callback["header"]["action"] == "on-search"
    assert callback["header"]["receiver_id"] == partner.sender_id
    assert callback["message"]["correlation_id"] == correlation_id
    [item] = callback["message"]["search_response"]
    assert item["reference_id"] == "ref-async"
    assert item["data"]["reg_records"][0]["household_identifier"] == hid

    # the transaction's status, sync and async (txn-on-status callback)
    status_request = {
        "transaction_id": "status-1",
        "txnstatus_request": {
            "reference_id": "st-1",
            "txn_type": "search",
            # a string attribute_value matches two branches of the spec's oneOf: only a list validates
            "attribute_type": "reference_id_list",
            "attribute_value": ["ref-async"],
        },
    }
    body = partner.envelope("txn-status", status_request, service.now[0])
    request_of(SOCIAL, "/registry/sync/txn/status", body)
    r = await _post(service, "/sync/txn/status", body, headers)
    assert r.status_code == 200, r.text
    sync_response_of(SOCIAL, "/registry/sync/txn/status", r.json())
    status = r.json()["message"]["txnstatus_response"]["txn_status"]
    assert status["correlation_id"] == correlation_id
    assert status["search_response"][0]["status"] == "succ"
    assert "data" not in status["search_response"][0]  # statuses carry no records
    body = partner.envelope("txn-status", status_request, service.now[0], sender_uri=f"{receiver.base}/txn/on-status")
    request_of(SOCIAL, "/registry/txn/status", body)
    r = await _post(service, "/txn/status", body, headers)
    assert r.status_code == 202, r.text
    ack_of(SOCIAL, r.json())
    [on_status] = await receiver.wait_for("txn/on-status")
    request_of(SOCIAL, "/registry/txn/on-status", on_status)
    assert on_status["message"]["txnstatus_response"]["txn_status"]["correlation_id"] == correlation_id


# --- subscriptions and notifications ------------------------------------------------------------


async def _notify_consumer_handled(svc: Service) -> int:
    ctx = svc.client.app.state.ctx  # type: ignore[attr-defined]
    return sum(c.handled for c in ctx.consumers if c.name.endswith("dci-notify"))


async def test_subscribe_notify_exactly_once_then_unsubscribe(service: Service, receiver: Receiver) -> None:
    partner = Partner("mca.341221.example.cn", "spmis-341221")
    await _register(service, partner)
    headers = service.headers("county", COUNTY, sub=partner.sub)
    now = service.now[0]
    subscribe_request = {
        "transaction_id": "sub-txn-1",
        "subscribe_request": [
            {
                "reference_id": "sub-1",
                "timestamp": now.isoformat(),
                "subscribe_criteria": {
                    "reg_type": "ns:org:RegistryType:Social",
                    "reg_event_type": ENROLLED,
                    "filter_type": "predicate",
                    "filter": [
                        {
                            "seq_num": 1,
                            "expression1": {
                                "attribute_name": "region_code",
                                "operator": "eq",
                                "attribute_value": COUNTY,
                            },
                        }
                    ],
                    "notify_record_type": "Household",
                },
            },
            {
                "reference_id": "sub-2",
                "timestamp": now.isoformat(),
                "subscribe_criteria": {
                    "reg_event_type": ENROLLED,
                    "filter": [
                        {
                            "expression1": {
                                "attribute_name": "region_code",
                                "operator": "eq",
                                "attribute_value": "341222",
                            }
                        }
                    ],
                    "notify_record_type": "Household",
                },
            },
        ],
    }
    body = partner.envelope("subscribe", subscribe_request, now, sender_uri=f"{receiver.base}/on-subscribe")
    request_of(CORE, "/registry/subscribe", body)
    r = await _post(service, "/subscribe", body, headers)
    assert r.status_code == 202, r.text
    ack_of(CORE, r.json())
    [on_subscribe] = await receiver.wait_for("on-subscribe")
    request_of(CORE, "/registry/on-subscribe", on_subscribe)
    first, outside = on_subscribe["message"]["subscribe_response"]
    assert first["status"] == "succ"
    code = first["subscriptions"][0]["code"]
    assert (outside["status"], outside["status_reason_code"]) == ("rjct", "rjct.notify_details.invalid")

    # the subscription's status (registry core: txn_type on-subscribe)
    status_request = {
        "transaction_id": "status-sub",
        # registry core's TxnStatusRequest validates no message at all (its attribute_value oneOf
        # branches overlap): the Social Registry's, whose txn_type is spelled `subscibe`
        "txnstatus_request": {
            "reference_id": "st",
            "txn_type": "subscibe",
            "attribute_type": "reference_id_list",
            "attribute_value": ["sub-1"],
        },
    }
    body = partner.envelope("txn-status", status_request, now)
    request_of(SOCIAL, "/registry/sync/txn/status", body)
    r = await _post(service, "/sync/txn/status", body, headers)
    sync_response_of(CORE, "/registry/sync/txn/status", r.json())
    assert (
        r.json()["message"]["txnstatus_response"]["txn_status"]["subscribe_response"][0]["subscriptions"][0]["code"]
        == code
    )

    # a household becomes monitored → one notification (the receiver's first answer was 503: retried)
    hid, case_id, _ = await _household(service)
    await service.to_monitored(case_id)
    [notify] = await receiver.wait_for("notify")
    request_of(CORE, "/registry/notify", notify)
    jwks = (await service.client.get("/api/v1/registry/.well-known/jwks.json")).json()
    verify_envelope(notify["signature"], notify["header"], notify["message"], jwks)
    [event] = notify["message"]["notify_event"]
    assert event["data"]["reg_event_type"] == ENROLLED
    assert event["data"]["reg_records"]["household_identifier"] == hid
    assert event["data"]["reg_records"]["household_status"] == "monitored"
    assert "member_list" not in event["data"]["reg_records"]
    await asyncio.sleep(2.0)  # a second delivery would have come by now
    assert len(receiver.on("notify")) == 1
    ctx = service.client.app.state.ctx  # type: ignore[attr-defined]
    async with ctx.sessions() as session:
        rows = (await session.execute(sa.select(dci_outbound.c.status).where(dci_outbound.c.action == "notify"))).all()
    assert [r.status for r in rows] == ["delivered"]

    # unsubscribe (the published schema requires `timestamp` and `sunscription_codes`, sic)
    unsubscribe_request = {
        "transaction_id": "unsub-1",
        "timestamp": service.now[0].isoformat(),
        "subscription_codes": [code],
        "sunscription_codes": [code],
    }
    body = partner.envelope(
        "unsubscribe", unsubscribe_request, service.now[0], sender_uri=f"{receiver.base}/on-unsubscribe"
    )
    request_of(CORE, "/registry/unsubscribe", body)
    r = await _post(service, "/unsubscribe", body, headers)
    assert r.status_code == 202, r.text
    ack_of(CORE, r.json())
    [on_unsubscribe] = await receiver.wait_for("on-unsubscribe")
    request_of(CORE, "/registry/on-unsubscribe", on_unsubscribe)
    assert on_unsubscribe["message"]["status"] == "succ"
    assert on_unsubscribe["message"]["subscription_status"] == [{"code": code, "status": "unsubscribe"}]

    # another household becomes monitored: handled by the consumer, nothing sent
    handled = await _notify_consumer_handled(service)
    _, case_id, _ = await _household(service)
    await service.to_monitored(case_id)
    deadline = time.monotonic() + 15
    while await _notify_consumer_handled(service) <= handled and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert await _notify_consumer_handled(service) > handled
    await asyncio.sleep(0.5)
    assert len(receiver.on("notify")) == 1


async def test_subscription_times_read_back_as_written(service: Service) -> None:
    """A subscription made at 10:00 China time is read back as 02:00 UTC on SQLite and PostgreSQL
    alike (SQLite keeps no offset): an event at 10:05 is after it, so it is notified."""
    from services.identification.adapters.dci_repo import DciRepository
    from tests.identification.integration.test_cases_support import CST

    ctx = service.client.app.state.ctx  # type: ignore[attr-defined]
    at = dt.datetime(2024, 3, 4, 10, 0, tzinfo=CST)
    async with ctx.uow() as uow:
        await DciRepository(uow.session).add_subscription(
            code="c1", sender_id="s", owner_sub="o", owner_role="county", owner_region=COUNTY, region=COUNTY,
            reg_event_type=ENROLLED, notify_record_type="Household", notify_uri="http://127.0.0.1/notify",
            criteria={}, status="subscribe", transaction_id="t", reference_id="r", created_at=at,
        )  # fmt: skip
        await uow.commit()
    async with ctx.uow() as uow:
        [sub] = await DciRepository(uow.session).subscribers_of(ENROLLED)
    assert sub.created_at == at
    assert sub.created_at <= dt.datetime(2024, 3, 4, 2, 5, tzinfo=dt.UTC)
