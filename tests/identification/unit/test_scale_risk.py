"""Scale-level risk (规模性返贫风险): the 2 % rule of 002 篇二 §(四), boundaries in Decimal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.identification.domain.scale_risk import (
    SCALE_RISK_RULE,
    SCALE_RISK_SOURCE,
    scale_risk,
)

TWO_PERCENT = Decimal("0.02")  # documented default of scale_risk_threshold (Liaoning)


@pytest.mark.parametrize(
    ("population", "monitored", "flagged", "share"),
    [
        pytest.param(10_000, 200, False, Decimal("0.02"), id="exactly-2.0%-not-flagged"),
        pytest.param(10_000, 201, True, Decimal("0.0201"), id="2.01%-flagged"),
        pytest.param(10_000, 199, False, Decimal("0.0199"), id="1.99%"),
        pytest.param(100, 2, False, Decimal("0.02"), id="small-village-exactly-2%"),
        pytest.param(100, 3, True, Decimal("0.03"), id="small-village-3%"),
        pytest.param(1_000, 0, False, Decimal(0), id="no-monitored"),
        pytest.param(0, 0, False, Decimal(0), id="empty-village"),
    ],
)
def test_scale_risk_boundaries(population: int, monitored: int, flagged: bool, share: Decimal) -> None:
    result = scale_risk(population, monitored, TWO_PERCENT)
    assert result.flagged is flagged
    assert result.share == share
    assert result.threshold == TWO_PERCENT
    assert result.rule == SCALE_RISK_RULE
    assert result.source == SCALE_RISK_SOURCE
    assert (">" in result.explanation) is flagged


def test_share_not_rounded_to_decide() -> None:
    # 3 of 150 is 2.0% exactly; 7 of 349 is about 2.0057%, a share no rounding may hide
    assert scale_risk(150, 3, TWO_PERCENT).flagged is False
    assert scale_risk(349, 7, TWO_PERCENT).flagged is True


def test_explanation_names_the_figures() -> None:
    result = scale_risk(10_000, 201, "0.02")
    assert result.explanation == (
        "201 monitored households not yet eliminated / 10000 rural registered residents "
        "= 2.01% > 2%: scale-level risk flagged"
    )


def test_other_threshold_from_policy() -> None:
    assert scale_risk(1_000, 30, Decimal("0.03")).flagged is False
    assert scale_risk(1_000, 31, Decimal("0.03")).flagged is True


def test_not_an_exited_poor_village() -> None:
    result = scale_risk(100, 50, TWO_PERCENT, exited_poor_village=False)
    assert result.flagged is False
    assert "does not apply" in result.explanation


@pytest.mark.parametrize(
    ("population", "monitored", "threshold"),
    [
        pytest.param(100, 1, "2", id="percent-not-fraction"),
        pytest.param(100, 1, "0", id="zero-threshold"),
        pytest.param(-1, 0, "0.02", id="negative-population"),
        pytest.param(100, -1, "0.02", id="negative-count"),
        pytest.param(0, 1, "0.02", id="monitored-without-population"),
    ],
)
def test_invalid_inputs(population: int, monitored: int, threshold: str) -> None:
    with pytest.raises(ValueError):
        scale_risk(population, monitored, threshold)
