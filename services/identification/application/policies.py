"""What identification accepts of a policy version (each parameter's sensible values, what the
loaders would refuse once it is in force) and the policy in force as a use case needs it (422
when there is none). The store itself is `adapters/policy_store.py`, one per app."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from services.identification.domain.cases import ProcedurePolicy
from services.identification.domain.params import decimal_param
from shared.errors import FieldError, ServiceUnavailable, Unprocessable
from shared.policy import PolicyNotFound, ResolvedPolicy
from shared.policy_store import PolicyStore

if TYPE_CHECKING:
    from shared.app import ServiceContext

__all__ = ["PolicyWork", "check_in_force", "policy_in_force", "resolve_or_422", "validate_parameter"]

_POSITIVE_MONEY = {
    "monitoring_line",
    "dibao_standard_rural",
    "dibao_standard_urban",
    "local_disposable_income_per_capita",
    "minimum_wage_monthly",
}
_NON_NEGATIVE_MONEY = {"elimination_income_floor"}
#: Yuan per person per year (or per month for the minimum wage): generous bounds that still keep
#: every figure the rules compute with exact to the fen.
_MONEY_MAX = Decimal(10_000_000)
_WHOLE = {
    "public_notice_days": (1, 365),
    "identification_time_limit_days": (1, 365),
    "elimination_min_months": (0, 120),
    "gradual_exit_months": (0, 120),
    "elimination_min_measure_months": (0, 120),
    "elimination_public_notice_days": (1, 365),
    "elimination_stable_months": (0, 120),
    "department_comparison_days": (1, 365),
    "screening_interval_months": (1, 12),
    "screening_day_of_month": (1, 31),
    "joint_screening_first_month": (1, 6),
    "joint_screening_second_month": (7, 12),
    "monthly_comparison_due_day": (1, 31),
}
_FRACTIONS = {"sudden_hardship_income_drop_ratio"}
_OPEN_FRACTIONS = {"scale_risk_threshold"}
_RATIOS = {"sudden_hardship_rigid_to_income_ratio", "income_growth_target"}
_CHOICES = {
    "identification_time_limit_kind": ("calendar", "working"),
    "expenditure_hardship_variant": ("edge_standard", "above_twice_dibao"),
}
_MM_DD = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")


def validate_parameter(name: str, value: Any) -> str | None:
    """Why `value` is not a sensible value for identification parameter `name` (None: fine)."""
    if name in _CHOICES:
        return None if value in _CHOICES[name] else f"must be one of {', '.join(_CHOICES[name])}"
    if name == "income_year_start":
        return None if isinstance(value, str) and _MM_DD.match(value) else "must be 'MM-DD', e.g. '10-01'"
    if name == "elimination_requires_stable_year":
        return None if isinstance(value, bool) else "must be true or false"
    if not isinstance(value, Decimal):
        return "must be a number"
    if name in _POSITIVE_MONEY | _NON_NEGATIVE_MONEY:
        lowest = "greater than 0" if name in _POSITIVE_MONEY else "at least 0"
        fine = (value > 0 if name in _POSITIVE_MONEY else value >= 0) and value <= _MONEY_MAX
        if not fine:
            return f"must be {lowest} and at most {_MONEY_MAX:,} yuan"
        return None if value == value.quantize(Decimal("0.01")) else "must be yuan with at most 2 decimal places"
    if name == "dibao_edge_multiplier":
        return None if Decimal(1) <= value <= Decimal(3) else "must be between 1 and 3"
    if name == "screening_interval_months" and value not in (1, 2, 3, 4, 6, 12):
        return "must divide the year: 1, 2, 3, 4, 6 or 12"
    if name in _WHOLE:
        lo, hi = _WHOLE[name]
        ok = value == value.to_integral_value() and lo <= value <= hi
        return None if ok else f"must be a whole number from {lo} to {hi}"
    if name in _FRACTIONS:
        return None if 0 <= value <= 1 else "must be a fraction between 0 and 1"
    if name in _OPEN_FRACTIONS:
        return None if 0 < value < 1 else "must be a fraction greater than 0 and less than 1"
    if name in _RATIOS:
        return None if 0 <= value <= 100 else "must be a non-negative ratio"
    return None


def check_in_force(resolved: ResolvedPolicy) -> list[tuple[str, str]]:
    """What the procedure's and the rules' loaders would refuse in `resolved` (a parameter no
    version sets is not refused here: it was missing before the version too)."""
    values = {name: pv.value for name, pv in resolved.values.items()}
    problems: list[tuple[str, str]] = []
    for name in values:
        if name not in _CHOICES and name not in {"income_year_start", "elimination_requires_stable_year"}:
            try:
                decimal_param(resolved, name)
            except (TypeError, ValueError, ArithmeticError) as exc:
                problems.append((name, str(exc)))
    if all(name in values for name in ProcedurePolicy.REQUIRED):
        try:
            ProcedurePolicy.from_mapping(values)
        except (TypeError, ValueError, ArithmeticError) as exc:
            named = [n for n in sorted(values, key=len, reverse=True) if n in str(exc)]
            problems.append((named[0] if named else "", str(exc)))
    return problems


class PolicyWork(Protocol):
    """A unit of work that reads the store's run-time versions in its own transaction."""

    async def resolve_policy(self, store: PolicyStore, region_code: str, as_of: dt.date) -> ResolvedPolicy: ...


async def resolve_or_422(
    store: PolicyStore, work: PolicyWork, region_code: str, as_of: dt.date, *, path: str = "region_code"
) -> ResolvedPolicy:
    """The policy in force, or 422 `policy_not_found` at `path`."""
    try:
        return await work.resolve_policy(store, region_code, as_of)
    except PolicyNotFound as exc:
        raise Unprocessable(str(exc), code="policy_not_found", errors=[FieldError(path, str(exc))]) from None


async def policy_in_force(
    ctx: ServiceContext[Any], work: PolicyWork, region_code: str, as_of: dt.date
) -> ResolvedPolicy:
    """The app's policy in force for work the service does on its own (an event, a loop, a
    signal's case, a case step), read in `work`'s transaction: none is a 503 `policy_not_found`."""
    from services.identification.application.context import extras  # context needs this module's rules

    try:
        return await work.resolve_policy(extras(ctx).policy_store, region_code, as_of)
    except PolicyNotFound as exc:
        raise ServiceUnavailable(str(exc), code="policy_not_found") from None
