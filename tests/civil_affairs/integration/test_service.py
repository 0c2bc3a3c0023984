"""The civil-affairs service starts on a real database and NATS: migrations applied, then ready."""

from __future__ import annotations

import asyncio

import httpx


async def test_the_service_becomes_ready(client: httpx.AsyncClient) -> None:
    body: dict[str, object] = {}
    for _ in range(100):
        r = await client.get("/readyz")
        body = r.json()
        if r.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert body["status"] == "ok", body
    assert body["checks"] == {"database": "ok", "nats": "ok"}
