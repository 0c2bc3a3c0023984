"""Low-income categories (DOMAIN.md §4): dibao, tekun, dibao-edge at 1.5 × and 2 ×, single-person
dibao, expenditure-type hardship (both variants), assets; gradual exit."""

from __future__ import annotations

import datetime as dt

import pytest

from services.identification.domain.assessment import assess
from services.identification.domain.model import (
    Assets,
    DibaoStatus,
    DisabilityKind,
    Expenses,
    Income,
    LaborCapacity,
    Residence,
    residence_of_region,
)

from .test_factories import AS_OF, D, id_number, make_household, make_member, make_policy

POLICY = make_policy()  # dibao standard 4,000 rural / 6,000 urban; multiplier 1.5
GUANGXI_LIKE = make_policy(dibao_edge_multiplier=D(2))

BOUNDARIES = [
    # name, policy, per-capita income, expected category
    ("one fen below the standard → dibao", POLICY, "3999.99", "dibao"),
    ("exactly the standard → dibao_edge", POLICY, "4000", "dibao_edge"),
    ("one fen below 1.5 × → dibao_edge", POLICY, "5999.99", "dibao_edge"),
    ("exactly 1.5 × → not dibao_edge", POLICY, "6000", None),
    ("2 ×: 6,000 is still dibao_edge", GUANGXI_LIKE, "6000", "dibao_edge"),
    ("2 ×: one fen below 8,000 → dibao_edge", GUANGXI_LIKE, "7999.99", "dibao_edge"),
    ("2 ×: exactly 8,000 → not dibao_edge", GUANGXI_LIKE, "8000", None),
]


@pytest.mark.parametrize(("policy", "income", "expected"), [c[1:] for c in BOUNDARIES], ids=[c[0] for c in BOUNDARIES])
def test_dibao_and_edge_boundaries(policy, income, expected):
    result = assess(make_household(wage=income), policy, as_of=AS_OF)
    assert (result.low_income_category and str(result.low_income_category)) == expected
    assert result.dibao_standard == D(4000)


def test_urban_household_uses_the_urban_standard():
    hh = make_household(wage="5999.99", residence=Residence.URBAN)
    result = assess(hh, POLICY, as_of=AS_OF)
    assert result.dibao_standard == D(6000)
    assert str(result.low_income_category) == "dibao"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("341221001200", Residence.RURAL),
        ("341221001001", Residence.URBAN),
        ("341221001199", Residence.URBAN),
        ("341221", Residence.RURAL),
    ],
    ids=["village-200", "community-001", "community-199", "county"],
)
def test_residence_of_region(code, expected):
    assert residence_of_region(code) is expected


@pytest.mark.parametrize("flag", ["commercial_property", "car", "company", "large_deposits", "refuses_asset_check"])
def test_assets_outside_rules_block_low_income(flag):
    result = assess(make_household(wage="3000", assets=Assets(**{flag: True})), POLICY, as_of=AS_OF)
    assert result.low_income_category is None
    assert "low_income_assets" in result.rules_fired()


SINGLE = [
    ("grade 1 physical", {"disability_grade": 1, "disability_kind": DisabilityKind.PHYSICAL}, True),
    ("grade 2 visual", {"disability_grade": 2, "disability_kind": DisabilityKind.VISUAL}, True),
    ("grade 3 intellectual", {"disability_grade": 3, "disability_kind": DisabilityKind.INTELLECTUAL}, True),
    ("grade 3 mental", {"disability_grade": 3, "disability_kind": DisabilityKind.MENTAL}, True),
    ("grade 3 physical is not severe", {"disability_grade": 3, "disability_kind": DisabilityKind.PHYSICAL}, False),
    ("grade 4 mental is not severe", {"disability_grade": 4, "disability_kind": DisabilityKind.MENTAL}, False),
    ("serious illness", {"serious_illness": True}, True),
]


@pytest.mark.parametrize(("member", "granted"), [c[1:] for c in SINGLE], ids=[c[0] for c in SINGLE])
def test_single_person_dibao_in_a_dibao_edge_household(member, granted):
    sick = make_member(1, **member)
    hh = make_household(members=(make_member(0), sick), wage="10000")  # 5,000 each: edge band
    result = assess(hh, POLICY, as_of=AS_OF)
    assert str(result.low_income_category) == "dibao_edge"
    assert result.single_person_dibao == ((sick.id_number,) if granted else ())


@pytest.mark.parametrize(
    ("wage", "oop", "explained"), [("30000", "20000", True), ("25000", "15000", False)], ids=["above", "equal"]
)
def test_single_person_dibao_by_medical_cost_is_explained(wage, oop, explained):
    """Seriously ill by cost: out-of-pocket medical after insurance above last year's household
    income (篇六 §(一)2). The figure is the household's, so no member is named: the explanation
    says so, and one marked serious_illness is granted as above."""
    hh = make_household(
        members=(make_member(0), make_member(1)),
        wage=wage,  # less the medical cost: 5,000 each, the edge band
        last_year_income=Income(wage=D(15000)),
        expenses=Expenses(compliant_oop_medical=D(oop)),
    )
    result = assess(hh, POLICY, as_of=AS_OF)
    assert str(result.low_income_category) == "dibao_edge"
    assert result.single_person_dibao == ()
    by_cost = [e for e in result.explanations if e.rule == "single_person_dibao"]
    assert bool(by_cost) is explained
    if explained:
        assert "20,000" in by_cost[0].detail
        assert "15,000" in by_cost[0].detail


