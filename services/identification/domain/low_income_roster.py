"""Who is on the low-income roster (低收入人口台账, 002 篇六 §一) and under which category (pure):
the assessed category (dibao, tekun, dibao_edge, expenditure_hardship: domain/low_income.py) or
`other` (其他低收入人口, 002 篇六 §一(五)) for a household without one that has a registered
unemployed member, a certified disabled member, a university student or a seriously ill member.

Interpretations: "registered unemployed" is known from 人社's `unemployment` signal on the
household (the store has no unemployment register of its own); "new university students"
(新入学大学生) counts every member at university (the store does not keep the enrolment year);
"serious illness with large medical spending" is the member's `serious_illness` flag."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "ASSESSED_CATEGORIES",
    "OTHER_REASONS",
    "OTHER_SOURCE",
    "ROSTER_CATEGORIES",
    "MemberFacts",
    "OtherFacts",
    "facts_of",
    "other_low_income_reasons",
    "roster_category",
]

ASSESSED_CATEGORIES = ("dibao", "tekun", "dibao_edge", "expenditure_hardship")
ROSTER_CATEGORIES = (*ASSESSED_CATEGORIES, "other")
OTHER_SOURCE = (
    "002 篇六 §一(五): 其他低收入人口。包括登记失业人员、已登记办证残疾人、新入学大学生、"
    "当年患重特大疾病和慢性病医疗费用支出较大等特殊困难家庭或者人员"
)
#: reason code → what it means (the SQL of adapters/low_income_queries.py tests the same facts)
OTHER_REASONS = {
    "registered_unemployed": "人社 unemployment signal on the household (登记失业人员)",
    "certified_disabled": "a member holds a disability certificate (已登记办证残疾人)",
    "university_student": "a member is at university (新入学大学生)",
    "serious_illness": "a member has a serious illness (患重特大疾病)",
}
#: the signal kind that says a member registered as unemployed
UNEMPLOYMENT_KIND = "unemployment"


@dataclass(frozen=True, slots=True)
class MemberFacts:
    disability_grade: int | None = None
    serious_illness: bool = False
    schooling: str = "none"


@dataclass(frozen=True, slots=True)
class OtherFacts:
    """The four facts of 002 篇六 §一(五) about one household (the roster query reads them as
    four EXISTS columns)."""

    registered_unemployed: bool = False
    certified_disabled: bool = False
    university_student: bool = False
    serious_illness: bool = False


def facts_of(members: Iterable[MemberFacts], signal_kinds: Iterable[str] = ()) -> OtherFacts:
    ms = list(members)
    return OtherFacts(
        registered_unemployed=UNEMPLOYMENT_KIND in set(signal_kinds),
        certified_disabled=any(m.disability_grade is not None for m in ms),
        university_student=any(m.schooling == "university" for m in ms),
        serious_illness=any(m.serious_illness for m in ms),
    )


def other_low_income_reasons(facts: OtherFacts) -> tuple[str, ...]:
    """Why a household without an assessed category is `other` low-income (empty: it is not),
    in the order of OTHER_REASONS."""
    return tuple(code for code in OTHER_REASONS if getattr(facts, code))


def roster_category(assessed: str | None, facts: OtherFacts) -> str | None:
    """The household's roster category: the assessed one, else `other` with a reason, else None."""
    if assessed is not None:
        return assessed
    return "other" if other_low_income_reasons(facts) else None
