"""Scale-level return-to-poverty risk (规模性返贫风险) of a village: flag an exited poor village
whose monitored-but-not-eliminated households exceed a share of its rural registered population.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["SCALE_RISK_RULE", "SCALE_RISK_SOURCE", "ScaleRiskResult", "scale_risk"]

SCALE_RISK_RULE = "scale_risk_share"
SCALE_RISK_SOURCE = "002 篇二 §(四) (Liaoning): 监测对象中未消除风险户占村农村户籍人口比例超过2%"


@dataclass(frozen=True, slots=True)
class ScaleRiskResult:
    """Whether the village is flagged, with the figures and the explanation behind it.

    ``share`` and ``threshold`` are fractions (0.02 = 2 %); ``share`` is exact to 28 digits.
    """

    flagged: bool
    share: Decimal
    threshold: Decimal
    village_population: int
    non_eliminated_monitored: int
    explanation: str
    rule: str = SCALE_RISK_RULE
    source: str = SCALE_RISK_SOURCE


def _percent(value: Decimal) -> str:
    return f"{(value * 100).normalize():f}%"


def scale_risk(
    village_population: int,
    non_eliminated_monitored: int,
    threshold: Decimal | str,
    *,
    exited_poor_village: bool = True,
) -> ScaleRiskResult:
    """Flag when ``non_eliminated_monitored / village_population`` is strictly above ``threshold``.

    ``threshold`` is the policy parameter ``scale_risk_threshold`` as a fraction in (0, 1): a share
    of exactly 2.0 % is not flagged, 2.01 % is. The comparison is exact (``monitored >
    threshold × population`` in Decimal), so no rounding decides a boundary case. Households and
    population are counted by the caller: "monitored" means identified and not yet eliminated
    (rolled-back households count again, cleared ones do not). The source applies the rule to
    exited poor villages (脱贫村); pass ``exited_poor_village=False`` for other villages, which are
    never flagged by this rule.
    """
    limit = Decimal(threshold)
    if not Decimal(0) < limit < Decimal(1):
        raise ValueError(f"scale_risk_threshold must be a fraction in (0, 1), got {threshold!r}")
    if village_population < 0 or non_eliminated_monitored < 0:
        raise ValueError("population and household counts must not be negative")
    if village_population == 0:
        if non_eliminated_monitored:
            raise ValueError("monitored households in a village with no registered population")
        share = Decimal(0)
    else:
        share = Decimal(non_eliminated_monitored) / Decimal(village_population)
    above = non_eliminated_monitored > limit * village_population
    flagged = above and exited_poor_village
    figures = (
        f"{non_eliminated_monitored} monitored households not yet eliminated / "
        f"{village_population} rural registered residents = {_percent(share)}"
    )
    if not exited_poor_village:
        explanation = f"{figures}; not an exited poor village, the scale-risk rule does not apply"
    elif flagged:
        explanation = f"{figures} > {_percent(limit)}: scale-level risk flagged"
    else:
        explanation = f"{figures} <= {_percent(limit)}: not flagged"
    return ScaleRiskResult(
        flagged=flagged,
        share=share,
        threshold=limit,
        village_population=village_population,
        non_eliminated_monitored=non_eliminated_monitored,
        explanation=explanation,
    )
