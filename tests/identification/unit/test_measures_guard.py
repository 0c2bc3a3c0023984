"""The `measures_open` guard (002 篇九 §四(一): all measures for the household's risks delivered):
the county's approval of an elimination is refused while assistance measures are open; not
applied when nothing was heard from assistance (None) nor on the village's proposal."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from services.identification.domain.cases import (
    RULE_SOURCES,
    CaseState,
    HouseholdFacts,
    Role,
    Rule,
    TransitionRefused,
    allowed_actions,
    apply,
    elimination_guards,
)
from tests.identification.unit.test_cases_elimination import (
    FACTS,
    MONITORED_SINCE,
    NO_HALF_YEAR,
    A,
    elimination_case,
    monitored_case,
    req,
)

TODAY = dt.date(2024, 7, 1)


@pytest.mark.parametrize(
    ("open_", "approval", "outcome"),
    [
        (None, True, None),  # assistance told nothing: the guard stays out
        (None, False, None),
        (0, True, True),
        (2, True, False),
        (2, False, None),  # proposing: measures may still be running
    ],
)
def test_measures_open_outcome(open_: int | None, approval: bool, outcome: bool | None) -> None:
    facts = replace(FACTS, measures_open=open_)
    got = {
        o.rule: o
        for o in elimination_guards(
            monitored_since=MONITORED_SINCE, facts=facts, policy=NO_HALF_YEAR, on=TODAY, approval=approval
        )
    }
    if outcome is None:
        assert Rule.MEASURES_OPEN not in got
    else:
        assert got[Rule.MEASURES_OPEN].passed is outcome
        assert got[Rule.MEASURES_OPEN].source == RULE_SOURCES[Rule.MEASURES_OPEN]
        assert "002 篇九 §四(一)" in got[Rule.MEASURES_OPEN].source


@pytest.mark.parametrize(
    ("facts", "allowed", "rule"),
    [
        (replace(FACTS, measures_open=1), ["reject"], Rule.MEASURES_OPEN),
        (replace(FACTS, measures_open=0), ["advance", "reject"], None),
        (FACTS, ["advance", "reject"], None),
    ],
)
def test_county_approval(facts: HouseholdFacts, allowed: list[str], rule: Rule | None) -> None:
    case = elimination_case(CaseState.COUNTY_REVIEW)
    assert allowed_actions(case, Role.COUNTY, today=TODAY, policy=NO_HALF_YEAR, facts=facts) == allowed
    request = req(A.ADVANCE, Role.COUNTY, note="县级审定")
    if rule is None:
        assert apply(case, request, policy=NO_HALF_YEAR, facts=facts).case.state is CaseState.ELIMINATED
    else:
        with pytest.raises(TransitionRefused) as info:
            apply(case, request, policy=NO_HALF_YEAR, facts=facts)
        assert info.value.rule is rule
        assert list(info.value.violations) == [rule]


def test_proposal_not_refused_for_open_measures() -> None:
    facts = replace(FACTS, measures_open=3)
    result = apply(
        monitored_case(), req(A.PROPOSE_ELIMINATION, Role.VILLAGE, note="x"), policy=NO_HALF_YEAR, facts=facts
    )
    assert result.opened_case is not None
