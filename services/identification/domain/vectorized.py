"""Screening at scale: the outcomes of `columnar.evaluate` (per-capita income, risk types, return
category, low-income category, warning) for many households at once, with numpy.

Exact, not approximate: money is held as integer fen (int64), per-capita income is rounded half
up (away from zero, as `Decimal.quantize(ROUND_HALF_UP)`) by integer arithmetic, and every
threshold of the policy (line, dibao standard, edge = standard × multiplier, ratios) is compared
as an exact fraction (`x < p/q` ⇔ `x·q < p`). When a value or a product could leave int64's range,
or a policy figure is not a whole number of fen where one is needed, `evaluate_profiles` returns
None and the caller uses the per-household evaluator instead — never a rounded float. The few
households where nobody can work (the tekun test needs the members' ages) are decided in Python.

tests/identification/unit/test_vectorized.py checks it against `columnar.evaluate` (itself
checked against `assess()`) on a generated county and on the boundary figures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from shared.policy import ResolvedPolicy

from .model import DibaoStatus, LowIncomeCategory, ReturnCategory, RiskType, Warning
from .params import decimal_param, str_param
from .risk import RISK_TYPE_ORDER

__all__ = ["CATEGORIES", "LOW_INCOME", "WARNINGS", "VectorResult", "evaluate_profiles", "fen_str", "risks_of_mask"]

#: code → value of the result arrays (0 = none)
CATEGORIES: tuple[ReturnCategory | None, ...] = (
    None,
    ReturnCategory.UNSTABLE_ESCAPED,
    ReturnCategory.MARGINAL,
    ReturnCategory.SUDDEN_HARDSHIP,
)
LOW_INCOME: tuple[LowIncomeCategory | None, ...] = (
    None,
    LowIncomeCategory.TEKUN,
    LowIncomeCategory.DIBAO,
    LowIncomeCategory.DIBAO_EDGE,
    LowIncomeCategory.EXPENDITURE_HARDSHIP,
)
WARNINGS: tuple[Warning | None, ...] = (None, Warning.RED, Warning.ORANGE, Warning.YELLOW)

_STATUS_CODE = {s.value: i for i, s in enumerate(DibaoStatus)}
_DIBAO, _TEKUN, _EXITED = (_STATUS_CODE[s.value] for s in (DibaoStatus.DIBAO, DibaoStatus.TEKUN, DibaoStatus.EXITED))
_RISK_BIT = {r.value: 1 << i for i, r in enumerate(RISK_TYPE_ORDER)}
_MASKS: dict[str, int] = {"": 0}
_RISKS_OF_MASK: dict[int, tuple[RiskType, ...]] = {0: ()}
#: |value| × denominator must stay below this (int64 with room for a sum)
_SAFE = 1 << 61
_MONTHS = 12

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


class _NotExact(Exception):
    """This input or policy cannot be evaluated exactly in int64: use the per-household path."""


def _fen(s: str) -> int:
    """A plain decimal string with at most 2 places → integer fen ("12.5" → 1250, "-0.05" → -5)."""
    i = s.find(".")
    if i < 0:
        return int(s) * 100
    frac = s[i + 1 :]
    if len(frac) > 2 or not frac.isdigit():
        raise _NotExact(s)
    f = int(frac) * (10 if len(frac) == 1 else 1)
    return int(s[:i] or "0") * 100 + (-f if s.startswith("-") else f)


def _fen_threshold(d: Decimal) -> tuple[int, int]:
    """A money threshold in fen as an exact fraction (numerator, positive denominator)."""
    f = Fraction(d) * 100
    return f.numerator, f.denominator


def fen_str(fen: int) -> str:
    """Integer fen → "1234.56" (the per-capita income as stored and sent)."""
    sign = "-" if fen < 0 else ""
    a = abs(fen)
    return f"{sign}{a // 100}.{a % 100:02d}"


def risks_of_mask(mask: int) -> tuple[RiskType, ...]:
    found = _RISKS_OF_MASK.get(mask)
    if found is None:
        found = _RISKS_OF_MASK[mask] = tuple(r for i, r in enumerate(RISK_TYPE_ORDER) if mask >> i & 1)
    return found


@dataclass
class _Profiles:
    size: I64
    counted: I64
    unverified: I64
    deducted: I64
    rigid: I64
    edu_other: I64
    last: I64
    has_last: B
    status: I64
    escaped: B
    urban: B
    assets_blocked: B
    supporters_able: B
    risks: I64
    deps: list[str]


def _ints(col: Sequence[str]) -> I64:
    return np.array(list(map(int, col)), dtype=np.int64)


def _parse(profiles: Sequence[str]) -> _Profiles:
    """Profiles → arrays, column by column (version 2: money already in fen; version 1: yuan)."""
    n = len(profiles)
    if n == 0:
        raise _NotExact("no households")
    cols = list(zip(*(p.split("|") for p in profiles), strict=True))
    if len(cols) != 12:
        raise _NotExact("not a screening profile")
    versions = set(cols[0])
    if versions == {"2"}:
        money = _ints
    elif versions <= {"1", "2"}:

        def money(col: Sequence[str]) -> I64:
            return np.array(
                [_fen(x) if v == "1" else int(x) for v, x in zip(cols[0], col, strict=True)], dtype=np.int64
            )

    else:
        raise _NotExact(f"profile versions {sorted(versions)}")
    last_col = cols[7]
    has_last = np.array([x != "" for x in last_col], dtype=np.bool_)
    masks, codes = _MASKS, _STATUS_CODE
    risks = []
    for rk in cols[10]:
        m = masks.get(rk)
        if m is None:
            m = masks[rk] = sum(_RISK_BIT[x] for x in rk.split(","))
        risks.append(m)
    flags = np.frombuffer("".join(cols[9]).encode(), dtype=np.uint8)
    if len(flags) != 4 * n:
        raise _NotExact("bad flags")
    fl = flags.reshape(n, 4) == ord("1")
    return _Profiles(
        size=_ints(cols[1]),
        counted=money(cols[2]),
        unverified=_ints(cols[3]),
        deducted=money(cols[4]),
        rigid=money(cols[5]),
        edu_other=money(cols[6]),
        last=money([x or "0" for x in last_col]),
        has_last=has_last,
        status=np.array([codes[x] for x in cols[8]], dtype=np.int64),
        escaped=fl[:, 0],
        urban=fl[:, 1],
        assets_blocked=fl[:, 2],
        supporters_able=fl[:, 3],
        risks=np.array(risks, dtype=np.int64),
        deps=list(cols[11]),
    )


@dataclass
class VectorResult:
    """Per household: per-capita income in fen, codes into CATEGORIES / LOW_INCOME / WARNINGS,
    and the risk types as a bit mask over RISK_TYPE_ORDER (`risks_of_mask`)."""

    per_capita_fen: I64
    category: npt.NDArray[np.int8]
    low_income_category: npt.NDArray[np.int8]
    warning: npt.NDArray[np.int8]
    risks: I64

    def __len__(self) -> int:
        return len(self.per_capita_fen)


def _round_div(num: I64, den: I64) -> I64:
    """num / den rounded half away from zero (den > 0), in integers."""
    q = (2 * np.abs(num) + den) // (2 * den)
    return np.where(num < 0, -q, q)


def _lt(x: I64, t: tuple[int, int]) -> B:
    """x < p/q, exactly."""
    return x * t[1] < t[0]


def _age(born: dt.date, as_of: dt.date) -> int:
    return as_of.year - born.year - ((as_of.month, as_of.day) < (born.month, born.day))


def _tekun_by_ages(deps: str, as_of: dt.date) -> bool:
    """Every member without labour capacity is disabled, 60 or older, or under 16 (`deps`: per
    member "1"/"0" disabled + birth date YYYYMMDD; only households where nobody can work)."""
    for item in deps.split(";"):
        disabled = item[0] == "1"
        ymd = item[1:]
        try:
            age: int | None = _age(dt.date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:8])), as_of)
        except ValueError:
            age = None
        if not (disabled or (age is not None and (age >= 60 or age < 16))):
            return False
    return True


def evaluate_profiles(profiles: Sequence[str], policy: ResolvedPolicy, *, as_of: dt.date) -> VectorResult | None:
    """The outcomes of the households with these screening profiles (`columnar.profile_of`) under
    `policy` on `as_of`; None when they cannot be computed exactly in int64 (then use
    `columnar.evaluate`). Raises PolicyParameterMissing exactly where `columnar.evaluate` does."""
    try:
        return _evaluate(_parse(profiles), policy, as_of)
    except (_NotExact, OverflowError):  # OverflowError: a value beyond int64 while parsing
        return None


def _check_range(*xs: I64, den: int) -> None:
    for x in xs:
        if len(x) and int(np.abs(x).max()) * max(den, 1) * 4 >= _SAFE:
            raise _NotExact("value out of the exact range")


def _evaluate(p: _Profiles, policy: ResolvedPolicy, as_of: dt.date) -> VectorResult:
    n = len(p.size)
    line = _fen_threshold(decimal_param(policy, "monitoring_line").value)
    std_r_dec = decimal_param(policy, "dibao_standard_rural").value
    mult = Fraction(decimal_param(policy, "dibao_edge_multiplier").value)
    variant = str_param(policy, "expenditure_hardship_variant", default="edge_standard")
    if variant not in ("edge_standard", "above_twice_dibao"):
        raise ValueError(f"unknown expenditure_hardship_variant {variant!r}")
    disposable = (
        _fen_threshold(decimal_param(policy, "local_disposable_income_per_capita").value)
        if "local_disposable_income_per_capita" in policy
        else None
    )
    urban_any = bool(p.urban.any())
    std_u_dec = (
        decimal_param(policy, "dibao_standard_urban").value
        if urban_any or "dibao_standard_urban" in policy
        else std_r_dec
    )
    std_r, std_u = _fen_threshold(std_r_dec), _fen_threshold(std_u_dec)
    edge_r = (Fraction(std_r_dec) * mult * 100).as_integer_ratio()
    edge_u = (Fraction(std_u_dec) * mult * 100).as_integer_ratio()
    thresholds = [line, std_r, std_u, edge_r, edge_u, disposable or (0, 1)]
    if any(abs(t[0]) >= _SAFE >> 8 for t in thresholds):
        raise _NotExact("threshold out of the exact range")
    dens = [t[1] for t in thresholds]

    # imputed wage income of dibao households with unverified earners
    imputing = (p.status == _DIBAO) & (p.unverified > 0)
    imputed = np.zeros(n, dtype=np.int64)
    if imputing.any():
        wage_year = Fraction(decimal_param(policy, "minimum_wage_monthly").value) * _MONTHS * 100
        if wage_year.denominator != 1:
            raise _NotExact("minimum wage not a whole number of fen")
        _check_range(p.unverified, den=wage_year.numerator)
        imputed = np.where(imputing, p.unverified * wage_year.numerator, 0)
    _check_range(p.counted, p.deducted, p.rigid, p.edu_other, p.last, imputed, den=max(dens) * 64)
    income = p.counted + imputed
    pc = _round_div(income - p.deducted, p.size)
    has_risk = p.risks != 0

    # sudden hardship (categories.sudden_hardship_test)
    met = np.zeros(n, dtype=np.bool_)
    if p.has_last.any():
        rr = Fraction(decimal_param(policy, "sudden_hardship_rigid_to_income_ratio").value)
        rd = Fraction(decimal_param(policy, "sudden_hardship_income_drop_ratio").value)
        _check_range(p.rigid, p.last, p.counted, den=max(rr.denominator, rd.denominator, rr.numerator, rd.numerator))
        before = p.last
        rigid_high = p.rigid * rr.denominator > before * rr.numerator
        dropped = (before > 0) & ((before - p.counted) * rd.denominator >= before * rd.numerator)
        met = p.has_last & (rigid_high | dropped)

    # return category
    below_line = _lt(pc, line)
    category = np.where(below_line & has_risk, np.where(p.escaped, 1, 2), np.where(~below_line & met & has_risk, 3, 0))

    # low-income category (low_income.classify_low_income)
    below_std = np.where(p.urban, _lt(pc, std_u), _lt(pc, std_r))
    below_edge = np.where(p.urban, _lt(pc, edge_u), _lt(pc, edge_r))
    tekun = p.status == _TEKUN
    candidates = np.flatnonzero((income <= 0) & ~p.supporters_able & ~tekun)
    if len(candidates):
        deps = p.deps
        for i in candidates.tolist():
            if deps[i] and _tekun_by_ages(deps[i], as_of):
                tekun[i] = True
    hardship = np.zeros(n, dtype=np.bool_)
    if disposable is not None:
        after = _round_div(pc * p.size - p.edu_other, p.size)
        below_disposable = _lt(pc, disposable)
        if variant == "edge_standard":
            hardship = below_disposable & np.where(p.urban, _lt(after, edge_u), _lt(after, edge_r))
        else:
            twice_r, twice_u = (std_r[0] * 2, std_r[1]), (std_u[0] * 2, std_u[1])
            at_least_twice = ~np.where(p.urban, _lt(pc, twice_u), _lt(pc, twice_r))
            below_std_after = np.where(p.urban, _lt(after, std_u), _lt(after, std_r))
            hardship = at_least_twice & below_disposable & below_std_after
    low = np.select(
        [tekun, p.assets_blocked, below_std, below_edge, hardship],
        [1, 0, 2, 3, 4],
        default=0,
    )

    # three-colour warning (early_warning.three_colour_warning)
    in_programme = (p.status == _DIBAO) | (p.status == _TEKUN)
    qualifies = (low == 1) | (low == 2)
    red = ~in_programme & has_risk & (met | (low == 4)) & ~qualifies
    orange = ~in_programme & ~red & ~below_std & below_edge
    exited = p.status == _EXITED
    yellow = ~in_programme & ~red & ~orange & ((category != 0) | (exited & ((low != 0) | below_edge)))
    warning = np.select([red, orange, yellow], [1, 2, 3], default=0)
    return VectorResult(
        per_capita_fen=pc,
        category=category.astype(np.int8),
        low_income_category=low.astype(np.int8),
        warning=warning.astype(np.int8),
        risks=p.risks,
    )
