"""Factories (make_household, make_policy) for the identification rule tests, built from
DOMAIN.md's figures; a test module only so that it lives beside the tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from services.identification.domain.model import Household, Income, Member
from shared.identifiers import id_check_digit
from shared.policy import ResolvedPolicy, parse_policy_document, resolve_policy

D = Decimal
AS_OF = dt.date(2021, 6, 30)
VILLAGE = "341221001200"  # a village (村委会) in Linquan


def id_number(born: dt.date = dt.date(1980, 1, 1), serial: str = "001") -> str:
    first17 = f"341221{born:%Y%m%d}{serial}"
    return first17 + id_check_digit(first17)


def make_member(n: int = 0, **kw: Any) -> Member:
    defaults: dict[str, Any] = {
        "id_number": id_number(serial=f"{n + 1:03d}"),
        "name": f"member{n}",
        "relation": "head" if n == 0 else "child",
    }
    return Member(**(defaults | kw))


def make_household(*, size: int = 1, wage: str | Decimal = "10000", **kw: Any) -> Household:
    """A household of `size` ordinary members; `wage` is the whole household's wage income."""
    members = kw.pop("members", None) or tuple(make_member(i) for i in range(size))
    income = kw.pop("income", None) or Income(wage=D(wage))
    return Household(members=tuple(members), income=income, **kw)


#: A test policy with DOMAIN.md's Anhui line and a round dibao standard: 4,000 (1.5 × = 6,000;
#: 2 × = 8,000).
TEST_PARAMETERS: dict[str, Any] = {
    "monitoring_line": D(5000),
    "dibao_standard_rural": D(4000),
    "dibao_standard_urban": D(6000),
    "dibao_edge_multiplier": D("1.5"),
    "gradual_exit_months": 6,
    "public_notice_days": 7,
    "identification_time_limit_days": 15,
    "identification_time_limit_kind": "calendar",
    "elimination_min_months": 3,
    "elimination_income_floor": D(5000),
    "scale_risk_threshold": D("0.02"),
    "department_comparison_days": 10,
    "screening_interval_months": 6,
    "screening_day_of_month": 1,
    "income_year_start": "10-01",
    "local_disposable_income_per_capita": D(15000),
    "expenditure_hardship_variant": "edge_standard",
    "sudden_hardship_rigid_to_income_ratio": D(1),
    "sudden_hardship_income_drop_ratio": D("0.5"),
    "minimum_wage_monthly": D(1500),
    "income_growth_target": D("0.10"),
    "elimination_min_measure_months": 6,
    "elimination_public_notice_days": 7,
    "elimination_requires_stable_year": False,
    "elimination_stable_months": 12,
    "joint_screening_first_month": 4,
    "joint_screening_second_month": 10,
    "monthly_comparison_due_day": 31,
}


def make_policy(**overrides: Any) -> ResolvedPolicy:
    params = TEST_PARAMETERS | overrides
    doc = {
        "id": "test-anhui-2020",
        "service": "identification",
        "region_prefix": "34",
        "effective_from": "2020-01-01",
        "source": "test",
        "parameters": {k: {"value": v, "source": f"test {k}"} for k, v in params.items()},
    }
    version = parse_policy_document(doc)
    return resolve_policy([version], service="identification", region_code=VILLAGE, as_of=AS_OF)


# The factories' own checks (this module is a test module so that it sits with the tests).


def test_factory_id_numbers_are_valid():
    from shared.identifiers import is_valid_id_number

    assert is_valid_id_number(make_member(3).id_number)


def test_test_policy_sets_every_identification_parameter():
    from services.identification.domain.params import IDENTIFICATION_PARAMETERS

    assert set(TEST_PARAMETERS) == IDENTIFICATION_PARAMETERS
