"""Recommendation rules (帮扶措施推荐): which measures a household's plan starts with, each with the
rule and clause that chose it. Principles of 002 篇九 §三(一): what is missing is what is given;
single risk → single measure; several → combined; labour-capable → development first; no
labour → social security; self-farming → 三包一覆盖 (000 industry §二(一)3)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from .catalogue import CATALOGUE, DEVELOPMENT, SELF_FARMING_PACKAGE, SOCIAL_SECURITY, Department, MeasureType

__all__ = ["HouseholdProfile", "Recommendation", "RiskType", "recommend"]


class RiskType(StrEnum):
    ILLNESS = "illness"
    SCHOOLING = "schooling"
    DISABILITY = "disability"
    DISASTER = "disaster"
    ACCIDENT = "accident"
    INDUSTRY_FAILURE = "industry_failure"
    UNSTABLE_EMPLOYMENT = "unstable_employment"
    LACK_OF_LABOR = "lack_of_labor"
    HOUSING = "housing"
    DRINKING_WATER = "drinking_water"
    OTHER = "other"


_S9 = "002 篇九 §三(一)"

#: 缺什么补什么: each risk's own measure, with its clause.
RISK_MEASURE: dict[RiskType, tuple[MeasureType, str]] = {
    RiskType.ILLNESS: (MeasureType.MEDICAL, f"{_S9}3: 对因病纳入的监测对象…落实帮扶措施"),
    RiskType.SCHOOLING: (MeasureType.EDUCATION, f"{_S9}4: 对因学纳入的监测对象…资助政策"),
    RiskType.DISABILITY: (MeasureType.SOCIAL_SECURITY, f"{_S9}5: 对因残…及时落实残疾人…政策"),
    RiskType.DISASTER: (MeasureType.TEMPORARY_RELIEF, f"{_S9}5: 对因灾…落实灾害救助、临时救助"),
    RiskType.ACCIDENT: (MeasureType.TEMPORARY_RELIEF, f"{_S9}5: 对因意外事故…落实临时救助"),
    RiskType.INDUSTRY_FAILURE: (MeasureType.INDUSTRY, f"{_S9}1: 对因缺乏产业或产业失败纳入的监测对象"),
    RiskType.UNSTABLE_EMPLOYMENT: (MeasureType.EMPLOYMENT, f"{_S9}2: 对因就业不稳纳入的监测对象"),
    RiskType.LACK_OF_LABOR: (MeasureType.DIBAO, f"{_S9}5: 对因无劳力纳入的监测对象…低保、特困人员救助供养"),
    RiskType.HOUSING: (MeasureType.HOUSING, f"{_S9}6: 对因住房安全出现问题纳入的监测对象"),
    RiskType.DRINKING_WATER: (MeasureType.DRINKING_WATER, f"{_S9}7: 对因饮水安全出现问题纳入的监测对象"),
    RiskType.OTHER: (MeasureType.SOCIAL_ASSISTANCE, "002 篇九 §三(三): 社会帮扶覆盖财政资金帮扶“盲区”"),
}

_NO_LABOR_SOURCE = f"{_S9}: 对无劳动能力…纳入农村低保、特困人员救助供养、残疾人两项补贴范围,做好兜底保障"
_DEVELOPMENT_SOURCE = f"{_S9}: 对有劳动能力的,坚持开发式帮扶方针,促进稳定增收"
_COMBINED_SOURCE = f"{_S9}: 对风险复杂多样的,因户因人施策落实综合性帮扶"
_SINGLE_SOURCE = f"{_S9}: 对风险单一的,实施单项措施,防止陷入福利陷阱"
_SELF_FARMING_SOURCE = "000 industry §二(一)3: 对自种自养贫困户实施“三包一覆盖”"
_ASPIRATION_SOURCE = f"{_S9}: 对内生动力不足的,持续扶志扶智"


@dataclass(frozen=True, slots=True)
class HouseholdProfile:
    """What the recommendation needs to know about a household (from `household.identified`)."""

    risk_types: Sequence[str]
    has_labor_capacity: bool
    self_farming: bool = False
    weak_motivation: bool = False


@dataclass(frozen=True, slots=True)
class Recommendation:
    type: MeasureType
    department: Department
    rule: str
    source: str
    reason: str


def _risks(raw: Sequence[str]) -> list[RiskType]:
    out: list[RiskType] = []
    for r in raw:
        try:
            risk = RiskType(r)
        except ValueError:
            risk = RiskType.OTHER  # an unknown risk is still a risk: 社会帮扶 covers the blind spot
        if risk not in out:
            out.append(risk)
    return out


def recommend(profile: HouseholdProfile) -> list[Recommendation]:
    """The measures to propose, development measures first for labour-capable households.

    1. `risk_measure`: each risk → its own measure (缺什么补什么); one risk → one measure.
    2. `no_labor_safety_net`: no labour capacity → development measures give way to dibao, and
       the safety net is added if no social-security measure is there yet.
    3. `development_first`: labour-capable with several risks (combined assistance) and no
       development measure → employment (industry for self-farming households) is added first.
    4. `self_farming_package`: a labour-capable self-farming household gets 三包一覆盖.
    5. `aspiration_skills`: weak motivation → 扶志扶智.
    No risk at all → the development measure or the safety net alone.
    """
    risks = _risks(profile.risk_types)
    picked: list[tuple[MeasureType, str, str, str]] = []  # type, rule, source, reason

    def add(mt: MeasureType, rule: str, source: str, reason: str, *, first: bool = False) -> None:
        if any(p[0] is mt for p in picked):
            return
        item = (mt, rule, source, reason)
        if first:
            picked.insert(0, item)
        else:
            picked.append(item)

    single = len(risks) == 1
    for risk in risks:
        mt, source = RISK_MEASURE[risk]
        if not profile.has_labor_capacity and mt in DEVELOPMENT:
            add(MeasureType.DIBAO, "no_labor_safety_net", _NO_LABOR_SOURCE, f"risk {risk}, no labour capacity")
            continue
        add(mt, "risk_measure", _SINGLE_SOURCE if single else source, f"risk {risk}")

    if not profile.has_labor_capacity:
        if not any(p[0] in SOCIAL_SECURITY for p in picked):
            add(MeasureType.DIBAO, "no_labor_safety_net", _NO_LABOR_SOURCE, "no labour capacity")
    else:
        development = MeasureType.INDUSTRY if profile.self_farming else MeasureType.EMPLOYMENT
        if not risks:
            add(development, "development_first", _DEVELOPMENT_SOURCE, "labour-capable, no specific risk")
        elif len(risks) > 1 and not any(p[0] in DEVELOPMENT for p in picked):
            add(development, "development_first", _COMBINED_SOURCE, "several risks, labour-capable", first=True)
        if profile.self_farming:
            for mt in SELF_FARMING_PACKAGE:
                add(mt, "self_farming_package", _SELF_FARMING_SOURCE, "self-farming household")

    if profile.weak_motivation:
        add(MeasureType.ASPIRATION_SKILLS, "aspiration_skills", _ASPIRATION_SOURCE, "weak motivation")

    # Labour-capable households: development measures first (开发式帮扶).
    if profile.has_labor_capacity:
        picked.sort(key=lambda p: 0 if p[0] in DEVELOPMENT else 1)
    return [Recommendation(mt, CATALOGUE[mt].department, rule, src, why) for mt, rule, src, why in picked]
