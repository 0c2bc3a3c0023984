"""The identification service's policy parameter names, typed access to a resolved policy, and
the number formatting the explanations use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shared.policy import ResolvedPolicy

__all__ = [
    "DESIGN_PARAMETERS",
    "EXTRA_PARAMETERS",
    "IDENTIFICATION_PARAMETERS",
    "SERVICE",
    "Param",
    "decimal_param",
    "fmt",
    "int_param",
    "quantize_money",
    "str_param",
    "validate_overrides",
]

SERVICE = "identification"

#: The names DESIGN.md fixes for `/admin/policies` (a contract).
DESIGN_PARAMETERS = frozenset(
    {
        "monitoring_line",
        "dibao_standard_rural",
        "dibao_standard_urban",
        "dibao_edge_multiplier",
        "public_notice_days",
        "identification_time_limit_days",
        "elimination_min_months",
        "elimination_income_floor",
        "scale_risk_threshold",
        "gradual_exit_months",
    }
)

#: Names the rules need beyond DESIGN.md's (documented in services/identification/policy/README.md).
EXTRA_PARAMETERS = frozenset(
    {
        "identification_time_limit_kind",
        "income_year_start",
        "local_disposable_income_per_capita",
        "expenditure_hardship_variant",
        "sudden_hardship_income_drop_ratio",
        "sudden_hardship_rigid_to_income_ratio",
        "minimum_wage_monthly",
        "income_growth_target",
        "elimination_min_measure_months",
        "elimination_public_notice_days",
        "elimination_requires_stable_year",
        "elimination_stable_months",
        "department_comparison_days",
        "screening_interval_months",
        "screening_day_of_month",
        "joint_screening_first_month",
        "joint_screening_second_month",
        "monthly_comparison_due_day",
    }
)

IDENTIFICATION_PARAMETERS = DESIGN_PARAMETERS | EXTRA_PARAMETERS

_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Param:
    """A parameter's value with its source clause and the version that set it."""

    name: str
    value: Decimal
    source: str
    version_id: str

    @property
    def label(self) -> str:
        return f"{fmt(self.value)} ({self.version_id})"


def _as_decimal(name: str, raw: Any) -> Decimal:
    if isinstance(raw, (bool, float)):
        raise TypeError(f"policy parameter {name!r} must be a decimal number, got {raw!r}")
    if isinstance(raw, (Decimal, int, str)):
        return Decimal(raw)
    raise TypeError(f"policy parameter {name!r} must be a number, got {raw!r}")


def decimal_param(policy: ResolvedPolicy, name: str) -> Param:
    """Raises shared.policy.PolicyParameterMissing when the versions in force lack `name`."""
    pv = policy.param(name)
    return Param(name, _as_decimal(name, pv.value), pv.source, pv.version_id)


def int_param(policy: ResolvedPolicy, name: str) -> int:
    value = decimal_param(policy, name).value
    if value != value.to_integral_value():
        raise ValueError(f"policy parameter {name!r} must be a whole number, got {value}")
    return int(value)


def str_param(policy: ResolvedPolicy, name: str, default: str | None = None) -> str:
    if default is not None and name not in policy:
        return default
    return str(policy.param(name).value)


def validate_overrides(overrides: Mapping[str, Any]) -> None:
    unknown = sorted(set(overrides) - IDENTIFICATION_PARAMETERS)
    if unknown:
        raise ValueError(f"unknown identification policy parameter(s): {', '.join(unknown)}")


def quantize_money(value: Decimal) -> Decimal:
    """Half-up to the fen, the one rounding the rules allow (at the end)."""
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def fmt(value: Decimal) -> str:
    """5000 → "5,000"; 4999.99 → "4,999.99"; 1.5 → "1.5" (ratios keep their digits)."""
    if value == value.to_integral_value():
        return f"{value.to_integral_value():,}"
    if abs(value) < 10:
        return f"{value.normalize():f}"
    return f"{quantize_money(value):,}"
