"""`GET /api/v1/audit?subject=` (county, province, admin): the gateway asks every service that
keeps an audit chain (identification, subsidy — each its own table, bounded contexts) for its
entries about the subject, with the caller's signed principal (each service applies the region),
and merges them by time. Every entry names its `service`; each chain's verification is reported,
and a service that did not answer is named (`complete` false), never silently left out."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import aiohttp
from fastapi import APIRouter, Query, Request

from shared.auth import PRINCIPAL_HEADER, PRINCIPAL_SIGNATURE_HEADER, Principal, sign_principal
from shared.errors import Forbidden, Unauthorized
from shared.logging import request_id_var

__all__ = ["AUDIT_PATH", "AUDIT_SERVICES", "merge", "router"]

AUDIT_PATH = "/api/v1/audit"
#: The services that keep a decision audit chain (shared.audit).
AUDIT_SERVICES = ("identification", "subsidy")
_READERS = frozenset({"county", "province", "admin"})
_TIMEOUT = aiohttp.ClientTimeout(total=30, sock_connect=2)

router = APIRouter(prefix="/api/v1", tags=["audit"])


def merge(answers: dict[str, dict[str, Any] | None], subject: str) -> dict[str, Any]:
    """One answer from the services' answers (None: that service did not answer): entries by
    time (then service, then seq), each chain's status, overall verification."""
    entries: list[dict[str, Any]] = []
    chains: dict[str, Any] = {}
    for service, answer in answers.items():
        if answer is None:
            chains[service] = {"verified": None, "error": "unavailable"}
            continue
        chains[service] = answer.get("chain", {})
        entries.extend(dict(e, service=service) for e in answer.get("entries", []))
    entries.sort(key=lambda e: (e["at"], e["service"], e["seq"]))
    complete = all(a is not None for a in answers.values())
    return {
        "subject": subject,
        "entries": entries,
        "chains": chains,
        "complete": complete,
        "verified": complete and all(c.get("verified") is True for c in chains.values()),
    }


async def _ask(
    http: aiohttp.ClientSession, urls: tuple[str, ...], headers: dict[str, str], params: dict[str, str]
) -> dict[str, Any] | None:
    for base in urls:  # replicas: the next one if a connection fails
        try:
            async with http.get(base + AUDIT_PATH, params=params, headers=headers, timeout=_TIMEOUT) as r:
                if r.status != 200:
                    return None
                body: dict[str, Any] = await r.json()
                return body
        except (aiohttp.ClientError, TimeoutError):
            continue
    return None


@router.get("/audit", summary="The audit chains of identification and subsidy about one subject, merged by time")
async def read_audit(
    request: Request,
    subject: str = Query(min_length=1, max_length=100, description="household, case, decision, lead or policy id"),
    limit: int = Query(default=1000, ge=1, le=10_000),
    verify: Literal["full", "entries"] = Query(
        default="full", description="full: walk each whole chain; entries: the entries shown and their links"
    ),
) -> dict[str, Any]:
    principal: Principal | None = request.scope.get("fangfan.principal")
    if principal is None:
        raise Unauthorized("authentication required")
    if principal.role not in _READERS:
        raise Forbidden("the audit chain is for county, province and admin", code="role_forbidden")
    state = request.app.state.gateway
    http = state.http
    assert http is not None, "gateway not started"
    raw, sig = sign_principal(principal, state.internal_secret, request_id=request_id_var.get())
    headers = {PRINCIPAL_HEADER: raw, PRINCIPAL_SIGNATURE_HEADER: sig, "x-request-id": request_id_var.get()}
    params = {"subject": subject, "limit": str(limit), "verify": verify}
    services = [s for s in AUDIT_SERVICES if s in state.config.upstreams]
    answers = await asyncio.gather(
        *(_ask(http, state.config.replicas.get(s) or (state.config.upstreams[s],), headers, params) for s in services)
    )
    return merge(dict(zip(services, answers, strict=True)), subject)
