"""`GET /api/v1/households/{id}/overview`: one page of everything about a household (一户一档),
put together in the gateway from the services' own public APIs, each called with the caller's
signed principal — so each service applies its own jurisdiction and masking, and the gateway
holds no data of its own. A service that is down (or whose circuit is open) leaves its parts
empty and is named in `unavailable`; the answer is still 200. The household itself decides: a
404 from identification (outside the caller's jurisdiction, or no such household) is the 404."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp

from gateway.routes import API_PREFIX
from shared.auth import PRINCIPAL_HEADER, PRINCIPAL_SIGNATURE_HEADER, Principal, sign_principal
from shared.errors import DomainError, NotFound
from shared.logging import request_id_var

if TYPE_CHECKING:
    from gateway.proxy import GatewayState

__all__ = ["PATTERN", "is_overview", "overview", "serve"]

#: the route pattern (permissions.py has the same) and its matcher on the path after /api/v1
PATTERN = "/households/{id}/overview"
_PATH = re.compile(r"^/households/([^/]{1,64})/overview$")
#: each part's upstream timeout (s): an overview waits for its slowest service, not longer
PART_TIMEOUT_S = 10.0


class _Down(Exception):
    """The service did not answer usefully (unreachable, timeout, 5xx, open circuit)."""


def is_overview(path: str) -> bool:
    return _PATH.match(path) is not None


async def _get(state: GatewayState, principal: Principal, service: str, path: str) -> tuple[int, Any]:
    """(status, JSON body) of GET `path` (under /api/v1) at `service`, with the caller's principal."""
    breaker = state.breakers.get(service)
    http = state.http
    if breaker is None or http is None or service not in state.config.upstreams:
        raise _Down(service)
    try:
        breaker.before()
    except DomainError:
        raise _Down(service) from None
    pool = state.config.replicas.get(service) or (state.config.upstreams[service],)
    raw, sig = sign_principal(principal, state.internal_secret, request_id=request_id_var.get())
    headers = {
        PRINCIPAL_HEADER: raw,
        PRINCIPAL_SIGNATURE_HEADER: sig,
        "x-request-id": request_id_var.get(),
        "traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01",
        "accept": "application/json",
    }
    first = next(state.round_robin[service])
    for attempt in range(len(pool)):
        url = pool[(first + attempt) % len(pool)] + API_PREFIX + path
        try:
            async with http.get(
                url, headers=headers, timeout=state.timeout(PART_TIMEOUT_S), allow_redirects=False
            ) as r:
                body = await r.read()
                status = r.status
        except (aiohttp.ClientError, TimeoutError):
            if attempt + 1 < len(pool):
                continue
            breaker.failure()
            raise _Down(service) from None
        if status in (502, 503, 504):
            breaker.failure()
            raise _Down(service)
        breaker.success()
        if status >= 500:
            raise _Down(service)
        try:
            return status, json.loads(body) if body else None
        except ValueError:
            raise _Down(service) from None
    raise _Down(service)  # pragma: no cover - the loop returns or raises


async def overview(state: GatewayState, principal: Principal, household_id: str) -> dict[str, Any]:
    """The overview body, or NotFound when identification says the household is not the caller's."""
    hid = quote(household_id, safe="")
    parts: dict[str, tuple[str, str]] = {
        "household": ("identification", f"/households/{hid}"),
        "risk": ("identification", f"/households/{hid}/risk"),
        "cases": ("identification", f"/cases?household_id={hid}&page_size=100"),
        "plans": ("assistance", f"/plans?household_id={hid}&limit=100"),
        "visits": ("assistance", f"/visits?household_id={hid}&limit=100"),
        "subsidy_decisions": ("subsidy", f"/subsidies/decisions?household_id={hid}&limit=100"),
    }
    # all at once: each service answers only within the caller's jurisdiction anyway, and the
    # household's answer decides at the end (404: nothing of the rest is shown)
    names = list(parts)
    results = await asyncio.gather(*(_get(state, principal, *parts[n]) for n in names), return_exceptions=True)
    unavailable: set[str] = set()
    household = results[0]
    if not isinstance(household, BaseException) and household[0] == 404:
        raise NotFound("no such household in your jurisdiction")
    out: dict[str, Any] = {
        "household_id": household_id,
        "household": None,
        "risk": None,
        "cases": [],
        "plans": [],
        "visits": [],
        "subsidy_decisions": [],
    }
    for name, result in zip(names, results, strict=True):
        if isinstance(result, _Down):
            unavailable.add(parts[name][0])
            continue
        if isinstance(result, BaseException):
            raise result
        status, body = result
        if status != 200 or not isinstance(body, dict):
            continue  # the service refused this part for the caller (403/404): it stays empty
        out[name] = body if name in ("household", "risk") else body.get("items", [])
    out["unavailable"] = sorted(unavailable)
    return out


async def serve(state: GatewayState, principal: Principal, path: str, send: Any) -> None:
    m = _PATH.match(path)
    if m is None:  # pragma: no cover - the proxy asks is_overview first
        raise NotFound("no such route")
    body = json.dumps(await overview(state, principal, m.group(1)), ensure_ascii=False).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
