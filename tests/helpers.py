"""Helpers for service tests: run a service app in-process with its real lifespan (migrations,
NATS link, outbox relay, consumers) against a real database and NATS, and mint tokens."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import nats
import nats.js.errors
from fastapi import FastAPI

from shared.auth import make_token
from shared.settings import Settings

TEST_SECRETS = {
    "jwt_secret": "test-jwt-secret-0123456789abcdef0123456789abcdef",
    "internal_secret": "test-internal-secret-0123456789abcdef",
    "pii_key": base64.b64encode(b"k" * 32).decode(),
    "pii_index_key": base64.b64encode(b"i" * 32).decode(),
}


def make_settings(tmp_path: Path, *, nats_url: str, database_url: str, **extra: Any) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path,
        nats_url=nats_url,
        database_url=database_url,
        webhook_allowlist="127.0.0.1/32,::1/128",
        **TEST_SECRETS,
        **extra,
    )


def token(settings: Settings, role: str, region: str, *, sub: str | None = None, dept: str | None = None) -> str:
    return make_token(sub=sub or f"test-{role}-{region}", role=role, region=region, dept=dept, settings=settings)


def auth(settings: Settings, role: str, region: str, **kw: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(settings, role, region, **kw)}"}


@contextlib.asynccontextmanager
async def running_app(
    create_app: Callable[[Settings], FastAPI], settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running; an httpx client talking to it in-process."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


async def collect_events(nats_url: str, subject: str, *, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    """Read `count` CloudEvents from the FANGFAN stream matching `subject` (from the start)."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for attempt in range(20):  # a loaded machine: the stream lookup can lag the server's start
            try:
                sub = await js.subscribe(subject, ordered_consumer=True)
                break
            except nats.js.errors.NotFoundError:
                if attempt == 19:
                    raise
                await asyncio.sleep(0.25)
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            try:
                msg = await sub.next_msg(timeout=max(0.1, deadline - time.monotonic()))
            except (TimeoutError, nats.errors.TimeoutError):
                break
            out.append(json.loads(msg.data))
        await sub.unsubscribe()
        return out
    finally:
        await nc.close()
