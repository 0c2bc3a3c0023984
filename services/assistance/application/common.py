"""What every assistance use case needs: the clock (China Standard Time, injectable in tests),
the policy in force, the caller's reach (jurisdiction and role), actor labels, event building."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.assistance.domain.errors import RuleViolation
from services.assistance.domain.params import AssistancePolicy, assistance_policy
from shared.auth import Principal
from shared.errors import Conflict, FieldError, Forbidden, NotFound, ServiceUnavailable, Unprocessable
from shared.events import Event
from shared.identifiers import REGION_LEVELS
from shared.pii import FieldCipher
from shared.policy import PolicyNotFound, PolicyParameterMissing

__all__ = [
    "CST",
    "SOURCE",
    "SYSTEM",
    "Actor",
    "assistance_event",
    "conflict_from",
    "contact_sub_hash",
    "ensure_sees",
    "policy_for",
    "region_filter",
    "require_officer",
    "require_reader",
]

CST = dt.timezone(dt.timedelta(hours=8))
SOURCE = "assistance"
_READERS = ("province", "county", "township", "village", "admin", "contact", "department")


def policy_for(region_code: str, as_of: dt.date) -> AssistancePolicy:
    try:
        return assistance_policy(region_code, as_of)
    except (PolicyNotFound, PolicyParameterMissing) as exc:
        raise ServiceUnavailable(f"assistance policy: {exc}", code="policy_missing") from exc


def conflict_from(err: RuleViolation) -> Conflict:
    return Conflict(err.detail, code=err.code, source=err.source or None)


def ensure_sees(principal: Principal, region_code: str, what: str = "record") -> None:
    """Out of the caller's jurisdiction → 404, so existence does not leak."""
    if not principal.sees(region_code):
        raise NotFound(f"{what} not found")


def require_officer(principal: Principal) -> None:
    if not principal.is_officer:
        raise Forbidden("officers only", code="role_not_allowed")


def require_reader(principal: Principal) -> None:
    if principal.role not in _READERS:
        raise Forbidden("this role cannot read assistance records", code="role_not_allowed")


def region_filter(principal: Principal, region: str | None) -> str:
    """The region prefix a list is limited to: the asked one (inside the caller's), else the
    caller's own. A well-formed region outside the caller's scope lists nothing (404)."""
    if region is None or region == "":
        return principal.region
    if not region.isdigit() or len(region) not in REGION_LEVELS:
        raise Unprocessable(
            "region must be a 2/4/6/9/12-digit code",
            errors=[FieldError("region", "must be a 2/4/6/9/12-digit code")],
        )
    if not principal.sees(region):
        raise NotFound("region not found")
    return region


def assistance_event(name: str, subject: str, region: str, data: dict[str, Any]) -> Event:
    return Event("assistance", name, subject, region, data, source=SOURCE)


def contact_sub_hash(cipher: FieldCipher, sub: str) -> str:
    """Where notification files a contact person's inbox items: the blind index of
    `contact:<token sub>` — notification's `subject_hash` for role `contact` (every role but
    `citizen` is indexed as `role:sub`), keyed with the shared `FANGFAN_PII_INDEX_KEY`. Events
    carry this, never the subject, a name or an ID number."""
    return cipher.blind_index(f"contact:{sub}")


class Actor:
    """Who did it, as recorded in histories (never a resident ID number)."""

    def __init__(self, by: str, role: str) -> None:
        self.by, self.role = by, role

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        label = principal.sub if principal.role != "citizen" else "citizen"
        return cls(f"{principal.role}:{label}"[:200], principal.role)


SYSTEM = Actor("system:assistance", "system")
