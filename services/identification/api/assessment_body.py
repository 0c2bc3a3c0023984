"""An `Assessment` as DESIGN.md's response body (money as 2-place decimal strings): what
`POST /assessments` answers and what `GET /households/{id}/risk` cuts to its explanation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from services.identification.application.assessments import money_str
from services.identification.domain.model import Assessment, Household

__all__ = ["RISK_KEYS", "assessment_read", "risk_assessment_body"]

#: what the risk read keeps of an assessment: the stand-in members carry no names or numbers,
#: so only what explains the outcome
RISK_KEYS = (
    "per_capita_income",
    "monitoring_line",
    "dibao_standard",
    "category",
    "low_income_category",
    "warning",
    "risk_types",
    "exclusions",
    "eligible",
    "explanations",
    "policy",
)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def assessment_read(result: Assessment, household: Household | None = None) -> dict[str, Any]:
    """DESIGN.md's response body for an `Assessment` (money as 2-place decimal strings)."""
    drop = result.income_drop
    single = (
        [i for i, m in enumerate(household.members) if m.id_number in result.single_person_dibao] if household else []
    )
    return {
        "per_capita_income": money_str(result.per_capita_income),
        "monitoring_line": money_str(result.monitoring_line),
        "dibao_standard": money_str(result.dibao_standard),
        "category": None if result.category is None else str(result.category),
        "low_income_category": None if result.low_income_category is None else str(result.low_income_category),
        "warning": None if result.warning is None else str(result.warning),
        "risk_types": [str(r) for r in result.risk_types],
        "exclusions": [{"code": x.code, "detail": x.detail, "source": x.source} for x in result.exclusions],
        "eligible": result.eligible,
        "explanations": [
            {"rule": x.rule, "source": x.source, "detail": x.detail, "inputs": _plain(x.inputs)}
            for x in result.explanations
        ],
        "policy": {"id": result.policy_id, "version": result.policy_version},
        "income_drop": None
        if drop is None
        else {
            "kinds": [
                {
                    "kind": k.kind,
                    "this_year": money_str(k.this_year),
                    "last_year": money_str(k.last_year),
                    "change": money_str(k.change),
                    "dropped": k.dropped,
                    "cause": None if k.cause is None else str(k.cause),
                }
                for k in drop.kinds
            ],
            "total_this_year": money_str(drop.total_this_year),
            "total_last_year": money_str(drop.total_last_year),
            "total_change": money_str(drop.total_change),
            "growth_ratio": None if drop.growth_ratio is None else str(drop.growth_ratio),
            "meets_growth_target": drop.meets_growth_target,
        },
        "single_person_dibao_members": single,
    }


def risk_assessment_body(result: Assessment | None, as_of: dt.date) -> dict[str, Any] | None:
    """The risk read's `assessment`: its `as_of` first, then what explains the outcome."""
    if result is None:
        return None
    read = assessment_read(result)
    return {"as_of": as_of.isoformat(), **{k: read[k] for k in RISK_KEYS}}
