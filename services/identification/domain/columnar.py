"""A fast evaluator for screenings and simulations: the outcome fields of `assessment.assess`
(per-capita income, risk types, category, low-income category, warning) for many households
under one policy, from column lists, without building explanations. It must agree with
`assess()` on every household (tests/identification/unit/test_columnar.py checks a generated
county); the explanations of any one household come from `assess()`.

Plain Python (no numpy): the policy is read once, each household is reduced to a few Decimals
and flags (`HouseholdColumns.from_households`) and the rules run as comparisons on them. The
reduction does not depend on the date or the policy, so imports store it with each household as
a one-line *screening profile* (`profile_of`), and screenings rebuild the columns from those
strings (`HouseholdColumns.append_profile`) without reading members or facts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shared.identifiers import id_birth_date
from shared.policy import ResolvedPolicy

from .low_income import ASSET_FLAGS
from .model import (
    ZERO,
    DibaoStatus,
    Household,
    LaborCapacity,
    LowIncomeCategory,
    Residence,
    ReturnCategory,
    RiskType,
    Warning,
    residence_of_region,
)
from .params import decimal_param, quantize_money, str_param, validate_overrides
from .risk import RISK_TYPE_ORDER

__all__ = ["PROFILE_VERSION", "ColumnarResult", "HouseholdColumns", "evaluate", "evaluate_households", "profile_of"]

_ABLE = frozenset({LaborCapacity.ORDINARY, LaborCapacity.SKILLED})
_IN_PROGRAMME = frozenset({DibaoStatus.DIBAO, DibaoStatus.TEKUN})
_QUALIFIES = frozenset({LowIncomeCategory.DIBAO, LowIncomeCategory.TEKUN})
_MONTHS = 12
PROFILE_VERSION = "2"
_INCOME_COUNTED = ("wage", "business", "property", "transfer", "insurance_claims")
_MIND = frozenset({"intellectual", "mental"})
_NON_COMPULSORY = frozenset({"senior_high", "vocational", "university", "postgraduate"})
_ABLE_NAMES = frozenset({"ordinary", "skilled"})
_STATUS = {s.value: s for s in DibaoStatus}
_RISK_NAMES = {r.value: r for r in RiskType}
_RISKS_OF: dict[str, tuple[RiskType, ...]] = {"": ()}
_RISK_VALUES = tuple(r.value for r in RISK_TYPE_ORDER)
_NO_TEKUN = ((False, False, None),)  # some member can work: the tekun criteria fail


def profile_of(household: Mapping[str, Any], region_code: str) -> str:
    """The screening profile of a household given as plain data (the JSON form of `HouseholdIn`:
    money as decimal strings, enums as their values) in village `region_code`:
    `2|size|counted|unverified|deducted|rigid|edu_other|last_counted|dibao_status|escaped urban
    assets_blocked supporters_able|risk types|dependants`, money in integer fen (version 1, still
    read, had decimal yuan) — what `HouseholdColumns.append` keeps, and nothing personal (birth
    dates only of households where nobody can work, for tekun)."""
    inc = household.get("income") or {}
    exp = household.get("expenses") or {}
    last = household.get("last_year_income")
    assets = household.get("assets") or {}
    ms = household["members"]
    fen = _fen_of
    wage, business = fen(inc.get("wage")), fen(inc.get("business"))
    counted = wage + business + fen(inc.get("property")) + fen(inc.get("transfer")) + fen(inc.get("insurance_claims"))
    medical, education = fen(exp.get("compliant_oop_medical")), fen(exp.get("education"))
    employment, other = fen(exp.get("employment_costs")), fen(exp.get("other_rigid"))
    found = set(household.get("declared_risks") or ())
    ill = severe = schooling = able = False
    graded = 0
    for m in ms:  # one pass over the members
        g = m.get("disability_grade")
        if g is not None:
            graded += 1
            if g <= 2 or (g == 3 and m.get("disability_kind") in _MIND):
                severe = True
        if m.get("serious_illness"):
            ill = True
        if m.get("schooling") in _NON_COMPULSORY:
            schooling = True
        if m.get("labor_capacity") in _ABLE_NAMES:
            able = True
    if ill:
        found.add("illness")
    if severe or graded >= 2:
        found.add("disability")
    if schooling:
        found.add("schooling")
    if not able:
        found.add("lack_of_labor")
    last_counted = ""
    if last is not None:
        last_wage, last_business = fen(last.get("wage")), fen(last.get("business"))
        last_counted = str(
            last_wage
            + last_business
            + fen(last.get("property"))
            + fen(last.get("transfer"))
            + fen(last.get("insurance_claims"))
        )
        if wage < last_wage:
            found.add("unstable_employment")
        if business < last_business:
            found.add("industry_failure")
    risks = ",".join(r for r in _RISK_VALUES if r in found)
    deps = ""
    if all(m.get("labor_capacity") == "none" for m in ms):
        deps = ";".join(f"{int(m.get('disability_grade') is not None)}{m['id_number'][6:14]}" for m in ms)
    flags = "".join(
        "1" if x else "0"
        for x in (
            household.get("escaped_poverty"),
            residence_of_region(region_code) is Residence.URBAN,
            any(assets.get(f) for f in ASSET_FLAGS),
            assets.get("supporters_able"),
        )
    )
    return "|".join(
        (
            PROFILE_VERSION,
            str(len(ms)),
            str(counted),
            str(int(inc.get("unverified_earners") or 0)),
            str(medical + employment),
            str(medical + education + other),
            str(education + other),
            last_counted,
            str(household.get("dibao_status") or "none"),
            flags,
            risks,
            deps,
        )
    )


def _fen_of(value: Any) -> int:
    """Money given as plain data (a decimal string, or a number) → integer fen; more than two
    decimal places is refused (`HouseholdIn` never lets them through)."""
    if value is None:
        return 0
    if type(value) is str:  # the usual spellings, "1234.56", "1234" or "1234.5", without Decimal
        if len(value) > 3 and value[-3] == ".":
            digits = value[:-3] + value[-2:]
            if digits.isdigit() and digits.isascii():
                return int(digits)
        i = value.find(".")
        if i < 0:
            if value.isdigit() and value.isascii():
                return int(value) * 100
        else:
            whole, frac = value[:i], value[i + 1 :]
            if 0 < len(frac) <= 2 and frac.isdigit() and whole.isdigit() and value.isascii():
                return int(whole) * 100 + int(frac) * (10 if len(frac) == 1 else 1)
    fen = Decimal(str(value)).scaleb(2)
    if fen != fen.to_integral_value():
        raise ValueError(f"money with more than two decimal places: {value}")
    return int(fen)


def _money(text: str, version: str) -> Decimal:
    return Decimal(text).scaleb(-2) if version != "1" else Decimal(text)


@dataclass
class HouseholdColumns:
    """Struct of arrays: one list per quantity, index i = household i."""

    size: list[int] = field(default_factory=list)
    counted: list[Decimal] = field(default_factory=list)  # counted income this year
    unverified: list[int] = field(default_factory=list)
    deducted: list[Decimal] = field(default_factory=list)  # oop medical + employment costs
    rigid: list[Decimal] = field(default_factory=list)  # oop medical + education + other rigid
    edu_other: list[Decimal] = field(default_factory=list)  # education + other rigid
    last_counted: list[Decimal | None] = field(default_factory=list)
    dibao_status: list[DibaoStatus] = field(default_factory=list)
    escaped: list[bool] = field(default_factory=list)
    urban: list[bool] = field(default_factory=list)
    assets_blocked: list[bool] = field(default_factory=list)
    supporters_able: list[bool] = field(default_factory=list)
    #: inferred + declared risks, in RISK_TYPE_ORDER
    risks: list[tuple[RiskType, ...]] = field(default_factory=list)
    #: per member: (no labour capacity, disabled, birth date or None) — for the tekun criteria
    dependants: list[tuple[tuple[bool, bool, dt.date | None], ...]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.size)

    @classmethod
    def from_households(cls, households: Sequence[Household]) -> HouseholdColumns:
        cols = cls()
        for h in households:
            cols.append(h)
        return cols

    def append_profile(self, profile: str) -> None:
        """Append a household from its stored screening profile (`profile_of`)."""
        (v, size, counted, unverified, deducted, rigid, edu_other, last, status, flags, risks, deps) = profile.split(
            "|"
        )
        self.size.append(int(size))
        self.counted.append(_money(counted, v))
        self.unverified.append(int(unverified))
        self.deducted.append(_money(deducted, v))
        self.rigid.append(_money(rigid, v))
        self.edu_other.append(_money(edu_other, v))
        self.last_counted.append(_money(last, v) if last else None)
        self.dibao_status.append(_STATUS[status])
        self.escaped.append(flags[0] == "1")
        self.urban.append(flags[1] == "1")
        self.assets_blocked.append(flags[2] == "1")
        self.supporters_able.append(flags[3] == "1")
        found = _RISKS_OF.get(risks)
        if found is None:
            found = _RISKS_OF[risks] = tuple(_RISK_NAMES[r] for r in risks.split(","))
        self.risks.append(found)
        self.dependants.append(_NO_TEKUN if not deps else tuple(_dependant(d) for d in deps.split(";")))

    def append(self, h: Household) -> None:
        inc, exp = h.income, h.expenses
        self.size.append(len(h.members))
        self.counted.append(inc.counted_total)
        self.unverified.append(inc.unverified_earners)
        self.deducted.append(exp.compliant_oop_medical + exp.employment_costs)
        self.rigid.append(exp.rigid_total)
        self.edu_other.append(exp.education + exp.other_rigid)
        last = h.last_year_income
        self.last_counted.append(None if last is None else last.counted_total)
        self.dibao_status.append(h.dibao_status)
        self.escaped.append(h.escaped_poverty)
        self.urban.append(h.residence is Residence.URBAN)
        self.assets_blocked.append(any(getattr(h.assets, f) for f in ASSET_FLAGS))
        self.supporters_able.append(h.assets.supporters_able)
        found: set[RiskType] = set(h.declared_risks)
        ms = h.members
        if any(m.serious_illness for m in ms):
            found.add(RiskType.ILLNESS)
        if any(m.severely_disabled for m in ms) or sum(m.disability_grade is not None for m in ms) >= 2:
            found.add(RiskType.DISABILITY)
        if any(m.schooling.non_compulsory for m in ms):
            found.add(RiskType.SCHOOLING)
        if not any(m.labor_capacity in _ABLE for m in ms):
            found.add(RiskType.LACK_OF_LABOR)
        if last is not None:
            if inc.wage < last.wage:
                found.add(RiskType.UNSTABLE_EMPLOYMENT)
            if inc.business < last.business:
                found.add(RiskType.INDUSTRY_FAILURE)
        self.risks.append(tuple(r for r in RISK_TYPE_ORDER if r in found))
        self.dependants.append(
            tuple(
                (m.labor_capacity is LaborCapacity.NONE, m.disability_grade is not None, _born(m.id_number)) for m in ms
            )
        )


def _dependant(item: str) -> tuple[bool, bool, dt.date | None]:
    ymd = item[1:]
    try:
        born: dt.date | None = dt.date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:8]))
    except ValueError:
        born = None
    return (True, item[0] == "1", born)


def _born(id_number: str) -> dt.date | None:
    try:
        return id_birth_date(id_number)
    except (ValueError, IndexError):
        return None


@dataclass
class ColumnarResult:
    per_capita_income: list[Decimal] = field(default_factory=list)
    category: list[ReturnCategory | None] = field(default_factory=list)
    low_income_category: list[LowIncomeCategory | None] = field(default_factory=list)
    warning: list[Warning | None] = field(default_factory=list)
    risk_types: list[tuple[RiskType, ...]] = field(default_factory=list)


def _age(born: dt.date, as_of: dt.date) -> int:
    return as_of.year - born.year - ((as_of.month, as_of.day) < (born.month, born.day))


def evaluate(
    cols: HouseholdColumns,
    policy: ResolvedPolicy,
    *,
    as_of: dt.date,
    policy_overrides: Mapping[str, Any] | None = None,
) -> ColumnarResult:
    """The outcome of `assess()` for every household in `cols` under `policy` (+ overrides)."""
    if policy_overrides:
        validate_overrides(policy_overrides)
        policy = policy.with_overrides(policy_overrides)
    line = decimal_param(policy, "monitoring_line").value
    std_rural = decimal_param(policy, "dibao_standard_rural").value
    std_urban = decimal_param(policy, "dibao_standard_urban").value if "dibao_standard_urban" in policy else None
    mult = decimal_param(policy, "dibao_edge_multiplier").value
    variant = str_param(policy, "expenditure_hardship_variant", default="edge_standard")
    if variant not in ("edge_standard", "above_twice_dibao"):
        raise ValueError(f"unknown expenditure_hardship_variant {variant!r}")
    disposable = (
        decimal_param(policy, "local_disposable_income_per_capita").value
        if "local_disposable_income_per_capita" in policy
        else None
    )
    wage_year: Decimal | None = None
    r_rigid: Decimal | None = None
    r_drop: Decimal | None = None
    out = ColumnarResult()
    for i in range(len(cols)):
        size = cols.size[i]
        counted = cols.counted[i]
        status = cols.dibao_status[i]
        imputed = ZERO
        if status is DibaoStatus.DIBAO and cols.unverified[i]:
            if wage_year is None:
                wage_year = decimal_param(policy, "minimum_wage_monthly").value * _MONTHS
            imputed = wage_year * cols.unverified[i]
        pc = quantize_money((counted + imputed - cols.deducted[i]) / size)
        risks = cols.risks[i]
        # sudden-hardship test (categories.sudden_hardship_test)
        before = cols.last_counted[i]
        met = False
        if before is not None:
            if r_rigid is None:
                r_rigid = decimal_param(policy, "sudden_hardship_rigid_to_income_ratio").value
                r_drop = decimal_param(policy, "sudden_hardship_income_drop_ratio").value
            assert r_drop is not None
            met = cols.rigid[i] > r_rigid * before or (before > ZERO and (before - counted) >= r_drop * before)
        # return category
        category: ReturnCategory | None = None
        if pc < line:
            if risks:
                category = ReturnCategory.UNSTABLE_ESCAPED if cols.escaped[i] else ReturnCategory.MARGINAL
        elif met and risks:
            category = ReturnCategory.SUDDEN_HARDSHIP
        # low-income category (low_income.classify_low_income)
        if cols.urban[i]:
            if std_urban is None:
                std_urban = decimal_param(policy, "dibao_standard_urban").value  # raises: parameter missing
            std = std_urban
        else:
            std = std_rural
        edge = std * mult
        low: LowIncomeCategory | None
        if status is DibaoStatus.TEKUN or _tekun(cols, i, counted + imputed, as_of):
            low = LowIncomeCategory.TEKUN
        elif cols.assets_blocked[i]:
            low = None
        elif pc < std:
            low = LowIncomeCategory.DIBAO
        elif pc < edge:
            low = LowIncomeCategory.DIBAO_EDGE
        elif disposable is None:
            low = None
        else:
            after = quantize_money(pc - cols.edu_other[i] / size)
            if variant == "edge_standard":
                ok = pc < disposable and after < edge
            else:
                ok = pc >= 2 * std and pc < disposable and after < std
            low = LowIncomeCategory.EXPENDITURE_HARDSHIP if ok else None
        # three-colour warning (early_warning.three_colour_warning)
        warning: Warning | None = None
        if status not in _IN_PROGRAMME:
            in_hardship = met or low is LowIncomeCategory.EXPENDITURE_HARDSHIP
            if risks and in_hardship and low not in _QUALIFIES:
                warning = Warning.RED
            elif std <= pc < edge:
                warning = Warning.ORANGE
            elif category is not None or (status is DibaoStatus.EXITED and (low is not None or pc < edge)):
                warning = Warning.YELLOW
        out.per_capita_income.append(pc)
        out.category.append(category)
        out.low_income_category.append(low)
        out.warning.append(warning)
        out.risk_types.append(risks)
    return out


def _tekun(cols: HouseholdColumns, i: int, counted: Decimal, as_of: dt.date) -> bool:
    if counted > ZERO or cols.supporters_able[i]:
        return False
    for no_labour, disabled, born in cols.dependants[i]:
        age = None if born is None else _age(born, as_of)
        dependent = disabled or (age is not None and (age >= 60 or age < 16))
        if not no_labour or not dependent:
            return False
    return True


def evaluate_households(
    households: Sequence[Household],
    policy: ResolvedPolicy,
    *,
    as_of: dt.date,
    policy_overrides: Mapping[str, Any] | None = None,
) -> ColumnarResult:
    """`evaluate` on households given as domain objects."""
    return evaluate(
        HouseholdColumns.from_households(households), policy, as_of=as_of, policy_overrides=policy_overrides
    )
