"""The console's client of the public API: requests go through this gateway's own ASGI app
(authentication, permissions, routing to the services) with the officer's bearer token, in
process — so the console sees exactly what that officer may see over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from starlette.types import ASGIApp

__all__ = ["ApiAnswer", "ConsoleApi"]


@dataclass
class ApiAnswer:
    status: int
    body: Any
    content: bytes
    headers: httpx.Headers

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def problem(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}

    def items(self) -> list[dict[str, Any]]:
        if isinstance(self.body, dict) and isinstance(self.body.get("items"), list):
            return list(self.body["items"])
        if isinstance(self.body, list):
            return list(self.body)
        return []


class ConsoleApi:
    def __init__(self, app: ASGIApp, token: str) -> None:
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 0)),
            base_url="http://console.internal/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )

    async def __aenter__(self) -> ConsoleApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> ApiAnswer:
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        r = await self._client.request(method, path, params=clean, json=json)
        body: Any = None
        if "json" in r.headers.get("content-type", ""):
            try:
                body = r.json()
            except ValueError:
                body = None
        return ApiAnswer(r.status_code, body, r.content, r.headers)

    async def get(self, path: str, **params: Any) -> ApiAnswer:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, body: Any) -> ApiAnswer:
        return await self.request("POST", path, json=body)
