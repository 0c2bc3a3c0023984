"""Recommendation rules as a table a policy officer can read (002 篇九 §三(一); 000 industry §二(一)3)."""

from __future__ import annotations

import pytest

from services.assistance.domain.catalogue import CATALOGUE, Department, MeasureType
from services.assistance.domain.recommendation import HouseholdProfile, recommend

CASES = [
    # id, risks, labour, self-farming, weak motivation, expected measure types in order
    ("single-illness-one-measure", ["illness"], True, False, False, ["medical"]),
    ("single-unstable-work-employment", ["unstable_employment"], True, False, False, ["employment"]),
    ("single-schooling-education", ["schooling"], True, False, False, ["education"]),
    (
        "several-risks-labour-development-first",
        ["illness", "housing"],
        True,
        False,
        False,
        ["employment", "medical", "housing"],
    ),
    (
        "several-risks-with-industry-keeps-it-first",
        ["housing", "industry_failure"],
        True,
        False,
        False,
        ["industry", "housing"],
    ),
    ("no-labour-illness-plus-safety-net", ["illness"], False, False, False, ["medical", "dibao"]),
    ("no-labour-unstable-work-becomes-dibao", ["unstable_employment"], False, False, False, ["dibao"]),
    ("lack-of-labour-dibao", ["lack_of_labor"], False, False, False, ["dibao"]),
    ("disability-social-security-no-extra-dibao", ["disability"], False, False, False, ["social_security"]),
    (
        "self-farming-three-guarantees-one-coverage",
        ["industry_failure"],
        True,
        True,
        False,
        ["industry", "technical_contact", "policy_contact", "sales_contact", "farming_insurance"],
    ),
    (
        "self-farming-several-risks-industry-first",
        ["illness", "disaster"],
        True,
        True,
        False,
        [
            "industry",
            "medical",
            "temporary_relief",
            "technical_contact",
            "policy_contact",
            "sales_contact",
            "farming_insurance",
        ],
    ),
    ("no-risk-labour-employment", [], True, False, False, ["employment"]),
    ("no-risk-no-labour-dibao", [], False, False, False, ["dibao"]),
    ("unknown-risk-is-other", ["meteor"], True, False, False, ["social_assistance"]),
    ("duplicate-risks-once", ["disaster", "accident"], True, False, False, ["employment", "temporary_relief"]),
    ("weak-motivation-aspiration", ["illness"], True, False, True, ["medical", "aspiration_skills"]),
    ("water-single", ["drinking_water"], True, False, False, ["drinking_water"]),
]


@pytest.mark.parametrize(
    ("risks", "labour", "self_farming", "weak", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_recommendation(risks: list[str], labour: bool, self_farming: bool, weak: bool, expected: list[str]) -> None:
    recs = recommend(HouseholdProfile(risks, labour, self_farming, weak))
    assert [str(r.type) for r in recs] == expected
    for r in recs:
        assert r.source
        assert r.rule
        assert r.department is CATALOGUE[r.type].department


def test_single_risk_cites_the_welfare_trap_rule() -> None:
    [rec] = recommend(HouseholdProfile(["illness"], True))
    assert "福利陷阱" in rec.source


LEADS = [
    ("industry", "agriculture"),
    ("employment", "hrss"),
    ("medical", "medical_insurance"),
    ("health", "health"),
    ("education", "education"),
    ("social_security", "civil_affairs"),
    ("dibao", "civil_affairs"),
    ("temporary_relief", "civil_affairs"),
    ("housing", "housing"),
    ("drinking_water", "water_resources"),
    ("microcredit", "finance"),
    ("technical_contact", "agriculture"),
    ("farming_insurance", "agriculture"),
]


@pytest.mark.parametrize(("measure", "department"), LEADS, ids=[f"{m}-led-by-{d}" for m, d in LEADS])
def test_lead_departments(measure: str, department: str) -> None:
    assert CATALOGUE[MeasureType(measure)].department is Department(department)


def test_every_measure_type_is_in_the_catalogue_with_a_source() -> None:
    assert set(CATALOGUE) == set(MeasureType)
    assert all(spec.source for spec in CATALOGUE.values())
