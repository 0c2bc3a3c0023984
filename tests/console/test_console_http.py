"""The console's sign-in, session cookie, CSRF checks and security headers, over HTTP against the
real gateway app (no browser and no services needed: nothing here reaches the API)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gateway.config import GatewayConfig
from gateway.main import create_app
from shared.auth import make_token
from shared.settings import SERVICES, Settings
from tests.helpers import TEST_SECRETS

pytestmark = pytest.mark.sqlite_only  # the gateway's own SQLite file only


def _settings(tmp_path: Path, env: str) -> Settings:
    return Settings(
        env=env,  # type: ignore[arg-type]
        data_dir=tmp_path,
        nats_url="nats://127.0.0.1:1",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        **TEST_SECRETS,
    )


@pytest.fixture(params=["development", "test"])
async def client(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = _settings(tmp_path, request.param)
    app = create_app(settings, GatewayConfig(upstreams=dict.fromkeys(SERVICES, "http://127.0.0.1:9")))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
            c.settings = settings  # type: ignore[attr-defined]
            yield c


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, html[:500]
    return m.group(1)


def _token(settings: Settings, role: str = "village", region: str = "341221001201", ttl_s: int = 3600) -> str:
    return make_token(sub=f"officer-{role}", role=role, region=region, settings=settings, ttl_s=ttl_s)


async def test_login_page_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    r = await client.get("/console/login")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in r.text  # no inline script
    assert " style=" not in r.text  # no inline style
    development = client.settings.env == "development"  # type: ignore[attr-defined]
    assert ("仅限开发环境" in r.text) is development
    assert ('action="/console/login/dev"' in r.text) is development


async def test_development_sign_in_only_in_development(client: httpx.AsyncClient) -> None:
    page = await client.get("/console/login")
    r = await client.post("/console/login/dev", data={"csrf": _csrf(page.text), "role": "county", "region": "341221"})
    if client.settings.env == "development":  # type: ignore[attr-defined]
        assert r.status_code == 303
        assert r.headers["location"] == "/console/worklist"
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("ff_console=")
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
        assert "Path=/console" in cookie
    else:
        assert r.status_code == 404
        assert "set-cookie" not in r.headers or "ff_console=" not in r.headers.get("set-cookie", "")


async def test_sign_in_with_the_identity_providers_token(client: httpx.AsyncClient) -> None:
    settings: Settings = client.settings  # type: ignore[attr-defined]
    page = await client.get("/console/login")
    csrf = _csrf(page.text)
    r = await client.post("/console/login", data={"csrf": csrf, "token": "Bearer " + _token(settings)})
    assert r.status_code == 303
    assert "ff_console=" in r.headers["set-cookie"]
    # a token signed with another key, an expired one, a citizen's: refused, no session
    forged = make_token(
        sub="x", role="county", region="341221", settings=Settings(**{**TEST_SECRETS, "jwt_secret": "other" * 10})
    )
    for token, status, text in (
        (forged, 401, "invalid_token"),
        (_token(settings, ttl_s=-60), 401, "token_expired"),
        (_token(settings, role="citizen"), 403, "工作人员"),
        ("not a token", 401, "invalid_token"),
    ):
        r = await client.post("/console/login", data={"csrf": csrf, "token": token})
        assert r.status_code == status, (token, r.text[:300])
        assert text in r.text
        assert "ff_console=" not in r.headers.get("set-cookie", "")


async def test_forms_without_the_csrf_token_are_refused(client: httpx.AsyncClient) -> None:
    settings: Settings = client.settings  # type: ignore[attr-defined]
    # sign-in forms: the double-submit value must match its cookie
    await client.get("/console/login")
    r = await client.post("/console/login", data={"csrf": "forged", "token": _token(settings)})
    assert r.status_code == 403
    assert "ff_console=" not in r.headers.get("set-cookie", "")
    # signed in: every POST needs the session's token
    client.cookies.set("ff_console", _token(settings), path="/console")
    for path, data in (
        ("/console/cases/some-case/actions", {"action": "advance", "note": "x"}),
        ("/console/search", {"id_number": "34122119800101001X"}),
        ("/console/logout", {}),
    ):
        r = await client.post(path, data={**data, "csrf": "forged"})
        assert r.status_code == 403, path
        assert "表单已失效" in r.text
    r = await client.post("/console/logout", data={"csrf": ""})
    assert r.status_code == 403


async def test_no_session_goes_to_sign_in(client: httpx.AsyncClient) -> None:
    settings: Settings = client.settings  # type: ignore[attr-defined]
    for path in ("/console", "/console/worklist", "/console/cases/x", "/console/households/x", "/console/dashboard"):
        r = await client.get(path)
        assert r.status_code == 303, path
        assert r.headers["location"] == "/console/login"
    client.cookies.set("ff_console", _token(settings, ttl_s=-60), path="/console")  # expired
    r = await client.get("/console/worklist")
    assert r.headers["location"] == "/console/login"


async def test_id_number_search_is_a_post_form(client: httpx.AsyncClient) -> None:
    settings: Settings = client.settings  # type: ignore[attr-defined]
    client.cookies.set("ff_console", _token(settings), path="/console")
    r = await client.get("/console/search")
    assert r.status_code == 200
    assert re.search(r'<form method="post" action="/console/search"', r.text)
    assert 'name="id_number"' in r.text


async def test_static_files_only_the_consoles_own(client: httpx.AsyncClient) -> None:
    r = await client.get("/console/static/console.css")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/css")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert (await client.get("/console/static/console.js")).headers["content-type"].startswith("text/javascript")
    for name in ("../router.py", "..%2Frouter.py", "router.py", "templates"):
        assert (await client.get(f"/console/static/{name}")).status_code == 404
