"""Factories and a stand-in county check system for the dibao / 特困 tests."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import nats
from aiohttp import web

from shared.app import CST
from shared.events import Event, encode_event
from shared.identifiers import id_check_digit


def id_number(born: str = "19800101", serial: str = "001", county: str = "341221") -> str:
    first17 = f"{county}{born}{serial}"
    return first17 + id_check_digit(first17)


def member(born: str, serial: str, relation: str = "head", **kw: Any) -> dict[str, Any]:
    return {
        "id_number": id_number(born, serial),
        "name": f"成员{serial}",
        "relation": relation,
        "labor_capacity": kw.pop("labor_capacity", "ordinary"),
        **kw,
    }


def dibao_body(village: str, *, wage: str = "9000", programme: str = "dibao", **kw: Any) -> dict[str, Any]:
    """Three members, a wage income of 9,000 a year: per-capita 3,000 < the 4,800 standard."""
    members = kw.pop(
        "members",
        [
            member("19800101", "011", "head", person_ref="per-head"),
            member("19820202", "022", "spouse", person_ref="per-spouse"),
            member("20150303", "033", "child", person_ref="per-child"),
        ],
    )
    return {
        "programme": programme,
        "region_code": village,
        "household": {"members": members, "income": {"wage": wage}},
        "consent": {"commitment": True, "asset_query_authorized": True},
        **kw,
    }


class Clock:
    """The service clock (ctx.clock) set by the test."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def set(self, day: str, hour: int = 10) -> None:
        self.at = dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=CST)


def clock_of(client: httpx.AsyncClient, start: str = "2026-12-01") -> Clock:
    clock = Clock(dt.datetime.fromisoformat(start).replace(hour=10, tzinfo=CST))
    client.app.state.ctx.clock = clock  # type: ignore[attr-defined]
    return clock


class CountyCheckSystem:
    """A real local HTTP server standing in for a county's check system: records requests and
    answers polls with whatever result the test sets."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.results: dict[str, dict[str, Any]] = {}
        self.url = ""

    async def _post(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        return web.json_response({"reference": f"HB-{len(self.requests):04d}"}, status=202)

    async def _get(self, request: web.Request) -> web.Response:
        result = self.results.get(request.match_info["id"])
        if result is None:
            return web.json_response({"status": "pending"}, status=202)
        return web.json_response({"status": "done", **result})

    @asynccontextmanager
    async def running(self) -> AsyncIterator[CountyCheckSystem]:
        app = web.Application()
        app.router.add_post("/checks", self._post)
        app.router.add_get("/checks/{id}", self._get)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        try:
            yield self
        finally:
            await runner.cleanup()


async def publish(nats_url: str, event: Event) -> None:
    subject, payload = encode_event(event)
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().publish(subject, payload, headers={"Nats-Msg-Id": event.id})
    finally:
        await nc.close()


def dump(x: Any) -> str:
    return json.dumps(x, ensure_ascii=False, indent=1)
