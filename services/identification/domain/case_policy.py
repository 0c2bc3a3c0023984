"""The policy values the case procedures read (notice days, time limits, the §5 thresholds),
parsed and checked from the resolved policy parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from services.identification.domain.calendar import TimeLimitKind
from services.identification.domain.case_vocabulary import Procedure

__all__ = ["ProcedurePolicy"]


def _int_param(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise ValueError(f"policy parameter {name} must be an integer, got {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"policy parameter {name} must be an integer, got {value!r}") from exc
    if number != number.to_integral_value() or number < minimum:
        raise ValueError(f"policy parameter {name} must be an integer >= {minimum}, got {value!r}")
    return int(number)


def _decimal_param(name: str, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"policy parameter {name} must be a decimal, got {value!r}")
    if isinstance(value, float):
        # floats carry binary noise (0.02 != Decimal(0.02)); policy YAML loads decimals
        value = str(value)
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"policy parameter {name} must be a decimal, got {value!r}") from exc


def _bool_param(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise ValueError(f"policy parameter {name} must be a boolean, got {value!r}")


@dataclass(frozen=True, slots=True)
class ProcedurePolicy:
    """The policy values the procedure needs, by their ``/admin/policies`` parameter names.

    The first five have no default: they differ by province (e.g. ``public_notice_days`` 5 in
    Suining/Lingshou, 7 in Hunan; ``identification_time_limit_days`` 15 calendar days in Liaoning,
    20 working days in Hebei). The others are extensions with documented defaults:
    ``elimination_public_notice_days`` 7 (002 篇九 §四(二)), ``identification_time_limit_kind``
    ``calendar``, ``elimination_min_measure_months`` 0 (off; Liaoning's half-year rule, 002 篇二
    §(三)4, is 6), ``elimination_requires_stable_year`` off (Hebei 篇十二 §(六)) with
    ``elimination_stable_months`` 12, ``department_comparison_days`` 10 (the county's
    cross-department comparison, calendar days from entering ``county_review``; 002 篇二 §四(二)).
    """

    public_notice_days: int
    identification_time_limit_days: int
    elimination_min_months: int
    elimination_income_floor: Decimal
    scale_risk_threshold: Decimal
    elimination_public_notice_days: int = 7
    identification_time_limit_kind: TimeLimitKind = TimeLimitKind.CALENDAR
    elimination_min_measure_months: int = 0
    department_comparison_days: int = 10
    elimination_requires_stable_year: bool = False
    elimination_stable_months: int = 12

    REQUIRED: ClassVar[tuple[str, ...]] = (
        "public_notice_days",
        "identification_time_limit_days",
        "elimination_min_months",
        "elimination_income_floor",
        "scale_risk_threshold",
    )

    def __post_init__(self) -> None:
        for name in ("public_notice_days", "elimination_public_notice_days", "department_comparison_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"policy parameter {name} must be >= 1")
        for name in (
            "identification_time_limit_days",
            "elimination_min_months",
            "elimination_min_measure_months",
            "elimination_stable_months",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"policy parameter {name} must be >= 0")
        if self.elimination_income_floor < 0:
            raise ValueError("policy parameter elimination_income_floor must be >= 0")
        if not Decimal(0) < self.scale_risk_threshold < Decimal(1):
            raise ValueError("policy parameter scale_risk_threshold must be a fraction in (0, 1)")

    @classmethod
    def from_mapping(cls, params: Mapping[str, Any]) -> ProcedurePolicy:
        """Build from resolved policy parameters (e.g. ``ResolvedPolicy.as_dict()``); extra
        names (``monitoring_line`` …) are ignored, a missing required name is a ``KeyError``."""
        missing = [name for name in cls.REQUIRED if name not in params]
        if missing:
            raise KeyError(f"policy parameters missing: {', '.join(missing)}")
        optional: dict[str, Any] = {}
        for name in ("elimination_public_notice_days", "elimination_min_measure_months", "department_comparison_days"):
            if name in params:
                optional[name] = _int_param(name, params[name], minimum=0)
        if "elimination_stable_months" in params:
            optional["elimination_stable_months"] = _int_param(
                "elimination_stable_months", params["elimination_stable_months"], minimum=0
            )
        if "identification_time_limit_kind" in params:
            optional["identification_time_limit_kind"] = TimeLimitKind(params["identification_time_limit_kind"])
        if "elimination_requires_stable_year" in params:
            optional["elimination_requires_stable_year"] = _bool_param(
                "elimination_requires_stable_year", params["elimination_requires_stable_year"]
            )
        return cls(
            public_notice_days=_int_param("public_notice_days", params["public_notice_days"], minimum=1),
            identification_time_limit_days=_int_param(
                "identification_time_limit_days",
                params["identification_time_limit_days"],
                minimum=0,
            ),
            elimination_min_months=_int_param("elimination_min_months", params["elimination_min_months"], minimum=0),
            elimination_income_floor=_decimal_param("elimination_income_floor", params["elimination_income_floor"]),
            scale_risk_threshold=_decimal_param("scale_risk_threshold", params["scale_risk_threshold"]),
            **optional,
        )

    def notice_days_for(self, procedure: Procedure) -> int:
        if procedure is Procedure.ELIMINATION:
            return self.elimination_public_notice_days
        return self.public_notice_days
