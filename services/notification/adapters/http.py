"""Outbound HTTP for webhooks and the SMS gateway, behind the SSRF guard: names are resolved by a
resolver that refuses forbidden addresses, and aiohttp connects to exactly the addresses that
resolver checked (no second look-up, so DNS rebinding cannot slip a private address in); IP
literals are checked before the request; redirects are never followed; no proxies from the
environment."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from services.notification.domain.ssrf import (
    Allowlist,
    DestinationRefused,
    check_address,
    check_addresses,
    parse_webhook_url,
)

__all__ = ["GuardedResolver", "HttpResult", "OutboundHttp", "check_destination"]


class RefusedAddress(OSError):
    """Raised inside aiohttp's connector (which expects OSError from a resolver)."""


class GuardedResolver(AbstractResolver):
    def __init__(self, allowlist: Allowlist) -> None:
        self.allowlist = allowlist
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        infos = await self._inner.resolve(host, port, family)
        try:
            check_addresses([i["host"] for i in infos], self.allowlist)
        except DestinationRefused as exc:
            raise RefusedAddress(str(exc)) from None
        return infos

    async def close(self) -> None:
        await self._inner.close()


async def check_destination(url: str, allowlist: Allowlist) -> None:
    """Registration-time check: syntax, then every address the host resolves to."""
    target = parse_webhook_url(url)
    literal = target.ip_literal
    if literal is not None:
        check_address(literal, allowlist)
        return
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except OSError:
        raise DestinationRefused(f"url host {target.host!r} does not resolve") from None
    check_addresses([str(i[4][0]) for i in infos], allowlist)


@dataclass(frozen=True, slots=True)
class HttpResult:
    status: int | None
    latency_ms: float
    error: str | None = None
    refused: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class OutboundHttp:
    """One aiohttp session (connection pool) for all outbound calls of a process."""

    def __init__(self, allowlist: Allowlist, *, timeout_s: float = 10.0, limit: int = 512) -> None:
        self.allowlist = allowlist
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self.allowlist),
                use_dns_cache=False,
                limit=self._limit,
                limit_per_host=64,
            )
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False, auto_decompress=False)
        return self._session

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], *, timeout_s: float | None = None
    ) -> HttpResult:
        start = time.perf_counter()
        try:
            target = parse_webhook_url(url)
            if target.ip_literal is not None:
                check_address(target.ip_literal, self.allowlist)
        except DestinationRefused as exc:
            return HttpResult(None, 0.0, str(exc), refused=True)
        timeout: Any = aiohttp.ClientTimeout(total=timeout_s) if timeout_s else self.timeout
        try:
            async with self._get_session().post(
                url, data=body, headers=headers, allow_redirects=False, timeout=timeout
            ) as resp:
                await resp.content.read(4096)  # drain a little; the body is not used
                status = resp.status
        except aiohttp.ClientConnectorError as exc:
            refused = isinstance(exc.os_error, RefusedAddress) or isinstance(exc.__cause__, RefusedAddress)
            msg = str(exc.os_error) if refused else f"{type(exc).__name__}: {exc}"
            return HttpResult(None, _ms(start), msg[:500], refused=refused)
        except TimeoutError:
            return HttpResult(None, _ms(start), "timeout")
        except (aiohttp.ClientError, OSError) as exc:
            return HttpResult(None, _ms(start), f"{type(exc).__name__}: {exc}"[:500])
        return HttpResult(status, _ms(start))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)
