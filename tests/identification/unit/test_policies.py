"""Shipped policy versions: the seeds' figures, a source on every value, resolution by region and
date, county versions overriding one parameter, what-if overrides."""

from __future__ import annotations

import datetime as dt

import pytest

from services.identification.domain.assessment import assess
from services.identification.domain.params import DESIGN_PARAMETERS, IDENTIFICATION_PARAMETERS
from services.identification.domain.policies import (
    load_shipped_policies,
    resolve_identification_policy,
)
from shared.policy import PolicyNotFound, PolicyParameterMissing, load_policy_yaml

from .test_factories import AS_OF, D, make_household, make_member, make_policy

SHIPPED = load_shipped_policies()


def resolve(region: str, as_of: dt.date = dt.date(2021, 6, 30)):
    return resolve_identification_policy(SHIPPED, region_code=region, as_of=as_of)


SEED_FIGURES = [
    # name, region, parameter, value, source must mention
    ("Anhui 2020 line 5,000", "341221001200", "monitoring_line", D(5000), "004"),
    ("Sichuan line 6,000", "510903001200", "monitoring_line", D(6000), "篇八"),
    ("Hebei line 6,000", "130126001200", "monitoring_line", D(6000), "篇十二"),
    ("Hunan line 6,500", "430121001200", "monitoring_line", D(6500), "篇九"),
    ("Liaoning line 7,260", "210811001200", "monitoring_line", D(7260), "篇二"),
    ("Shaanxi line 7,245 = 1.5 × dibao", "610102001200", "monitoring_line", D(7245), "篇十四"),
    ("Shaanxi rural dibao 4,830", "610102001200", "dibao_standard_rural", D(4830), "7245"),
    ("Shaanxi urban dibao 610 × 12", "610102001001", "dibao_standard_urban", D(7320), "915"),
    ("Guangxi dibao-edge 2 ×", "450102001200", "dibao_edge_multiplier", D(2), "篇三"),
    ("Linquan 12-month gradual exit", "341221001200", "gradual_exit_months", 12, "000"),
    ("Funan 6-month gradual exit", "341225001200", "gradual_exit_months", 6, "篇十一"),
    ("Hunan 7-day public notice", "430121001200", "public_notice_days", 7, "篇九"),
    ("Sichuan 5-day public notice", "510903001200", "public_notice_days", 5, "篇八"),
    ("Hebei 20 working days", "130126001200", "identification_time_limit_days", 20, "篇十二"),
    ("Hebei working days kind", "130126001200", "identification_time_limit_kind", "working", "篇十二"),
    ("Liaoning 15 days", "210811001200", "identification_time_limit_days", 15, "篇二"),
    ("Hunan elimination floor 5,000", "430121001200", "elimination_income_floor", D(5000), "篇九"),
    ("Hunan at least 3 months", "430121001200", "elimination_min_months", 3, "篇九"),
    ("Liaoning scale risk 2%", "210811001200", "scale_risk_threshold", D("0.02"), "篇二"),
    ("Liaoning income year from 1 May", "210811001200", "income_year_start", "05-01", "篇二"),
    ("Anhui income counted at 30 September", "341221001200", "income_year_start", "10-01", "篇一"),
]


@pytest.mark.parametrize(
    ("region", "name", "value", "clause"),
    [c[1:] for c in SEED_FIGURES],
    ids=[c[0] for c in SEED_FIGURES],
)
def test_seed_figures(region, name, value, clause):
    policy = resolve(region)
    assert policy[name] == value
    assert clause in policy.source_of(name)


@pytest.mark.parametrize("version", SHIPPED, ids=[v.id for v in SHIPPED])
def test_every_value_has_a_source_and_a_known_name(version):
    assert version.service == "identification"
    for name, pv in version.parameters.items():
        assert name in IDENTIFICATION_PARAMETERS, name
        assert pv.source.strip(), name
        assert not isinstance(pv.value, float), name


@pytest.mark.parametrize("province", ["34", "51", "13", "43", "21", "61", "45"])
def test_every_province_sets_every_parameter(province):
    policy = resolve(province + "0000001200")
    assert set(policy.values) == IDENTIFICATION_PARAMETERS
    assert set(policy.values) >= DESIGN_PARAMETERS


def test_placeholders_say_so():
    src = resolve("341221001200").source_of("dibao_standard_rural")
    assert "not from a seed" in src
    assert "county must confirm" in src


@pytest.mark.parametrize(
    ("region", "as_of"),
    [("110101001200", dt.date(2021, 6, 30)), ("341221001200", dt.date(2019, 12, 31))],
    ids=["Beijing-has-no-policy", "Anhui-before-2020"],
)
def test_no_policy_for_region_or_date(region, as_of):
    with pytest.raises(PolicyNotFound):
        resolve(region, as_of)


def test_county_version_overrides_one_parameter_only():
    linquan, anhui = resolve("341221001200"), resolve("341222001200")  # Linquan vs Taihe
    assert (linquan["gradual_exit_months"], anhui["gradual_exit_months"]) == (12, 6)
    assert linquan.id == "linquan-2020"
    assert anhui.id == "anhui-2020"
    for name in IDENTIFICATION_PARAMETERS - {"gradual_exit_months"}:
        assert linquan.param(name) == anhui.param(name), name


NEWER = """
id: anhui-2022
service: identification
region_prefix: "34"
effective_from: 2022-01-01
source: test newer provincial line
parameters:
  monitoring_line: {value: 6000, source: "test newer line"}
"""


@pytest.mark.parametrize(
    ("as_of", "line", "version"),
    [(dt.date(2021, 12, 31), D(5000), "anhui-2020"), (dt.date(2022, 1, 1), D(6000), "anhui-2022")],
    ids=["before-newer", "from-newer"],
)
def test_newer_version_overrides_only_what_it_names(as_of, line, version):
    policy = resolve_identification_policy(
        [*SHIPPED, *load_policy_yaml(NEWER)], region_code="341222001200", as_of=as_of
    )
    assert policy["monitoring_line"] == line
    assert policy.param("monitoring_line").version_id == version
    assert policy.param("dibao_edge_multiplier").version_id == "anhui-2020"


def test_what_if_line_of_6000():
    hh = make_household(members=(make_member(0, serious_illness=True),), wage="5500")
    policy = resolve("341221001200")
    assert assess(hh, policy, as_of=AS_OF).category is None
    what_if = assess(hh, policy, as_of=AS_OF, policy_overrides={"monitoring_line": 6000})
    assert str(what_if.category) == "marginal"
    assert what_if.monitoring_line == D(6000)
    assert what_if.explanations[0].rule == "policy_override"
    (exp,) = [e for e in what_if.explanations if e.rule == "marginal"]
    assert "what-if override" in exp.source


def test_unknown_override_name_is_refused():
    with pytest.raises(ValueError, match="unknown"):
        assess(make_household(), make_policy(), as_of=AS_OF, policy_overrides={"poverty_line": 1})


def test_missing_parameter_is_reported_by_name():
    policy = make_policy()
    values = {k: v for k, v in policy.values.items() if k != "monitoring_line"}
    stripped = type(policy)(policy.service, policy.region_code, policy.as_of, values, policy.versions)
    with pytest.raises(PolicyParameterMissing, match="monitoring_line"):
        assess(make_household(), stripped, as_of=AS_OF)
