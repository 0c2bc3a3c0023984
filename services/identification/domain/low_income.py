"""Low-income categories on the civil-affairs side (民政, DOMAIN.md §4): tekun, dibao, dibao-edge
with single-person dibao, expenditure-type hardship; and the dibao gradual-exit notice.

Interpretations:
- One per-capita income figure serves both sides (income.py); compliant medical costs are
  already deducted there (支出核减, 002 篇五 §(一)), so expenditure-type hardship deducts only the
  remaining rigid spending (education, other rigid) per member.
- "Below" is strict (低于): income exactly at the dibao standard is not dibao but dibao-edge;
  exactly at multiplier × standard is no longer dibao-edge.
- "Assets within local rules" (家庭财产状况符合当地相关规定): the asset flags commercial_property,
  car, company, large_deposits and refuses_asset_check block dibao, dibao-edge and
  expenditure-type hardship; a village-assembly override does not apply to civil affairs.
- tekun (特困): the household is already tekun, or every member has no labour capacity and is
  aged 60+, under 16 or disabled (age from the ID number at `as_of`), no counted income, and no
  supporter able to support them.
- Single-person dibao (单人保, 002 篇六 §(一)2; 篇十四; 篇一 §8): in a dibao-edge household, each
  severely disabled member (grade 1–2, or 3 intellectual/mental) or member with a designated
  serious illness may get dibao alone; the household stays dibao_edge and the members are listed.
  The "out-of-pocket cost above last year's household income" criterion is shown as evidence.
- Expenditure-type hardship, variant `edge_standard` (002 篇三, Guangxi): income below last year's
  local per-capita disposable income and, after rigid spending, below the dibao-edge line;
  variant `above_twice_dibao` (002 篇五 §(二), a Gansu plan — DOMAIN.md calls it "Henan"):
  income ≥ 2 × dibao standard, below disposable income, and after rigid spending below the
  dibao standard.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from shared.identifiers import id_birth_date
from shared.policy import ResolvedPolicy

from .model import (
    ZERO,
    DibaoStatus,
    Explanation,
    Household,
    LaborCapacity,
    LowIncomeCategory,
    Member,
    Residence,
)
from .params import Param, decimal_param, fmt, int_param, quantize_money, str_param

__all__ = [
    "ASSET_FLAGS",
    "LowIncomeResult",
    "assets_within_rules",
    "classify_low_income",
    "dibao_standard",
    "single_person_members",
]

DIBAO_SOURCE = "002 篇六 §一(一)1: 家庭成员人均收入低于当地低保标准,且家庭财产状况符合相关规定"
TEKUN_SOURCE = "002 篇六 §一(二): 无劳动能力、无生活来源、无法定赡养抚养扶养义务人或其无履行能力"
EDGE_SOURCE = "002 篇六 §一(三): 不符合低保、特困条件,人均收入低于当地低保标准的1.5倍(可放宽到2倍)"
SINGLE_SOURCE = "002 篇六 §(一)2 (单人保); 篇十四 §(三)1; 篇一 §8: 重残人员、重病患者参照“单人户”纳入低保"
EXPENDITURE_SOURCES = {
    "edge_standard": "002 篇三: 低于上年度居民人均可支配收入,扣减刚性支出后低于低保边缘家庭标准",
    "above_twice_dibao": (
        "002 篇五 §(二): 高于低保标准2倍(含),低于上年度居民人均可支配收入,扣减基本医疗、教育、照护支出后低于低保标准"
    ),
}
GRADUAL_EXIT_SOURCE = "000 safety-net §三(二)1 (12个月); 002 篇三, 篇十一 §4 (6个月): 救助渐退期"
ASSETS_SOURCE = "002 篇六 §一(一)(三): 家庭财产状况符合当地相关规定"

ASSET_FLAGS = ("commercial_property", "car", "company", "large_deposits", "refuses_asset_check")
_ELDERLY_AGE, _MINOR_AGE = 60, 16


@dataclass(frozen=True, slots=True)
class LowIncomeResult:
    category: LowIncomeCategory | None
    dibao_standard: Param
    edge_line: Decimal
    single_person_dibao: tuple[str, ...]  # id_numbers
    explanations: tuple[Explanation, ...]


def dibao_standard(policy: ResolvedPolicy, residence: Residence) -> Param:
    name = "dibao_standard_urban" if residence is Residence.URBAN else "dibao_standard_rural"
    return decimal_param(policy, name)


def assets_within_rules(household: Household) -> tuple[str, ...]:
    """The asset flags that put the household outside the local asset rules (empty: within)."""
    return tuple(f for f in ASSET_FLAGS if getattr(household.assets, f))


def _age(member: Member, as_of: dt.date) -> int | None:
    try:
        born = id_birth_date(member.id_number)
    except (ValueError, IndexError):
        return None
    return as_of.year - born.year - ((as_of.month, as_of.day) < (born.month, born.day))


def _tekun_by_criteria(household: Household, counted: Decimal, as_of: dt.date) -> bool:
    if counted > ZERO or household.assets.supporters_able:
        return False
    for m in household.members:
        age = _age(m, as_of)
        dependent = m.disability_grade is not None or (age is not None and (age >= _ELDERLY_AGE or age < _MINOR_AGE))
        if m.labor_capacity is not LaborCapacity.NONE or not dependent:
            return False
    return True


def single_person_members(household: Household) -> tuple[Member, ...]:
    return tuple(m for m in household.members if m.severely_disabled or m.serious_illness)


def _explain(rule: str, source: str, detail: str, **inputs: object) -> Explanation:
    return Explanation(rule, source, detail, inputs)


@dataclass(frozen=True, slots=True)
class _Ctx:
    household: Household
    policy: ResolvedPolicy
    per_capita: Decimal
    std: Param
    mult: Param

    @property
    def edge_line(self) -> Decimal:
        return self.std.value * self.mult.value


def _expenditure_hardship(ctx: _Ctx) -> tuple[bool, list[Explanation]]:
    hh, policy = ctx.household, ctx.policy
    variant = str_param(policy, "expenditure_hardship_variant", default="edge_standard")
    if variant not in EXPENDITURE_SOURCES:
        raise ValueError(f"unknown expenditure_hardship_variant {variant!r}")
    if "local_disposable_income_per_capita" not in policy:
        return False, [
            _explain(
                "expenditure_hardship",
                EXPENDITURE_SOURCES[variant],
                "not evaluated: local_disposable_income_per_capita is not set for this region",
            )
        ]
    disposable = decimal_param(policy, "local_disposable_income_per_capita")
    rigid_pc = (hh.expenses.education + hh.expenses.other_rigid) / hh.size
    after = quantize_money(ctx.per_capita - rigid_pc)
    if variant == "edge_standard":
        floor_ok, ceiling, ceiling_name = True, ctx.edge_line, "dibao-edge line"
    else:
        floor_ok = ctx.per_capita >= 2 * ctx.std.value
        ceiling, ceiling_name = ctx.std.value, "dibao standard"
    met = floor_ok and ctx.per_capita < disposable.value and after < ceiling
    detail = (
        f"per-capita income {fmt(ctx.per_capita)} vs local disposable income "
        f"{disposable.label}; after rigid spending {fmt(quantize_money(rigid_pc))} per member: "
        f"{fmt(after)} vs {ceiling_name} {fmt(ceiling)} ({variant})"
        + ("" if floor_ok else f"; below 2 × dibao standard {fmt(2 * ctx.std.value)}")
        + ("" if met else ": not met")
    )
    src = f"{EXPENDITURE_SOURCES[variant]}; local_disposable_income_per_capita: {disposable.source}"
    inputs = {
        "per_capita_income": ctx.per_capita,
        "local_disposable_income_per_capita": disposable.value,
        "rigid_per_capita": quantize_money(rigid_pc),
        "after_rigid": after,
        "ceiling": ceiling,
        "variant": variant,
    }
    return met, [Explanation("expenditure_hardship", src, detail, inputs)]


def _gradual_exit(ctx: _Ctx) -> list[Explanation]:
    if ctx.household.dibao_status is not DibaoStatus.DIBAO or ctx.per_capita < ctx.std.value:
        return []
    months = int_param(ctx.policy, "gradual_exit_months")
    return [
        _explain(
            "dibao_gradual_exit",
            f"{GRADUAL_EXIT_SOURCE}; gradual_exit_months: {ctx.policy.source_of('gradual_exit_months')}",
            f"dibao household's per-capita income {fmt(ctx.per_capita)} ≥ dibao standard "
            f"{ctx.std.label}: benefit continues for a {months}-month gradual exit",
            per_capita_income=ctx.per_capita,
            dibao_standard=ctx.std.value,
            gradual_exit_months=months,
        )
    ]


def classify_low_income(
    household: Household,
    per_capita: Decimal,
    counted_income: Decimal,
    policy: ResolvedPolicy,
    *,
    as_of: dt.date,
) -> LowIncomeResult:
    """The household's low-income category, the standard used, and the explanations."""
    ctx = _Ctx(
        household,
        policy,
        per_capita,
        dibao_standard(policy, household.residence),
        decimal_param(policy, "dibao_edge_multiplier"),
    )
    out = _gradual_exit(ctx)

    def done(cat: LowIncomeCategory | None, single: tuple[str, ...] = ()) -> LowIncomeResult:
        return LowIncomeResult(cat, ctx.std, ctx.edge_line, single, tuple(out))

    if household.dibao_status is DibaoStatus.TEKUN or _tekun_by_criteria(household, counted_income, as_of):
        how = "already tekun" if household.dibao_status is DibaoStatus.TEKUN else "by criteria"
        out.append(
            _explain(
                "tekun",
                TEKUN_SOURCE,
                f"tekun ({how}): no labour capacity, no counted income, no able supporter",
                counted_income=counted_income,
            )
        )
        return done(LowIncomeCategory.TEKUN)
    blocked = assets_within_rules(household)
    if blocked:
        out.append(
            _explain(
                "low_income_assets",
                ASSETS_SOURCE,
                f"assets outside the local rules ({', '.join(blocked)}): no low-income category "
                f"(per-capita income {fmt(per_capita)})",
                asset_flags=list(blocked),
            )
        )
        return done(None)
    if per_capita < ctx.std.value:
        out.append(
            _explain(
                "dibao",
                f"{DIBAO_SOURCE}; dibao standard: {ctx.std.source}",
                f"per-capita income {fmt(per_capita)} < dibao standard {ctx.std.label}",
                per_capita_income=per_capita,
                dibao_standard=ctx.std.value,
            )
        )
        return done(LowIncomeCategory.DIBAO)
    if per_capita < ctx.edge_line:
        out.append(
            _explain(
                "dibao_edge",
                f"{EDGE_SOURCE}; dibao standard: {ctx.std.source}; dibao_edge_multiplier: {ctx.mult.source}",
                f"dibao standard {ctx.std.label} ≤ per-capita income {fmt(per_capita)} < "
                f"{fmt(ctx.mult.value)} × dibao standard = {fmt(ctx.edge_line)}",
                per_capita_income=per_capita,
                dibao_standard=ctx.std.value,
                dibao_edge_multiplier=ctx.mult.value,
                edge_line=ctx.edge_line,
            )
        )
        return done(LowIncomeCategory.DIBAO_EDGE, _single_person(household, out))
    met, expl = _expenditure_hardship(ctx)
    out.extend(expl)
    return done(LowIncomeCategory.EXPENDITURE_HARDSHIP if met else None)


