"""The webhook HTTP client against real loopback servers answering in every framing HTTP/1.1
allows (Content-Length, chunked, to the close, HTTP/1.0), closing kept-alive connections while
idle, or not answering at all: the status is read, connections are reused when they can be, a
receiver that dropped an idle connection costs no failure, a silent one times out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from services.notification.adapters.http import OutboundHttp
from services.notification.domain.ssrf import parse_allowlist
from shared.nats import free_port

LOOPBACK = parse_allowlist("127.0.0.1/32")


class RawServer:
    """Answers each request (read up to the end of its body) with `answer(n)` for the n-th
    request; counts connections."""

    def __init__(self, answer: Callable[[int], bytes | None], *, close_after: bool = False) -> None:
        self.answer = answer
        self.close_after = close_after
        self.connections = 0
        self.requests = 0
        self.port = free_port()
        self.server: asyncio.Server | None = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                self.requests += 1
                out = self.answer(self.requests)
                if out is None:
                    await asyncio.sleep(3600)  # never answers
                    return
                writer.write(out)
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook?x=1"


@pytest.fixture
async def http() -> AsyncIterator[OutboundHttp]:
    client = OutboundHttp(LOOPBACK, timeout_s=1.0)
    yield client
    await client.close()


@pytest.mark.parametrize(
    ("answer", "reused"),
    [
        (b"HTTP/1.1 204 No Content\r\n\r\n", True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", True),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\n\r\n", True),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", True),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", False),
        (b"HTTP/1.0 200 OK\r\n\r\nto the end", False),
    ],
)
async def test_framings(http: OutboundHttp, answer: bytes, reused: bool) -> None:
    async with RawServer(lambda n: answer) as server:
        for _ in range(3):
            r = await http.post(server.url, b'{"a": 1}', {"webhook-id": "e-1"})
            assert r.ok, r
        assert server.requests == 3
        assert server.connections == (1 if reused else 3)


async def test_status_codes_and_a_receiver_that_drops_idle_connections(http: OutboundHttp) -> None:
    async with RawServer(lambda n: b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n") as server:
        r = await http.post(server.url, b"{}", {})
        assert (r.status, r.ok) == (500, False)
    # keep-alive announced, but the server closes after each answer (as idle timeouts do)
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    async with RawServer(lambda n: answer, close_after=True) as server:
        for _ in range(3):
            r = await http.post(server.url, b"{}", {})
            assert r.ok, r
            await asyncio.sleep(0.05)  # the close reaches us while the connection is idle
        assert server.requests == 3


async def test_timeout_refused_and_unreachable(http: OutboundHttp) -> None:
    async with RawServer(lambda n: None) as server:
        r = await http.post(server.url, b"{}", {})
        assert (r.status, r.error) == (None, "timeout")
    r = await http.post(f"http://127.0.0.1:{free_port()}/hook", b"{}", {})
    assert r.status is None
    assert not r.refused
    assert "connect" in (r.error or "")
    r = await http.post("http://10.0.0.1/hook", b"{}", {})
    assert r.refused
    assert "private" in (r.error or "")
    r = await OutboundHttp(parse_allowlist(""), timeout_s=1.0).post("http://localhost:9/hook", b"{}", {})
    assert r.refused
    assert "loopback" in (r.error or "")
