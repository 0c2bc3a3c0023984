"""Microcredit borrower eligibility (002 篇十一 §(一)3): aged 18–65 inclusive, and the rest."""

from __future__ import annotations

import datetime as dt

import pytest

from services.subsidy.domain import SubsidyInputError, age_on, microcredit_eligibility

from . import D2021, FUNAN, policy


@pytest.mark.parametrize(
    ("age", "eligible"),
    [
        pytest.param(17, False, id="17: too young"),
        pytest.param(18, True, id="18: eligible"),
        pytest.param(65, True, id="65: eligible"),
        pytest.param(66, False, id="66: too old"),
    ],
)
def test_microcredit_age(age: int, eligible: bool) -> None:
    result = microcredit_eligibility(
        policy=policy(FUNAN, D2021), age=age, creditworthy=True, has_project=True, repayment_capacity=True
    )
    assert result.eligible is eligible
    if not eligible:
        assert result.reasons_refused == (f"The borrower is {age}; a borrower must be aged 18 to 65 inclusive.",)


@pytest.mark.parametrize(
    ("born", "eligible"),
    [
        pytest.param(dt.date(1955, 6, 2), True, id="turns 66 tomorrow: still 65"),
        pytest.param(dt.date(1955, 6, 1), False, id="turned 66 today"),
    ],
)
def test_microcredit_age_from_birth_date(born: dt.date, eligible: bool) -> None:
    result = microcredit_eligibility(
        policy=policy(FUNAN, D2021), birth_date=born, creditworthy=True, has_project=True, repayment_capacity=True
    )
    assert result.eligible is eligible


def test_microcredit_other_conditions() -> None:
    result = microcredit_eligibility(
        policy=policy(FUNAN, D2021), age=40, creditworthy=False, has_project=True, repayment_capacity=False
    )
    assert not result.eligible
    assert len(result.reasons_refused) == 2


def test_microcredit_needs_exactly_one_age() -> None:
    with pytest.raises(SubsidyInputError):
        microcredit_eligibility(
            policy=policy(FUNAN, D2021), creditworthy=True, has_project=True, repayment_capacity=True
        )


@pytest.mark.parametrize(
    ("born", "as_of", "age"),
    [
        pytest.param(dt.date(2000, 2, 29), dt.date(2018, 2, 28), 17, id="leap-day birthday not yet reached"),
        pytest.param(dt.date(2000, 2, 29), dt.date(2018, 3, 1), 18, id="leap-day birthday passed"),
        pytest.param(dt.date(1960, 6, 1), dt.date(2020, 6, 1), 60, id="on the birthday"),
    ],
)
def test_age_on(born: dt.date, as_of: dt.date, age: int) -> None:
    assert age_on(born, as_of) == age
