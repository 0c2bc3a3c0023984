"""The civil-affairs policy store: the versions shipped in `services/civil_affairs/policy/*.yaml`
(dibao / 特困 programmes, temporary relief, appeal and complaint time limits) merged with the
versions a province or county adds through `POST /api/v1/admin/policies` (service
`civil_affairs`). Every procedure resolves its figures here, so a dated version added by an
officer takes effect for the region and date it names. One store per app (in its extras)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from services.civil_affairs.adapters.orm_programmes import policy_versions
from shared.policy import load_policy_dir
from shared.policy_store import PolicyStore

__all__ = [
    "PARAMETERS",
    "POLICY_DIR",
    "PROGRAMME_PARAMETERS",
    "SERVICE",
    "make_policy_store",
]

SERVICE = "civil_affairs"
POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"

#: What the dibao / 特困 procedure needs (003 §二, 000 §三(二), 002 篇一): every one must resolve.
PROGRAMME_PARAMETERS = (
    "dibao_standard_annual",
    "dibao_edge_multiple",
    "tekun_elderly_age",
    "tekun_minor_age",
    "township_review_working_days",
    "public_notice_days",
    "county_review_working_days",
    "total_limit_working_days",
    "economic_check_days",
    "recheck_months_tekun",
    "recheck_months_dibao_stable",
    "recheck_months_dibao_other",
    "gradual_exit_months",
    "voluntary_exit_months_max",
)

#: Every parameter a civil-affairs version may set (programmes.yaml, the relief and appeals files).
PARAMETERS = (
    *PROGRAMME_PARAMETERS,
    # temporary relief (000 safety-net §三(二)3, 002 篇一 §8)
    "relief_township_limit_multiple",
    "dibao_standard_urban_monthly",
    "relief_first_max_amount",
    "relief_paperwork_days",
    # appeals and complaints (configurable defaults; the seeds name the channels, not the limits)
    "appeal_review_days",
    "appeal_reminder_lead_days",
    "complaint_ack_working_days",
    "complaint_reply_working_days",
    "complaint_reminder_lead_working_days",
    "public_holidays",
)

_WHOLE = ("_days", "_months", "_age", "_max")


def check_value(name: str, value: Any) -> str | None:
    """Why a value cannot be stored for `name`, or None."""
    if name == "public_holidays":
        if not isinstance(value, list):
            return "must be a list of ISO dates"
        for d in value:
            try:
                dt.date.fromisoformat(str(d))
            except ValueError:
                return f"{d!r} is not an ISO date (YYYY-MM-DD)"
        return None
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return "must be a number"
    if d < 0:
        return "must not be negative"
    if name.endswith(_WHOLE) and d != d.to_integral_value():
        return "must be a whole number"
    if name == "voluntary_exit_months_max" and not 1 <= d <= 3:
        return "voluntary exit gives 1 to 3 months (000)"
    if name == "relief_township_limit_multiple" and not 2 <= d <= 6:
        return "the township limit is 2 to 6 times the urban dibao standard (000 safety-net §三(二)3)"
    return None


def make_policy_store() -> PolicyStore:
    """The shipped versions are read here, once; the added ones from the database each time."""
    return PolicyStore(
        service=SERVICE,
        shipped=load_policy_dir(POLICY_DIR),
        table=policy_versions,
        known_parameters=PARAMETERS,
        validate_value=check_value,
        # no cache: one process may run several apps on different databases (tests, the demo)
        cache_ttl_s=0.0,
    )
