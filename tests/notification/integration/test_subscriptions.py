"""Subscriptions over HTTP: the secret once in `whsec_` form, scope (404 outside it, 403 for
roles that may not subscribe), pattern validation, and the SSRF guard at registration."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.settings import Settings
from tests.helpers import auth, running_app
from tests.notification.integration.support import COUNTY, OTHER_COUNTY, VILLAGE


def dept(settings: Settings, region: str = COUNTY, code: str = "minzheng") -> dict[str, str]:
    return auth(settings, "department", region, dept=code, sub=f"dept-{code}-{region}")


def body(url: str, **kw: Any) -> dict[str, Any]:
    return {"url": url, "event_types": ["risk.*"], "description": "民政局风险预警接收", **kw}


async def test_create_read_list_with_secret_once(client: httpx.AsyncClient, settings: Settings) -> None:
    r = await client.post("/api/v1/subscriptions", json=body("http://127.0.0.1:9/hook"), headers=dept(settings))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["secret"].startswith("whsec_")
    assert len(created["secret"]) > 40
    assert created["region"] == COUNTY
    assert created["status"] == "active"
    assert created["owner"] == {"role": "department", "region": COUNTY, "dept": "minzheng"}
    got = await client.get(f"/api/v1/subscriptions/{created['id']}", headers=dept(settings))
    assert got.status_code == 200
    assert "secret" not in got.json()
    assert got.json()["deliveries"] == {"pending": 0, "delivered": 0, "dead": 0}
    listing = (await client.get("/api/v1/subscriptions", headers=dept(settings))).json()
    assert [s["id"] for s in listing["items"]] == [created["id"]]
    # the county's officers see it; another department or another county does not
    assert (
        await client.get(f"/api/v1/subscriptions/{created['id']}", headers=auth(settings, "county", COUNTY))
    ).status_code == 200
    other_dept = dept(settings, code="yibao")
    assert (await client.get(f"/api/v1/subscriptions/{created['id']}", headers=other_dept)).status_code == 404
    other_county = dept(settings, region=OTHER_COUNTY)
    r = await client.get(f"/api/v1/subscriptions/{created['id']}", headers=other_county)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/api/v1/subscriptions", headers=other_county)).json()["items"] == []


async def test_scope_roles_and_validation(client: httpx.AsyncClient, settings: Settings) -> None:
    url = "http://127.0.0.1:9/hook"
    r = await client.post("/api/v1/subscriptions", json=body(url, region=OTHER_COUNTY), headers=dept(settings))
    assert r.status_code == 404, r.text
    r = await client.post("/api/v1/subscriptions", json=body(url, region=VILLAGE), headers=dept(settings))
    assert r.status_code == 201
    assert r.json()["region"] == VILLAGE
    r = await client.post("/api/v1/subscriptions", json=body(url), headers=auth(settings, "citizen", VILLAGE))
    assert r.status_code == 403
    r = await client.post("/api/v1/subscriptions", json=body(url), headers=auth(settings, "village", VILLAGE))
    assert r.status_code == 403
    r = await client.post(
        "/api/v1/subscriptions", json=body(url, event_types=["risk.*", "Risk", "case.x.y"]), headers=dept(settings)
    )
    assert r.status_code == 422
    assert [e["path"] for e in r.json()["errors"]] == ["event_types.1", "event_types.2"]
    r = await client.post("/api/v1/subscriptions", json=body(url, status="active"), headers=dept(settings))
    assert r.status_code == 422
    assert r.json()["code"] == "validation_failed"
    r = await client.post("/api/v1/subscriptions", json=body(url, region="3412210"), headers=dept(settings))
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "region"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://localhost:8080/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://10.0.0.1/hook", "private"),
        ("http://192.168.1.10/hook", "private"),
        ("http://[::1]:8080/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://169.254.10.10/hook", "link-local"),
        ("ftp://example.org/hook", "http or https"),
        ("http://user:pw@example.org/hook", "user name"),
        ("http://does-not-exist.invalid/hook", "does not resolve"),
    ],
)
async def test_ssrf_refused_at_registration(settings: Settings, app_factory: Any, url: str, why: str) -> None:
    closed = settings.model_copy(update={"webhook_allowlist": ""})
    async with running_app(app_factory(), closed) as client:
        r = await client.post("/api/v1/subscriptions", json=body(url), headers=dept(closed))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["code"] == "webhook_url_refused"
    [err] = problem["errors"]
    assert err["path"] == "url"
    assert why in err["message"]


async def test_allowlist_admits_loopback(client: httpx.AsyncClient, settings: Settings) -> None:
    for url in ("http://127.0.0.1:8080/hook", "http://localhost:8080/hook", "http://[::1]:8080/hook"):
        r = await client.post("/api/v1/subscriptions", json=body(url), headers=dept(settings))
        assert r.status_code == 201, (url, r.text)
    r = await client.post("/api/v1/subscriptions", json=body("http://10.0.0.1/hook"), headers=dept(settings))
    assert r.status_code == 422