def test_no_single_person_dibao_outside_the_edge_band():
    hh = make_household(members=(make_member(0, serious_illness=True),), wage="7000")
    assert assess(hh, POLICY, as_of=AS_OF).single_person_dibao == ()


EXPENDITURE = [
    # name, policy, wage (1 member), rigid (education + other), expected
    ("edge variant: 10,000 − 5,000 rigid = 5,000 < 6,000 edge line", POLICY, "10000", "5000", "expenditure_hardship"),
    ("edge variant: after rigid exactly the edge line → no", POLICY, "10000", "4000", None),
    ("edge variant: income at local disposable income → no", POLICY, "15000", "14000", None),
    (
        "2×-variant: 9,000 ≥ 8,000, after rigid 3,999.99 < 4,000",
        make_policy(expenditure_hardship_variant="above_twice_dibao"),
        "9000",
        "5000.01",
        "expenditure_hardship",
    ),
    (
        "2×-variant: income below 2 × standard → no",
        make_policy(expenditure_hardship_variant="above_twice_dibao"),
        "7999.99",
        "7000",
        None,
    ),
    (
        "2×-variant: after rigid exactly the standard → no",
        make_policy(expenditure_hardship_variant="above_twice_dibao"),
        "9000",
        "5000",
        None,
    ),
]


@pytest.mark.parametrize(
    ("policy", "wage", "rigid", "expected"),
    [c[1:] for c in EXPENDITURE],
    ids=[c[0] for c in EXPENDITURE],
)
def test_expenditure_type_hardship(policy, wage, rigid, expected):
    hh = make_household(wage=wage, expenses=Expenses(other_rigid=D(rigid)))
    result = assess(hh, policy, as_of=AS_OF)
    assert (result.low_income_category and str(result.low_income_category)) == expected


def test_expenditure_hardship_not_evaluated_without_disposable_income():
    version_params = make_policy()
    policy = version_params.with_overrides({})  # same policy
    values = {k: v for k, v in policy.values.items() if k != "local_disposable_income_per_capita"}
    stripped = type(policy)(policy.service, policy.region_code, policy.as_of, values, policy.versions)
    hh = make_household(wage="10000", expenses=Expenses(other_rigid=D(9000)))
    result = assess(hh, stripped, as_of=AS_OF)
    assert result.low_income_category is None
    (exp,) = [e for e in result.explanations if e.rule == "expenditure_hardship"]
    assert "not evaluated" in exp.detail


def _elder(n: int) -> object:
    return make_member(n, id_number=id_number(dt.date(1950, 1, 1), f"{n + 1:03d}"), labor_capacity=LaborCapacity.NONE)


TEKUN = [
    ("already tekun", {"dibao_status": DibaoStatus.TEKUN, "wage": "3000"}, "tekun"),
    ("elderly, no labour, no income, no supporter", {"members": (_elder(0),), "wage": "0"}, "tekun"),
    (
        "elderly but an able supporter → dibao",
        {"members": (_elder(0),), "wage": "0", "assets": Assets(supporters_able=True)},
        None,
    ),
    ("elderly with some income → dibao", {"members": (_elder(0),), "wage": "100"}, "dibao"),
    (
        "working-age without labour capacity and not disabled → dibao",
        {"members": (make_member(0, labor_capacity=LaborCapacity.NONE),), "wage": "0"},
        "dibao",
    ),
]


@pytest.mark.parametrize(("kwargs", "expected"), [c[1:] for c in TEKUN], ids=[c[0] for c in TEKUN])
def test_tekun(kwargs, expected):
    result = assess(make_household(**kwargs), POLICY, as_of=AS_OF)
    got = result.low_income_category and str(result.low_income_category)
    if expected is None:  # supporters_able is on the negative list, not an asset rule
        assert got == "dibao"
    else:
        assert got == expected


@pytest.mark.parametrize(("months", "income"), [(6, "4000"), (12, "5000")], ids=["6-months", "12-months"])
def test_gradual_exit_for_dibao_household_above_standard(months, income):
    hh = make_household(wage=income, dibao_status=DibaoStatus.DIBAO)
    result = assess(hh, make_policy(gradual_exit_months=months), as_of=AS_OF)
    (exp,) = [e for e in result.explanations if e.rule == "dibao_gradual_exit"]
    assert f"{months}-month gradual exit" in exp.detail


def test_no_gradual_exit_while_below_standard():
    hh = make_household(wage="3999.99", dibao_status=DibaoStatus.DIBAO)
    assert "dibao_gradual_exit" not in assess(hh, POLICY, as_of=AS_OF).rules_fired()


def test_minimum_wage_lifts_a_dibao_family_out_of_dibao():
    hh = make_household(size=2, income=Income(wage=D(0), unverified_earners=1), dibao_status=DibaoStatus.DIBAO)
    result = assess(hh, POLICY, as_of=AS_OF)
    assert result.per_capita_income == D("9000.00")
    assert "minimum_wage_imputation" in result.rules_fired()
