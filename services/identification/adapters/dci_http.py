"""Outbound HTTP of the DCI exchange (callbacks and notifications) behind the SSRF guard: the
host's every address is checked (loopback, private, link-local, metadata refused unless
FANGFAN_WEBHOOK_ALLOWLIST allows it); redirects are not followed; no proxies from the
environment. A plain http URL is sent to the very address checked (no second look-up)."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import httpx

from services.identification.domain.dci import DciRefusal, check_callback_address, parse_url

__all__ = ["HttpDciTransport", "check_destination", "post_message"]

_TIMEOUT_S = 10.0


async def _addresses(host: str, port: int) -> list[str]:
    try:
        literal = socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        literal = None
    if literal is not None:
        return [host]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise DciRefusal("err.sender_uri.invalid", "sender_uri's host does not resolve") from None
    return list(dict.fromkeys(str(i[4][0]) for i in infos))


async def check_destination(url: str, allowlist: str) -> list[str]:
    """Syntax, then every address the host resolves to; returns the addresses."""
    target = parse_url(url)
    addresses = await _addresses(target.host, target.port)
    if not addresses:
        raise DciRefusal("err.sender_uri.invalid", "sender_uri's host does not resolve")
    for a in addresses:
        check_callback_address(a, allowlist)
    return addresses


async def post_message(url: str, envelope: dict[str, Any], allowlist: str) -> int:
    """POST the signed envelope; the HTTP status (DciRefusal when the destination is refused)."""
    addresses = await check_destination(url, allowlist)
    target = parse_url(url)
    send_to, headers = url, {"content-type": "application/json"}
    if target.scheme == "http":  # pin the checked address: DNS cannot change it between check and send
        host = addresses[0] if ":" not in addresses[0] else f"[{addresses[0]}]"
        send_to = httpx.URL(url).copy_with(host=host.strip("[]")).__str__()
        headers["host"] = f"{target.host}:{target.port}"
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
    async with httpx.AsyncClient(trust_env=False, follow_redirects=False, timeout=_TIMEOUT_S) as client:
        r = await client.post(send_to, content=body, headers=headers)
    return r.status_code


class HttpDciTransport:
    """The `DciTransport` port (application/ports.py) over this module."""

    async def check_destination(self, url: str, allowlist: str) -> list[str]:
        return await check_destination(url, allowlist)

    async def post_message(self, url: str, envelope: dict[str, Any], allowlist: str) -> int:
        return await post_message(url, envelope, allowlist)
