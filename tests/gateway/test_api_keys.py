"""API keys for machine clients: issued by an admin (shown once), stored hashed in the gateway's
own database (SQLite or PostgreSQL), mapped to role + region, revocable (then 401)."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from tests.gateway.conftest import assert_problem
from tests.helpers import auth, make_settings


async def test_issue_use_list_and_revoke(gateway, upstream, tmp_path, database_url) -> None:
    echo, _ = upstream
    settings = make_settings(tmp_path, nats_url="nats://127.0.0.1:1", database_url=database_url)
    admin = auth(settings, "admin", "")
    async with gateway(settings) as client:
        body = {"name": "民政 data exchange", "role": "department", "region": "341221", "dept": "civil_affairs"}
        r = await client.post("/api/v1/admin/api-keys", json=body, headers=admin)
        assert r.status_code == 201, r.text
        issued = r.json()
        key = issued["key"]
        assert key.startswith("ffk_")
        assert len(key) > 40
        assert issued["prefix"] == key[:12]

        # the key works, as the role and region it was issued for
        r = await client.post("/api/v1/signals", json=[{"kind": "disability"}], headers={"X-API-Key": key})
        assert r.status_code == 200, r.text
        assert r.json()["principal"] == {"sub": f"apikey:{issued['id']}", "role": "department", "region": "341221"}
        assert "x-api-key" not in r.json()["headers"]
        # …and only where that role may go
        r = await client.post("/api/v1/households/import", headers={"X-API-Key": key})
        assert_problem(r, 403, "role_forbidden")

        # listed without the key; only its hash is stored
        listed = (await client.get("/api/v1/admin/api-keys", headers=admin)).json()
        assert [k["id"] for k in listed] == [issued["id"]]
        assert "key" not in listed[0]
        assert "key_hash" not in listed[0]
        engine = client.app.state.api_keys.engine
        async with engine.connect() as conn:
            stored = (await conn.execute(sa.text("SELECT key_hash FROM api_keys"))).scalar_one()
        assert stored == hashlib.sha256(key.encode()).hexdigest()

        # revoked: 401 at once
        r = await client.delete(f"/api/v1/admin/api-keys/{issued['id']}", headers=admin)
        assert r.status_code == 204, r.text
        r = await client.post("/api/v1/signals", json=[], headers={"X-API-Key": key})
        assert_problem(r, 401, "invalid_api_key")
        listed = (await client.get("/api/v1/admin/api-keys", headers=admin)).json()
        assert listed[0]["revoked_at"] is not None
        assert_problem(await client.delete("/api/v1/admin/api-keys/nope", headers=admin), 404, "not_found")
    assert len(echo.seen) == 1


async def test_only_admin_issues_keys_and_only_for_machine_roles(gateway, tmp_path, database_url) -> None:
    settings = make_settings(tmp_path, nats_url="nats://127.0.0.1:1", database_url=database_url)
    admin = auth(settings, "admin", "")
    async with gateway(settings) as client:
        body = {"name": "x", "role": "county", "region": "341221"}
        for role, region in (("province", "34"), ("county", "341221")):
            r = await client.post("/api/v1/admin/api-keys", json=body, headers=auth(settings, role, region))
            assert_problem(r, 403, "role_forbidden")
        assert_problem(await client.post("/api/v1/admin/api-keys", json=body), 401, "missing_token")
        for bad in (
            {**body, "role": "admin"},
            {**body, "role": "citizen"},
            {**body, "region": "34122"},
            {**body, "region": "341"},
            {**body, "role": "department"},  # without dept
            {**body, "status": "active"},  # unknown field
        ):
            r = await client.post("/api/v1/admin/api-keys", json=bad, headers=admin)
            assert_problem(r, 422)
        for bad_key in ("ffk_" + "A" * 43, "not-a-key", ""):
            assert_problem(await client.get("/api/v1/plans", headers={"X-API-Key": bad_key}), 401, "invalid_api_key")
