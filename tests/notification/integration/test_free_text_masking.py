"""ID and phone numbers typed into a subscription's description are masked before it is stored:
the responses and the stored row (read with SQL) hold only the masked forms."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from shared.identifiers import id_check_digit
from shared.pii import mask_id_number
from shared.settings import Settings
from tests.helpers import auth
from tests.notification.integration.support import COUNTY

ID = "34122119680416369" + id_check_digit("34122119680416369")
TYPED = f"联系人 +86 138 1234 5678，{ID}"
MASKED = f"联系人 +86 138****5678，{mask_id_number(ID)}"


def _clean(value: Any) -> None:
    text = str(value)
    assert ID not in text
    assert "138 1234 5678" not in text


async def test_subscription_description_is_masked(client: httpx.AsyncClient, settings: Settings) -> None:
    h = auth(settings, "department", COUNTY, dept="minzheng", sub=f"dept-minzheng-{COUNTY}")
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["risk.*"], "description": TYPED}
    r = await client.post("/api/v1/subscriptions", json=body, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["description"] == MASKED
    sub_id = r.json()["id"]
    for path in ("/api/v1/subscriptions", f"/api/v1/subscriptions/{sub_id}"):
        got = await client.get(path, headers=h)
        assert got.status_code == 200
        _clean(got.text)
    async with client.app.state.ctx.engine.connect() as conn:  # type: ignore[attr-defined]
        stored = (await conn.execute(sa.text("SELECT description FROM subscriptions"))).scalar_one()
    assert stored == MASKED


async def test_a_description_stored_in_clear_is_masked_when_read(client: httpx.AsyncClient, settings: Settings) -> None:
    h = auth(settings, "department", COUNTY, dept="minzheng", sub=f"dept-minzheng-{COUNTY}")
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["risk.*"], "description": "x"}
    r = await client.post("/api/v1/subscriptions", json=body, headers=h)
    assert r.status_code == 201, r.text
    async with client.app.state.ctx.engine.begin() as conn:  # type: ignore[attr-defined]
        await conn.execute(sa.text("UPDATE subscriptions SET description = :d"), {"d": TYPED})
    got = await client.get(f"/api/v1/subscriptions/{r.json()['id']}", headers=h)
    assert got.json()["description"] == MASKED
    listed = await client.get("/api/v1/subscriptions", headers=h)
    _clean(listed.text)
