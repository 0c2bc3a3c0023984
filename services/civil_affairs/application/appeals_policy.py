"""The appeal and complaint time limits in force for a region at a date: `policy/appeals.yaml` and
the versions added through `/admin/policies` (service `civil_affairs`); every value keeps its source."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from services.civil_affairs.application.ports import Work
from services.civil_affairs.domain.appeals import AppealPolicy
from services.civil_affairs.domain.complaints import ComplaintPolicy
from shared.errors import ServiceUnavailable
from shared.policy import PolicyNotFound, PolicyParameterMissing, PolicyVersion, ResolvedPolicy, resolve_policy

__all__ = ["SERVICE", "appeal_policy", "complaint_policy", "grievance_policy", "grievance_policy_at"]

#: the service its policy versions name
SERVICE = "civil_affairs"


def grievance_policy_at(versions: Iterable[PolicyVersion], region_code: str, as_of: dt.date) -> ResolvedPolicy:
    """The appeal and complaint limits for a region at a date from the given versions (the shipped
    `policy/appeals.yaml` and any added through `/admin/policies`)."""
    try:
        return resolve_policy(versions, service=SERVICE, region_code=region_code, as_of=as_of)
    except PolicyNotFound as exc:
        raise ServiceUnavailable(str(exc), code="policy_not_found") from None


async def grievance_policy(work: Work, region_code: str, as_of: dt.date) -> ResolvedPolicy:
    return grievance_policy_at(await work.policy_versions(), region_code, as_of)


def appeal_policy(resolved: ResolvedPolicy) -> AppealPolicy:
    try:
        return AppealPolicy(
            review_days=int(resolved["appeal_review_days"]),
            reminder_lead_days=int(resolved["appeal_reminder_lead_days"]),
            review_days_source=resolved.source_of("appeal_review_days"),
            reminder_lead_days_source=resolved.source_of("appeal_reminder_lead_days"),
        )
    except PolicyParameterMissing as exc:
        raise ServiceUnavailable(str(exc), code="policy_incomplete") from None


def complaint_policy(resolved: ResolvedPolicy) -> ComplaintPolicy:
    names = ("complaint_ack_working_days", "complaint_reply_working_days", "complaint_reminder_lead_working_days")
    try:
        holidays = frozenset(dt.date.fromisoformat(str(d)) for d in resolved.get("public_holidays") or ())
        return ComplaintPolicy(
            ack_working_days=int(resolved[names[0]]),
            reply_working_days=int(resolved[names[1]]),
            reminder_lead_working_days=int(resolved[names[2]]),
            holidays=holidays,
            sources={n: resolved.source_of(n) for n in names},
        )
    except PolicyParameterMissing as exc:
        raise ServiceUnavailable(str(exc), code="policy_incomplete") from None
