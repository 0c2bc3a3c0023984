"""SMS providers (短信网关). `SmsProvider` is the interface; `HttpSmsProvider` POSTs to a
configurable URL with a configurable body template, so a real SMS gateway plugs in by
configuration. The phone number passes through here in clear and nowhere else: never logged."""

from __future__ import annotations

import json
import string
from typing import Protocol

import aiohttp

__all__ = ["HttpSmsProvider", "SmsProvider", "SmsSendError"]


class SmsSendError(Exception):
    """The provider did not accept the message (the text says why, without the number)."""


class SmsProvider(Protocol):
    async def send(self, phone: str, text: str, *, kind: str) -> None: ...

    async def close(self) -> None: ...


def _json_escape(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


class HttpSmsProvider:
    """POST `body_template` with `$phone`, `$text` and `$kind` substituted (JSON-escaped)."""

    def __init__(self, url: str, body_template: str, headers: dict[str, str], *, timeout_s: float = 10.0) -> None:
        self.url = url
        self.template = string.Template(body_template)
        self.headers = {"content-type": "application/json; charset=utf-8", **headers}
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, phone: str, text: str, *, kind: str) -> None:
        body = self.template.safe_substitute(
            phone=_json_escape(phone), text=_json_escape(text), kind=_json_escape(kind)
        ).encode()
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout, trust_env=False)
        try:
            async with self._session.post(self.url, data=body, headers=self.headers, allow_redirects=False) as resp:
                await resp.read()
                if not 200 <= resp.status < 300:
                    raise SmsSendError(f"SMS gateway answered HTTP {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SmsSendError(f"SMS gateway unreachable: {type(exc).__name__}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
