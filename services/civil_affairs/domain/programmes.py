"""Dibao (低保) and 特困 (extreme poverty) eligibility: the household's facts against the programme
policy in force, decided with its explanation (rule, source clause, inputs). Pure.

Rules (DOMAIN.md §4):
- dibao: per-capita income below the local dibao standard, assets within local rules (002 篇六 §一);
- 单人保 (single-person dibao): in a dibao-edge family (per-capita income below
  `dibao_edge_multiple` × standard), a severely disabled member (grade 1–2 of any kind, grade 3
  intellectual/mental) or a seriously ill member is covered alone (002 篇六 §(一)2; 003 §二(一));
- 特困: every member elderly, disabled or a minor, without labour capacity, without income, and
  without a legally obliged supporter able to support them (002 篇六 §(一)3).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

__all__ = [
    "CENT",
    "CareLevel",
    "CategoryDecision",
    "HouseholdFacts",
    "MemberFacts",
    "Programme",
    "ProgrammePolicy",
    "age_on",
    "decide",
    "highest_care_level",
    "per_capita_income",
]

CENT = Decimal("0.01")


class Programme(StrEnum):
    DIBAO = "dibao"  # 最低生活保障
    TEKUN = "tekun"  # 特困人员救助供养


class CareLevel(StrEnum):
    """特困 care need (生活自理能力): decides the care standard subsidy adds."""

    SELF_CARE = "self_care"
    PARTIAL = "partial"
    FULL = "full"


_CARE_ORDER = {CareLevel.SELF_CARE: 0, CareLevel.PARTIAL: 1, CareLevel.FULL: 2}


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """One member as the programmes see them: an opaque `person_ref`, never an ID number."""

    person_ref: str
    birth_date: dt.date
    labor_capacity: str = "ordinary"  # ordinary | skilled | weak | half | none
    disability_grade: int | None = None
    disability_kind: str | None = None
    serious_illness: bool = False
    care_level: str = CareLevel.SELF_CARE

    @property
    def severely_disabled(self) -> bool:
        """重残: certificate grade 1 or 2 of any kind, or grade 3 intellectual/mental (002 篇六 §(一)2)."""
        g = self.disability_grade
        return g is not None and (g <= 2 or (g == 3 and self.disability_kind in ("intellectual", "mental")))

    @property
    def severe(self) -> bool:
        """Severely disabled or seriously ill: who 单人保 may cover alone."""
        return self.severely_disabled or self.serious_illness

    def to_doc(self) -> dict[str, Any]:
        return {
            "person_ref": self.person_ref,
            "birth_date": self.birth_date.isoformat(),
            "labor_capacity": self.labor_capacity,
            "disability_grade": self.disability_grade,
            "disability_kind": self.disability_kind,
            "serious_illness": self.serious_illness,
            "care_level": str(self.care_level),
        }

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> MemberFacts:
        return cls(
            person_ref=str(d["person_ref"]),
            birth_date=dt.date.fromisoformat(str(d["birth_date"])),
            labor_capacity=str(d.get("labor_capacity", "ordinary")),
            disability_grade=d.get("disability_grade"),
            disability_kind=d.get("disability_kind"),
            serious_illness=bool(d.get("serious_illness", False)),
            care_level=str(d.get("care_level", CareLevel.SELF_CARE)),
        )


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@dataclass(frozen=True, slots=True)
class HouseholdFacts:
    """What the application declares (or the check found): members, the year's counted income
    (income kinds summed, exempt income and employment costs deducted: DOMAIN.md §2), assets."""

    members: tuple[MemberFacts, ...]
    income_annual: Decimal
    assets_within_rules: bool = True
    supporters_able: bool = False

    def to_doc(self) -> dict[str, Any]:
        return {
            "members": [m.to_doc() for m in self.members],
            "income_annual": str(self.income_annual),
            "assets_within_rules": self.assets_within_rules,
            "supporters_able": self.supporters_able,
        }

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> HouseholdFacts:
        return cls(
            members=tuple(MemberFacts.from_doc(m) for m in d["members"]),
            income_annual=Decimal(str(d["income_annual"])),
            assets_within_rules=bool(d.get("assets_within_rules", True)),
            supporters_able=bool(d.get("supporters_able", False)),
        )


@dataclass(frozen=True, slots=True)
class ProgrammePolicy:
    """The civil-affairs policy values in force for a region and day, with their sources."""

    id: str
    version: str
    values: Mapping[str, Any]
    sources: Mapping[str, str]

    def dec(self, name: str) -> Decimal:
        return Decimal(str(self.values[name]))

    def int(self, name: str) -> int:
        return int(Decimal(str(self.values[name])))

    def cite(self, *names: str) -> dict[str, dict[str, str]]:
        return {n: {"value": str(self.values[n]), "source": self.sources[n]} for n in names}


@dataclass(frozen=True, slots=True)
class CategoryDecision:
    """The category decided for one application, with its explanation."""

    programme: Programme
    eligible: bool
    rule: str
    source: str
    explanation: str
    per_capita_income_annual: Decimal
    covered: tuple[str, ...] = ()  # person refs the benefit covers
    policy_id: str = ""
    policy_version: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)

    def to_doc(self) -> dict[str, Any]:
        return {
            "programme": str(self.programme),
            "eligible": self.eligible,
            "rule": self.rule,
            "source": self.source,
            "explanation": self.explanation,
            "per_capita_income_annual": str(self.per_capita_income_annual),
            "covered": list(self.covered),
            "policy_id": self.policy_id,
            "policy_version": self.policy_version,
            "inputs": self.inputs,
        }


def per_capita_income(facts: HouseholdFacts) -> Decimal:
    """Counted annual income / members, to the fen (half-up), never below 0 (DOMAIN.md §2)."""
    income = max(facts.income_annual, Decimal(0))
    return (income / Decimal(len(facts.members))).quantize(CENT, rounding=ROUND_HALF_UP)


def _yuan(d: Decimal) -> str:
    return f"{d.quantize(CENT, rounding=ROUND_HALF_UP):,}"


def decide(programme: Programme, facts: HouseholdFacts, policy: ProgrammePolicy, *, on: dt.date) -> CategoryDecision:
    pci = per_capita_income(facts)
    if programme is Programme.DIBAO:
        return _decide_dibao(facts, pci, policy, on)
    return _decide_tekun(facts, pci, policy, on)


def _decision(programme: Programme, policy: ProgrammePolicy, pci: Decimal, **kw: Any) -> CategoryDecision:
    return CategoryDecision(
        programme=programme, per_capita_income_annual=pci, policy_id=policy.id, policy_version=policy.version, **kw
    )


def _decide_dibao(facts: HouseholdFacts, pci: Decimal, policy: ProgrammePolicy, on: dt.date) -> CategoryDecision:
    standard = policy.dec("dibao_standard_annual")
    multiple = policy.dec("dibao_edge_multiple")
    edge = (standard * multiple).quantize(CENT, rounding=ROUND_HALF_UP)
    inputs = {
        "members": len(facts.members),
        "income_annual": str(facts.income_annual),
        "per_capita_income_annual": str(pci),
        "assets_within_rules": facts.assets_within_rules,
        **policy.cite("dibao_standard_annual", "dibao_edge_multiple"),
    }
    src = policy.sources["dibao_standard_annual"]
    if not facts.assets_within_rules:
        return _decision(
            Programme.DIBAO,
            policy,
            pci,
            eligible=False,
            rule="assets_beyond_rules",
            source="002 篇六 §一 (家庭财产状况符合当地相关规定)",
            explanation="The household's assets are beyond the local rules, so it cannot be granted dibao.",
            inputs=inputs,
        )
    if pci < standard:
        return _decision(
            Programme.DIBAO,
            policy,
            pci,
            eligible=True,
            rule="dibao_income_below_standard",
            source=f"002 篇六 §一; dibao_standard_annual: {src}",
            explanation=f"Per-capita income of {_yuan(pci)} a year is below the dibao standard of {_yuan(standard)}: "
            f"the whole household ({len(facts.members)} members) is covered.",
            covered=tuple(m.person_ref for m in facts.members),
            inputs=inputs,
        )
    severe = tuple(m.person_ref for m in facts.members if m.severe)
    if pci < edge and severe:
        return _decision(
            Programme.DIBAO,
            policy,
            pci,
            eligible=True,
            rule="dibao_single_person",
            source="002 篇六 §(一)2 (单人保); 003 §二(一) (单人户)",
            explanation=f"Per-capita income of {_yuan(pci)} is not below the dibao standard of {_yuan(standard)} but "
            f"below the dibao-edge line of {_yuan(edge)} ({multiple} × standard); {len(severe)} severely disabled or "
            "seriously ill member(s) are covered alone (单人保).",
            covered=severe,
            inputs=inputs,
        )
    return _decision(
        Programme.DIBAO,
        policy,
        pci,
        eligible=False,
        rule="income_not_below_standard",
        source=f"002 篇六 §一; dibao_standard_annual: {src}",
        explanation=f"Per-capita income of {_yuan(pci)} a year is not below the dibao standard of {_yuan(standard)}, "
        f"and no member qualifies for 单人保 (income is not below {_yuan(edge)} or no member is severely disabled "
        "or seriously ill).",
        inputs=inputs,
    )


def _decide_tekun(facts: HouseholdFacts, pci: Decimal, policy: ProgrammePolicy, on: dt.date) -> CategoryDecision:
    elderly, minor = policy.int("tekun_elderly_age"), policy.int("tekun_minor_age")
    inputs = {
        "members": len(facts.members),
        "income_annual": str(facts.income_annual),
        "supporters_able": facts.supporters_able,
        **policy.cite("tekun_elderly_age", "tekun_minor_age"),
    }
    source = "002 篇六 §(一)3 (无劳动能力、无生活来源、无法定赡养抚养扶养义务人或其无履行能力)"

    def refuse(rule: str, why: str) -> CategoryDecision:
        return _decision(
            Programme.TEKUN, policy, pci, eligible=False, rule=rule, source=source, explanation=why, inputs=inputs
        )

    for m in facts.members:
        age = age_on(m.birth_date, on)
        if not (age >= elderly or age < minor or m.disability_grade is not None):
            return refuse(
                "tekun_not_elderly_disabled_or_minor",
                f"Member {m.person_ref} is {age}: neither {elderly} or over, under {minor}, nor disabled.",
            )
        if m.labor_capacity != "none":
            return refuse("tekun_labour_capacity", f"Member {m.person_ref} has labour capacity ({m.labor_capacity}).")
    if facts.income_annual > 0:
        return refuse(
            "tekun_has_income",
            f"The household has an income of {_yuan(facts.income_annual)} a year (无生活来源 fails).",
        )
    if facts.supporters_able:
        return refuse("tekun_supporter_able", "A legally obliged supporter is able to support the household.")
    return _decision(
        Programme.TEKUN,
        policy,
        pci,
        eligible=True,
        rule="tekun_conditions_met",
        source=source,
        explanation=f"All {len(facts.members)} member(s) are elderly, disabled or minors without labour capacity, "
        "without income and without a supporter able to support them.",
        covered=tuple(m.person_ref for m in facts.members),
        inputs=inputs,
    )


def highest_care_level(members: tuple[MemberFacts, ...]) -> str:
    """The contract carries one care level per order: the highest need among the persons."""
    levels = [CareLevel(m.care_level) for m in members] or [CareLevel.SELF_CARE]
    return str(max(levels, key=lambda c: _CARE_ORDER[c]))