def _single_person(household: Household, out: list[Explanation]) -> tuple[str, ...]:
    members = single_person_members(household)
    oop = household.expenses.compliant_oop_medical
    last = household.last_year_income
    evidence = last is not None and oop > last.counted_total
    if not members:
        if evidence:  # seriously ill by cost (篇六 §(一)2): the household's figure, not whose it is
            assert last is not None
            out.append(
                _explain(
                    "single_person_dibao",
                    SINGLE_SOURCE,
                    f"out-of-pocket medical {fmt(oop)} after insurance > last year's household income "
                    f"{fmt(last.counted_total)}: the member whose illness it is counts as seriously ill and "
                    "may get dibao alone — mark them serious_illness to name them",
                    compliant_oop_medical=oop,
                    last_year_income=last.counted_total,
                )
            )
        return ()
    out.append(
        _explain(
            "single_person_dibao",
            SINGLE_SOURCE,
            "in a dibao-edge household, may get dibao alone: "
            + ", ".join(
                f"{m.name} ({'severe disability' if m.severely_disabled else 'serious illness'})" for m in members
            )
            + (f"; out-of-pocket medical {fmt(oop)} > last year's income" if evidence else ""),
            members=[m.name for m in members],
            compliant_oop_medical=oop,
        )
    )
    return tuple(m.id_number for m in members)
