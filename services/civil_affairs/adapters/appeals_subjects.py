"""The decision an appeal is about, asked of the service that owns it with the CALLER's own
authority (the principal signed as the gateway signs it), so that the owner applies its own
jurisdiction and membership rules: identification answers 404 to a citizen who neither submitted
the application nor belongs to the household (DESIGN.md, Authentication and scope).

Identification is reached at `CivilAffairsExtras.identification_url`, else `FANGFAN_IDENTIFICATION_URL`
(the first replica; the launcher sets it), else its default port."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

import httpx

from services.civil_affairs.application.ports import SubjectFacts, SubjectUnavailable
from shared.auth import PRINCIPAL_HEADER, PRINCIPAL_SIGNATURE_HEADER, Principal, sign_principal
from shared.logging import request_id_var
from shared.settings import SERVICE_PORTS

__all__ = ["IdentificationSubjects", "identification_url"]

_TIMEOUT_S = 10.0


def identification_url(configured: str | None) -> str:
    url = configured or os.environ.get("FANGFAN_IDENTIFICATION_URL", "").split(",")[0].strip()
    return (url or f"http://127.0.0.1:{SERVICE_PORTS['identification']}").rstrip("/")


def _refusal(history: list[dict[str, Any]], ending: set[str]) -> tuple[str | None, str | None]:
    for entry in reversed(history):
        if entry.get("to") in ending:
            return entry.get("role"), entry.get("at")
    return None, None


class IdentificationSubjects:
    """`identification_application` → GET /applications/{id}; `case` → GET /cases/{id}."""

    KINDS = frozenset({"identification_application", "case"})
    ENDING = {"rejected", "cleared"}

    def __init__(self, base_url: str, internal_secret: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url, self.secret, self.transport = base_url, internal_secret, transport

    async def lookup(self, kind: str, subject_id: str, principal: Principal) -> SubjectFacts | None:
        """The facts, or None when the owner says there is no such record for this caller."""
        path = "/api/v1/applications/" if kind == "identification_application" else "/api/v1/cases/"
        raw, sig = sign_principal(principal, self.secret, request_id=request_id_var.get())
        headers = {PRINCIPAL_HEADER: raw, PRINCIPAL_SIGNATURE_HEADER: sig, "accept": "application/json"}
        rid = request_id_var.get()
        if rid:
            headers["x-request-id"] = rid
        try:
            async with httpx.AsyncClient(base_url=self.base_url, timeout=_TIMEOUT_S, transport=self.transport) as c:
                r = await c.get(path + quote(subject_id, safe=""), headers=headers)
        except httpx.HTTPError as exc:
            raise SubjectUnavailable(f"identification did not answer: {type(exc).__name__}") from None
        if r.status_code >= 500:
            raise SubjectUnavailable(f"identification answered {r.status_code}")
        if r.status_code != 200:  # 404 (or an id it refuses): nothing this caller may appeal
            return None
        body = r.json()
        status = str(body.get("status") or body.get("state") or "")
        role, at = _refusal(list(body.get("history") or []), self.ENDING)
        return SubjectFacts(
            kind=kind,
            id=subject_id,
            household_id=str(body["household_id"]),
            region_code=str(body["region_code"]),
            status=status,
            decided_by_role=role,
            decided_at=at,
        )
