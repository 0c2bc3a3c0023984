"""The screening profile stored with each household (`profile_of`) rebuilds exactly the columns
`HouseholdColumns.append` computes from the domain household: the evaluator gives the same
outcome from either, on a generated county and on hand-made edge cases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.identification.api.schemas import HouseholdImport
from services.identification.application.assessments import to_domain_household
from services.identification.domain.columnar import HouseholdColumns, evaluate, evaluate_households, profile_of
from services.identification.domain.policies import load_shipped_policies, resolve_identification_policy
from shared.cli.generate import generate_households
from tests.identification.integration.factories import id_number

AS_OF = dt.date(2024, 6, 30)


def _edge_cases() -> list[dict[str, Any]]:
    base = {"household_number": "x", "region_code": "341221001201"}
    old = id_number(dt.date(1940, 1, 1), "011")
    young = id_number(dt.date(2015, 5, 5), "012")
    mid = id_number(dt.date(1980, 5, 5), "013")

    def m(idn: str, labor: str = "none", **kw: Any) -> dict[str, Any]:
        return {"id_number": idn, "name": "甲", "relation": "head", "labor_capacity": labor} | kw

    return [
        base | {"members": [m(old), m(young)]},  # tekun: nobody works, all dependent, no income
        base | {"members": [m(old), m(mid)]},  # not tekun: a working-age member without disability
        base | {"members": [m(old), m(mid, disability_grade=3, disability_kind="mental")]},
        base | {"members": [m(mid, "ordinary", disability_grade=3, disability_kind="physical")]},
        base | {"members": [m(mid, "weak", disability_grade=4), m(old, disability_grade=4)]},
        base | {"members": [m(mid, "ordinary")], "dibao_status": "dibao", "income": {"unverified_earners": 2}},
        base | {"members": [m(mid, "skilled")], "declared_risks": ["housing", "disaster"], "assets": {"car": True}},
        base | {"members": [m(mid, "half")], "last_year_income": {"wage": "9000"}, "income": {"wage": "1"}},
        base | {"members": [m(mid, "half")], "escaped_poverty": True, "dibao_status": "exited"},
    ]


@pytest.mark.parametrize("urban", [False, True])
@pytest.mark.parametrize("overrides", [{}, {"monitoring_line": 9000, "dibao_edge_multiplier": 2}])
def test_profiles_rebuild_the_same_columns(urban: bool, overrides: dict[str, Any]) -> None:
    policy = resolve_identification_policy(load_shipped_policies(), region_code="341221001201", as_of=AS_OF)
    items = [*generate_households(1500, "341221", seed=7), *_edge_cases()]
    domain, cols = [], HouseholdColumns()
    for item in items:
        region = item["region_code"][:9] + "101" if urban else item["region_code"]
        model = HouseholdImport.model_validate(item)
        domain.append(to_domain_household(model, region_code=region))
        cols.append_profile(profile_of(model.model_dump(mode="json"), region))
    want = evaluate_households(domain, policy, as_of=AS_OF, policy_overrides=overrides)
    got = evaluate(cols, policy, as_of=AS_OF, policy_overrides=overrides)
    assert got == want
    assert any(low == "tekun" for low in got.low_income_category)


def test_profile_carries_nothing_personal() -> None:
    item = next(iter(generate_households(1, "341221")))
    text = profile_of(HouseholdImport.model_validate(item).model_dump(mode="json"), item["region_code"])
    assert not any(m["id_number"] in text or m["name"] in text for m in item["members"])
