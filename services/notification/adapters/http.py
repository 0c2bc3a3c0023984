"""Outbound HTTP for webhooks, behind the SSRF guard: a name is resolved once per new connection,
every address it resolves to is checked, and the connection goes to exactly the addresses
checked (no second look-up, so DNS rebinding cannot slip a private address in); IP literals are
checked before the request; redirects are never followed; no proxies from the environment."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from services.notification.domain.ssrf import (
    Allowlist,
    DestinationRefused,
    WebhookUrl,
    check_address,
    check_addresses,
    parse_webhook_url,
)

__all__ = ["HttpResult", "OutboundHttp", "check_destination"]


class RefusedAddress(OSError):
    """The name resolves to an address the SSRF guard refuses."""


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


_MAX_BODY = 1 << 20  # a longer answer is not read to its end: that connection is closed instead
_IDLE_S = 15.0  # an idle keep-alive connection older than this is not reused
_PER_HOST = 64


class _Answer(Exception):
    """The connection broke before a complete answer; `fresh` when no byte of it came back."""

    def __init__(self, message: str, *, fresh: bool) -> None:
        super().__init__(message)
        self.fresh = fresh


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection: writes a request in one piece and parses the status
    line, the headers and the body framing (Content-Length, chunked, or to the close) of the
    answer. The body itself is not kept; reading it to its end is what lets the connection be
    reused."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.used = 0
        self.idle_since = time.monotonic()
        self._buf = bytearray()
        self._waiter: asyncio.Future[int] | None = None
        self._status: int | None = None
        self._remaining = 0  # body bytes still to read (Content-Length)
        self._chunked = False
        self.reusable = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if self._waiter is not None and not self._waiter.done():
            try:
                self._parse()
            except ValueError as exc:
                self._fail(f"bad HTTP answer: {exc}")

    def eof_received(self) -> bool | None:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            fresh = not self._buf and self._status is None
            waiter.set_exception(_Answer("connection closed by the receiver", fresh=fresh))

    def _fail(self, message: str) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(_Answer(message, fresh=False))
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # one exchange
    def request(self, head: bytes, body: bytes) -> asyncio.Future[int]:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._status, self._remaining, self._chunked, self.reusable = None, 0, False, False
        self._buf.clear()
        self.used += 1
        self.transport.write(head + body)
        return self._waiter

    def _parse(self) -> None:
        buf = self._buf
        while self._status is None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > 65536:
                    raise ValueError("header section too long")
                return
            lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
            del buf[: end + 4]
            parts = lines[0].split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
                raise ValueError(f"status line {lines[0][:60]!r}")
            status = int(parts[1])
            if 100 <= status < 200:
                continue  # an interim answer; the final one follows
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            keep = parts[0] == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
            self._status = status
            if status in (204, 304):
                self._remaining = 0
            elif "chunked" in headers.get("transfer-encoding", "").lower():
                self._chunked = True
            elif "content-length" in headers:
                self._remaining = int(headers["content-length"])
                if self._remaining > _MAX_BODY:
                    keep, self._remaining = False, 0
            else:
                keep = False  # the body runs to the end of the connection: not read at all
            self.reusable = keep
            if not keep:
                self._finish()  # the status is all we need; the connection is closed
                return
        if self._chunked:
            while True:
                line_end = buf.find(b"\r\n")
                if line_end < 0:
                    return
                size = int(bytes(buf[:line_end]).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    if buf.find(b"\r\n\r\n", line_end) < 0:
                        return  # trailers and the final empty line not all here yet
                    buf.clear()
                    self._finish()
                    return
                if len(buf) < line_end + 2 + size + 2:
                    if size > _MAX_BODY:
                        self.reusable = False
                        self._finish()
                    return
                del buf[: line_end + 2 + size + 2]
        if len(buf) >= self._remaining:
            if len(buf) > self._remaining:
                self.reusable = False  # more than announced: do not trust this connection again
            buf.clear()
            self._finish()

    def _finish(self) -> None:
        assert self._status is not None
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(self._status)
        if not self.reusable:
            self.close()


class OutboundHttp:
    """Outbound POSTs over pooled HTTP/1.1 keep-alive connections, per (scheme, host, port) at
    most 64 at a time. A lean client of our own rather than aiohttp's: the webhook fan-out sends
    thousands of small requests a second and aiohttp's per-request machinery (tasks, timers,
    header objects, a response object) was the largest single cost of the service. A connection
    is opened to exactly the addresses the SSRF guard checked (names resolved once per new
    connection, every address checked); no redirects (a 3xx is just a status), no proxies."""

    def __init__(self, allowlist: Allowlist, *, timeout_s: float = 10.0, limit: int = 512) -> None:
        self.allowlist = allowlist
        self.timeout_s = timeout_s
        self._limit = limit
        self._targets: dict[str, tuple[WebhookUrl, str, str] | str] = {}
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._slots: dict[tuple[str, str, int], asyncio.Semaphore] = {}
        self._ssl: ssl.SSLContext | None = None
        self._closed = False

    def _target(self, url: str) -> tuple[WebhookUrl, str, str] | str:
        """(target, request target, Host header) or the reason the URL is refused; cached by URL
        (the IP-literal check depends only on the URL and the allowlist)."""
        cached = self._targets.get(url)
        if cached is not None:
            return cached
        try:
            target = parse_webhook_url(url)
            if target.ip_literal is not None:
                check_address(target.ip_literal, self.allowlist)
            parts = urlsplit(url)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            host = f"[{target.host}]" if ":" in target.host else target.host
            default = 443 if target.scheme == "https" else 80
            host_header = host if target.port == default else f"{host}:{target.port}"
            value: tuple[WebhookUrl, str, str] | str = (target, path, host_header)
        except DestinationRefused as exc:
            value = str(exc)
        if len(self._targets) > 10_000:
            self._targets.clear()
        self._targets[url] = value
        return value

    async def _connect(self, target: WebhookUrl) -> _Connection:
        loop = asyncio.get_running_loop()
        if target.ip_literal is not None:
            addresses = [str(target.ip_literal)]
        else:
            try:
                infos = await loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
            except OSError as exc:
                raise ConnectionError(f"cannot resolve {target.host}: {exc}") from None
            try:
                addresses = check_addresses([str(i[4][0]) for i in infos], self.allowlist)
            except DestinationRefused as exc:
                raise RefusedAddress(str(exc)) from None
        ssl_ctx = None
        if target.scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            ssl_ctx = self._ssl
        last: Exception | None = None
        for address in addresses:
            try:
                _, conn = await loop.create_connection(
                    _Connection,
                    host=address,
                    port=target.port,
                    ssl=ssl_ctx,
                    server_hostname=target.host if ssl_ctx is not None else None,
                )
                return conn
            except OSError as exc:
                last = exc
        raise ConnectionError(f"cannot connect to {target.host}:{target.port}: {last}")

    def _acquire_idle(self, key: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < _IDLE_S:
                return conn
            conn.close()
        return None

    def _release(self, key: tuple[str, str, int], conn: _Connection) -> None:
        if conn.closed or not conn.reusable or self._closed:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        self._idle.setdefault(key, []).append(conn)

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], *, timeout_s: float | None = None
    ) -> HttpResult:
        start = time.perf_counter()
        target = self._target(url)
        if isinstance(target, str):
            return HttpResult(None, 0.0, target, refused=True)
        dest, path, host_header = target
        key = (dest.scheme, dest.host, dest.port)
        head = "".join(
            [
                f"POST {path} HTTP/1.1\r\nHost: {host_header}\r\nContent-Length: {len(body)}\r\n",
                "User-Agent: fangfan-webhooks\r\n",
                *(f"{k}: {v}\r\n" for k, v in headers.items()),
                "\r\n",
            ]
        ).encode("latin-1")
        slots = self._slots.get(key)
        if slots is None:
            slots = self._slots[key] = asyncio.Semaphore(_PER_HOST)
        conn: _Connection | None = None
        try:
            async with asyncio.timeout(timeout_s or self.timeout_s), slots:
                for _ in range(2):
                    conn = self._acquire_idle(key)
                    reused = conn is not None
                    if conn is None:
                        conn = await self._connect(dest)
                    try:
                        status = await conn.request(head, body)
                        break
                    except _Answer as exc:
                        # A kept-alive connection the receiver had just closed: once more on a new one.
                        if not (reused and exc.fresh):
                            raise
                        conn = None
                else:  # two kept-alive connections closed under us: a failed attempt
                    raise _Answer("kept-alive connections closed before an answer", fresh=True)
                self._release(key, conn)
                conn = None
        except RefusedAddress as exc:
            return HttpResult(None, _ms(start), str(exc)[:500], refused=True)
        except TimeoutError:
            return HttpResult(None, _ms(start), "timeout")
        except (_Answer, ConnectionError, OSError, ValueError) as exc:
            return HttpResult(None, _ms(start), f"{type(exc).__name__}: {exc}"[:500])
        finally:
            if conn is not None:
                conn.close()
        return HttpResult(status, _ms(start))

    async def close(self) -> None:
        self._closed = True
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)
