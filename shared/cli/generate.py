"""`fangfan generate`: deterministic synthetic households (the `POST /assessments` body plus a
household number and phone) for load tests and demos, streamed as NDJSON, a JSON array or CSV.

Nothing here describes a real person: names are drawn from common surnames and generic given-name
characters, phones from the 170/171 virtual-operator ranges, ID numbers are built from the county
code, a plausible birth date and a per-(date, sex) counter (unique without remembering every ID).
Same seed + N + county → byte-identical output; money is integer fen, formatted "12345.67".

Region codes: county (6) + township (3, from 001) + village (3). Villages are numbered from 201:
001–199 are residents' committees, which identification treats as urban (`residence_of_region`).
About 500 households per village (300–800), about 20 villages per township (at most 40 townships).

CSV: one row per member, the household columns repeated on each of its rows (`CSV_COLUMNS`):
household_number, region_code, escaped_poverty, dibao_status, phone, household_size,
member_index (0 = head), id_number, name, relation, labor_capacity, disability_grade,
disability_kind, serious_illness, schooling, income_<kind> and last_year_income_<kind> for kind in
wage|business|property|transfer|insurance_claims|exempt, expenses_<kind> for kind in
compliant_oop_medical|education|employment_costs|other_rigid, assets_<flag> for each negative-list
flag. Booleans are `true`/`false`; null is the empty string.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import math
import multiprocessing
import os
import queue
import sys
import time
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import IO, Any

from shared.identifiers import id_check_digit, region_level

__all__ = [
    "ASSET_FLAGS",
    "CSV_COLUMNS",
    "EXPENSE_KINDS",
    "FORMATS",
    "INCOME_KINDS",
    "REFERENCE_DATE",
    "add_arguments",
    "generate_households",
    "run",
    "write_households",
]

#: Ages and birth dates are reckoned at this date (never `today`: output must not depend on time).
REFERENCE_DATE = dt.date(2024, 12, 31)

FORMATS = ("ndjson", "json", "csv")
INCOME_KINDS = ("wage", "business", "property", "transfer", "insurance_claims", "exempt")
EXPENSE_KINDS = ("compliant_oop_medical", "education", "employment_costs", "other_rigid")
#: Negative-list flags (DOMAIN.md §3) with the share of households where each is true.
_ASSET_RATES: tuple[tuple[str, float], ...] = (
    ("public_employee", 0.010),
    ("village_cadre", 0.006),
    ("commercial_property", 0.015),
    ("car", 0.030),
    ("company", 0.005),
    ("large_deposits", 0.010),
    ("private_school", 0.002),
    ("supporters_able", 0.020),
    ("illegal_conduct", 0.002),
    ("refuses_work", 0.005),
    ("refuses_asset_check", 0.003),
    ("absent_over_year", 0.020),
)
ASSET_FLAGS = tuple(name for name, _ in _ASSET_RATES)
# Flags that go with wealth are drawn 1.6× as often above the median income, 0.4× below.
_WEALTH_FLAGS = frozenset(
    {"public_employee", "commercial_property", "car", "company", "large_deposits", "private_school"}
)
_ASSET_RATES_RICH = tuple(p * 1.6 if k in _WEALTH_FLAGS else p for k, p in _ASSET_RATES)
_ASSET_RATES_POOR = tuple(p * 0.4 if k in _WEALTH_FLAGS else p for k, p in _ASSET_RATES)

_MEMBER_COLUMNS = (
    "id_number",
    "name",
    "relation",
    "labor_capacity",
    "disability_grade",
    "disability_kind",
    "serious_illness",
    "schooling",
)
CSV_COLUMNS: tuple[str, ...] = (
    "household_number",
    "region_code",
    "escaped_poverty",
    "dibao_status",
    "phone",
    "household_size",
    "member_index",
    *_MEMBER_COLUMNS,
    *(f"income_{k}" for k in INCOME_KINDS),
    *(f"expenses_{k}" for k in EXPENSE_KINDS),
    *(f"last_year_income_{k}" for k in INCOME_KINDS),
    *(f"assets_{k}" for k in ASSET_FLAGS),
)

# Per-capita monitoring income (DOMAIN.md §2) is log-normal: median 12,000 yuan, σ 0.54 puts
# ~10% below 6,000 and ~5% below 5,000.
_INCOME_MEDIAN_YUAN = 12_000
_INCOME_SIGMA = 0.54

_SIZE_CUM = (0.08, 0.25, 0.49, 0.73, 0.88, 0.96, 1.0)  # sizes 1..7: ~8% single, mode 3–4
_HOUSEHOLDS_PER_VILLAGE = 500
_VILLAGES_PER_TOWNSHIP = 20
_MAX_TOWNSHIPS = 40
_PARTS = 2  # ID-number allocator parts = the most generator processes (fixed: output never depends on it)
_PARALLEL_FROM = 20_000  # below this, starting processes costs more than it saves
_FIRST_VILLAGE = 201  # 村委会 range (201–399); 001–199 are urban residents' committees
_MAX_VILLAGES_PER_TOWNSHIP = 199

# Common surnames, the most frequent repeated so that they are drawn more often.
_SURNAMES = (
    "王王王王李李李李张张张张刘刘刘陈陈陈杨杨黄黄赵赵吴吴周周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
    "彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段"
    "雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤葛"
)
_MALE_CHARS = "伟刚勇军强磊洋涛明超华平辉健志国建文斌杰鹏飞俊峰浩宇轩博晨东林海波龙春德福贵成永庆山"
_FEMALE_CHARS = "芳娜敏静丽艳娟秀霞英兰玉凤红梅琴云莲萍燕慧婷雪琳欣怡涵悦彤佳梓雨蕾桂香"

_DISABILITY_KINDS = ("physical", "visual", "hearing", "speech", "intellectual", "mental", "multiple")
_DISABILITY_KIND_CUM = (0.45, 0.57, 0.71, 0.73, 0.81, 0.89, 1.0)
_DISABILITY_GRADE_CUM = (0.10, 0.30, 0.60, 1.0)  # grades 1 (most severe) … 4


def _fmt_fen(fen: int) -> str:
    """Integer fen as a yuan string with two decimals (non-negative by construction)."""
    return "%d.%02d" % divmod(fen, 100)  # noqa: UP031 - faster than an f-string with divmod


def _by_age(under18: float, under45: float, under60: float, under70: float, older: float) -> tuple[float, ...]:
    """A probability for each age 0..120 from five age bands."""
    return tuple(
        under18 if a < 18 else under45 if a < 45 else under60 if a < 60 else under70 if a < 70 else older
        for a in range(121)
    )


# Disability (~6% of people) and serious illness (~5%) rise with age.
_DISABILITY_BY_AGE = _by_age(0.014, 0.033, 0.072, 0.108, 0.155)
_ILLNESS_BY_AGE = _by_age(0.0075, 0.024, 0.064, 0.10, 0.135)
_SEQ_WEIGHTS = (8, 4, 2)  # GB 11643 weights of the three sequence digits (positions 15–17)
_CHECK_CHARS = "10X98765432"  # GB 11643: check character by weighted sum mod 11


class _IdAllocator:
    """Hands out GB 11643 ID numbers in one county, unique without remembering them: a counter
    per (birth date, sex) gives sequence numbers (odd for men, even for women); a full bucket
    moves the birth date one day earlier. The 499 sequence numbers of a bucket are split into
    `parts` disjoint ranges, one per allocator, so that parts can run in separate processes. Where
    in the 499 a bucket starts depends on `seed`: two data sets made with different seeds seldom
    share an ID number (without it, everyone first born on a day got the same number in both —
    two generated county files loaded into one system then collided)."""

    _SEQUENCES = 499
    _STRIDE = 173  # coprime with 499: spreads sequence numbers instead of counting 001, 003, …

    def __init__(
        self,
        county: str,
        *,
        part: int = 0,
        parts: int = 1,
        seed: int = 0,
        reference: dt.date = REFERENCE_DATE,
        span_years: int = 120,
    ) -> None:
        self._county = county
        self._salt = Random(f"{seed}:ids:{county}").randrange(self._SEQUENCES)
        self._per_bucket = self._SEQUENCES // parts
        self._offset = part * self._per_bucket
        self._max = reference.toordinal()
        self._min = self._max - span_years * 366
        self._used = array("H", bytes(2 * 2 * (self._max - self._min + 1)))
        # per birth date: the 14-digit prefix and its weighted digit sum mod 11, taken from
        # `id_check_digit` of the prefix + "000" so that the checksum has one implementation
        self._prefixes: dict[int, tuple[str, int]] = {}
        self._seq = [
            (f"{s:03d}", sum(int(c) * w for c, w in zip(f"{s:03d}", _SEQ_WEIGHTS, strict=True))) for s in range(1000)
        ]

    def allocate(self, born: int, male: bool) -> str:
        """An unused ID number for someone born on ordinal day `born` (or a few days earlier)."""
        born = min(born, self._max)
        used, sex = self._used, int(male)
        while True:
            if born < self._min:
                raise ValueError("no ID numbers left in this county for these birth dates")
            slot = (born - self._min) * 2 + sex
            k = used[slot]
            if k < self._per_bucket:
                break
            born -= 1
        used[slot] = k + 1
        seq = ((k + self._offset) * self._STRIDE + born * 37 + self._salt) % self._SEQUENCES
        prefix = self._prefixes.get(born)
        if prefix is None:
            head = self._county + dt.date.fromordinal(born).strftime("%Y%m%d")
            prefix = self._prefixes[born] = (head, _CHECK_CHARS.index(id_check_digit(head + "000")))
        digits, weighted = self._seq[2 * seq + (1 if male else 2)]
        return prefix[0] + digits + _CHECK_CHARS[(prefix[1] + weighted) % 11]


def _village_layout(n: int, county: str, seed: int) -> list[tuple[int, int, str]]:
    """(start, end, village code) blocks covering households 0..n-1, villages of varying size."""
    rng = Random(f"{seed}:layout:{county}")
    villages = max(1, round(n / _HOUSEHOLDS_PER_VILLAGE))
    townships = max(1, min(_MAX_TOWNSHIPS, round(villages / _VILLAGES_PER_TOWNSHIP)))
    per_township = math.ceil(villages / townships)
    if per_township > _MAX_VILLAGES_PER_TOWNSHIP:
        townships = math.ceil(villages / _MAX_VILLAGES_PER_TOWNSHIP)
        per_township = math.ceil(villages / townships)
    if townships > 999:
        raise ValueError("too many households for one county")
    weights = [0.6 + rng.random() for _ in range(villages)]  # village sizes vary ~0.6–1.6 × mean
    total = sum(weights)
    layout: list[tuple[int, int, str]] = []
    acc, start = 0.0, 0
    for i, w in enumerate(weights):
        acc += w
        end = n if i == villages - 1 else round(n * acc / total)
        township, village = divmod(i, per_township)
        layout.append((start, end, f"{county}{township + 1:03d}{_FIRST_VILLAGE + village:03d}"))
        start = end
    return layout


class _HouseholdFactory:
    """Draws households from one `random.Random`, reseeded for each village from (seed, village):
    the order of draws is fixed, so the output depends on nothing but the seed, N and the county.
    Village `v` takes its ID numbers from allocator part `v % _PARTS`."""

    def __init__(self, county: str, ids: _IdAllocator) -> None:
        self._county = county
        self._rng = Random()
        self._ids = ids
        self._ref = REFERENCE_DATE.toordinal()
        self._mu = math.log(_INCOME_MEDIAN_YUAN * 100)

    # -- people --------------------------------------------------------------------------------

    def _name(self, surname: str, male: bool) -> str:
        r = self._rng.random
        chars = _MALE_CHARS if male else _FEMALE_CHARS
        given = chars[int(r() * len(chars))]
        if r() < 0.6:
            given += chars[int(r() * len(chars))]
        return surname + given

    def _surname(self) -> str:
        return _SURNAMES[int(self._rng.random() * len(_SURNAMES))]

    def _head_age(self, size: int) -> int:
        r = self._rng.random
        x = r()
        if size == 1:
            lo, hi = (25, 44) if x < 0.2 else (45, 59) if x < 0.45 else (60, 80)
        elif x < 0.12:
            lo, hi = 25, 34
        elif x < 0.32:
            lo, hi = 35, 44
        elif x < 0.57:
            lo, hi = 45, 54
        elif x < 0.80:
            lo, hi = 55, 64
        else:
            lo, hi = 65, 80
        return lo + int(r() * (hi - lo + 1))

    def _people(self, size: int) -> list[tuple[str, int, bool, str]]:
        """(relation, age, male, surname) for each member, head first."""
        r = self._rng.random
        head_age = self._head_age(size)
        head_male = r() < 0.85
        family = self._surname()
        people = [("head", head_age, head_male, family)]
        if size >= 2 and r() < (0.7 if size == 2 else 0.9):
            spouse_age = min(95, max(20, head_age - 2 + int((r() + r() + r() - 1.5) * 5)))
            people.append(("spouse", spouse_age, not head_male, self._surname()))
        parents = 0
        first_parent_male = False
        children: list[int] = []
        while len(people) < size:
            x = r()
            can_parent = parents < 2 and head_age <= 68
            can_grandchild = head_age >= 45 and children
            if x < 0.16 and can_parent:
                parents += 1
                age = min(98, head_age + 20 + int(r() * 16))
                # a lone parent in the household is more often the (widowed) mother
                male = r() < 0.4 if parents == 1 else not first_parent_male
                first_parent_male = male
                surname = family if male and head_male else self._surname()
                people.append(("parent", age, male, surname))
            elif 0.16 <= x < 0.30 and can_grandchild:
                age = max(0, head_age - 42 - int(r() * 18))
                people.append(("grandchild", age, r() < 0.52, family))
            elif 0.30 <= x < 0.33:
                age = min(95, max(16, head_age - 8 + int(r() * 17)))
                people.append(("other", age, r() < 0.5, family))
            else:
                gap = 20 + int(r() * (min(40, head_age) - 19))
                age = max(0, head_age - gap)
                children.append(age)
                people.append(("child", age, r() < 0.52, family))
        return people

    def _member(self, relation: str, age: int, male: bool, surname: str) -> dict[str, Any]:
        r = self._rng.random
        # a day in the year before the `age`-th birthday: exactly `age` at the reference date
        born = self._ref - age * 36525 // 100 - 1 - int(r() * 364)
        id_number = self._ids.allocate(born, male)
        grade: int | None = None
        kind: str | None = None
        if r() < _DISABILITY_BY_AGE[age]:
            grade = 1 + bisect_right(_DISABILITY_GRADE_CUM, r())
            kind = _DISABILITY_KINDS[bisect_right(_DISABILITY_KIND_CUM, r())]
        ill = r() < _ILLNESS_BY_AGE[age]
        x = r()
        if age < 16:
            labor = "none"
        elif age < 18:
            labor = "none" if x < 0.8 else "weak"
        elif age < 60:
            labor = (
                "ordinary"
                if x < 0.68
                else "skilled"
                if x < 0.83
                else "half"
                if x < 0.91
                else "weak"
                if x < 0.97
                else "none"
            )
        elif age < 70:
            labor = "ordinary" if x < 0.2 else "half" if x < 0.5 else "weak" if x < 0.85 else "none"
        else:
            labor = "weak" if x < 0.35 else "half" if x < 0.4 else "none"
        if age < 16:
            pass
        elif (grade is not None and grade <= 2) or (ill and r() < 0.5):
            labor = "none" if r() < 0.7 else "weak"
        elif grade is not None and labor in ("ordinary", "skilled"):
            labor = "half"
        x = r()
        if age < 3:
            schooling = "none"
        elif age < 6:
            schooling = "preschool" if x < 0.85 else "none"
        elif age < 12:
            schooling = "primary"
        elif age < 15:
            schooling = "junior"
        elif age < 18:
            schooling = "senior" if x < 0.5 else "vocational" if x < 0.85 else "none"
        elif age < 23:
            schooling = "university" if x < 0.3 else "vocational" if x < 0.42 else "none"
        else:
            schooling = "none"
        return {
            "id_number": id_number,
            "name": self._name(surname, male),
            "relation": relation,
            "labor_capacity": labor,
            "disability_grade": grade,
            "disability_kind": kind,
            "serious_illness": ill,
            "schooling": schooling,
        }

    # -- money ---------------------------------------------------------------------------------

    def _yuan(self, lo: int, hi: int) -> int:
        """Uniform amount in fen between `lo` and `hi` yuan."""
        return lo * 100 + int(self._rng.random() * (hi - lo) * 100)

    def village(self, seed: int, village: int, start: int, end: int, region_code: str) -> Iterator[dict[str, Any]]:
        """The households `start`..`end`-1, all in village number `village` (`region_code`)."""
        self._rng.seed(f"{seed}:{self._county}:{village}")
        for index in range(start, end):
            yield self.household(index, region_code)

    def household(self, index: int, region_code: str) -> dict[str, Any]:
        rng = self._rng
        r = rng.random
        size = 1 + bisect_right(_SIZE_CUM, r())
        people = self._people(size)
        members = [self._member(*p) for p in people]
        ages = [p[1] for p in people]
        head_age = ages[0]
        per_capita = max(100, round(math.exp(self._mu + _INCOME_SIGMA * rng.gauss(0.0, 1.0))))  # fen
        median = _INCOME_MEDIAN_YUAN * 100

        # Programme status goes with income; 特困 only for a lone elderly or disabled person.
        x = r()
        dibao = "none"
        alone = size == 1 and (head_age >= 55 or members[0]["disability_grade"] is not None)
        if alone and per_capita < 900_000 and x < 0.7:
            dibao = "tekun"
            members[0]["labor_capacity"] = "none"
        if dibao == "none":
            x = r()
            if per_capita < 600_000:
                dibao = "dibao" if x < 0.38 else "exited" if x < 0.42 else "none"
            elif per_capita < 900_000:
                dibao = "dibao" if x < 0.075 else "exited" if x < 0.115 else "none"
            elif per_capita < 1_500_000:
                dibao = "dibao" if x < 0.012 else "exited" if x < 0.035 else "none"
        escaped = r() < (0.30 if per_capita < 600_000 else 0.167)

        # Expenses (fen). Only compliant out-of-pocket medical and employment costs are deducted
        # from income (DOMAIN.md §2); education and other rigid spending are reported.
        ill = sum(1 for m in members if m["serious_illness"])
        workers = sum(1 for m in members if m["labor_capacity"] in ("ordinary", "skilled", "half"))
        oop = 0
        for _ in range(ill):
            oop += min(20_000_000, round(math.exp(math.log(600_000) + 0.9 * rng.gauss(0.0, 1.0))))
        if not ill and r() < 0.25:
            oop = self._yuan(50, 1_500)
        employment_costs = self._yuan(300, 3_000) if workers and r() < 0.35 else 0
        education = 0
        for m in members:
            stage = m["schooling"]
            if stage == "preschool":
                education += self._yuan(800, 2_500)
            elif stage in ("primary", "junior"):
                education += self._yuan(300, 1_200)
            elif stage in ("senior", "vocational"):
                education += self._yuan(1_500, 5_000)
            elif stage == "university":
                education += self._yuan(6_000, 14_000)
        other_rigid = self._yuan(1_000, 20_000) if r() < 0.12 else 0

        # Income (fen): counted income = per-capita × size + the deductions, split by kind.
        gross = per_capita * size + oop + employment_costs
        claims = oop * (20 + int(r() * 61)) // 100 if ill and r() < 0.45 else 0
        transfer = self._yuan(100, 800)
        if dibao == "dibao":
            transfer += size * self._yuan(1_800, 3_600)
        elif dibao == "tekun":
            transfer += self._yuan(6_000, 8_000)
        claims = min(claims, gross)
        transfer = min(transfer, gross - claims)
        rest = gross - claims - transfer
        prop = rest * (1 + int(r() * 6)) // 100 if r() < 0.35 else 0
        rest -= prop
        wage_share = 45 + int(r() * 46) if workers else int(r() * 26)
        wage = rest * wage_share // 100
        business = rest - wage
        exempt = 0
        for m, age in zip(members, ages, strict=True):
            if age >= 60:
                exempt += self._yuan(1_300, 2_000)  # basic resident pension
            grade = m["disability_grade"]
            if grade is not None and grade <= 2:
                exempt += self._yuan(900, 1_500)  # the two disability allowances
        if escaped and r() < 0.3:
            exempt += self._yuan(300, 1_000)  # guaranteed returns of poverty-alleviation projects
        this_year = (wage, business, prop, transfer, claims, exempt)

        # Last year: mostly close (income grows a little); ~10% had more of one kind (a 20–60% drop).
        last = [v * (900 + int(r() * 161)) // 1000 for v in this_year]
        if r() < 0.10:
            total = wage + business + prop + transfer
            if total:
                pick = r() * total
                k = 0 if pick < wage else 1 if pick < wage + business else 2 if pick < wage + business + prop else 3
                drop = 20 + int(r() * 41)
                last[k] = this_year[k] * 100 // (100 - drop)

        rates = _ASSET_RATES_RICH if per_capita >= median else _ASSET_RATES_POOR
        assets = dict(zip(ASSET_FLAGS, [r() < p for p in rates], strict=True))

        phone: str | None = None
        if r() >= (0.5 if head_age >= 70 else 0.12):
            phone = f"17{int(r() * 2)}{int(r() * 100_000_000):08d}"

        return {
            "household_number": f"{self._county}-{index + 1:09d}",
            "region_code": region_code,
            "escaped_poverty": escaped,
            "dibao_status": dibao,
            "phone": phone,
            "members": members,
            "income": dict(zip(INCOME_KINDS, map(_fmt_fen, this_year), strict=True)),
            "expenses": {
                "compliant_oop_medical": _fmt_fen(oop),
                "education": _fmt_fen(education),
                "employment_costs": _fmt_fen(employment_costs),
                "other_rigid": _fmt_fen(other_rigid),
            },
            "last_year_income": dict(zip(INCOME_KINDS, map(_fmt_fen, last), strict=True)),
            "assets": assets,
        }


def generate_households(n: int, county: str, *, seed: int = 42) -> Iterator[dict[str, Any]]:
    """Yield `n` synthetic households in county `county` (6 digits), one at a time. The same
    arguments always give the same households; nothing is kept but a few counters."""
    if not isinstance(county, str) or len(county) != 6 or region_level(county) != "county":
        raise ValueError("county must be a 6-digit county code, e.g. 341221")
    if n < 0:
        raise ValueError("the number of households must not be negative")
    return _stream(n, county, seed)


def _factories(county: str, seed: int) -> list[_HouseholdFactory]:
    """One household factory per allocator part (villages alternate between them)."""
    return [_HouseholdFactory(county, _IdAllocator(county, part=p, parts=_PARTS, seed=seed)) for p in range(_PARTS)]


def _stream(n: int, county: str, seed: int) -> Iterator[dict[str, Any]]:
    factories = _factories(county, seed)
    for v, (start, end, region_code) in enumerate(_village_layout(n, county, seed)):
        yield from factories[v % _PARTS].village(seed, v, start, end, region_code)


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return value


def _csv_rows(household: dict[str, Any]) -> Iterator[list[Any]]:
    members = household["members"]
    head = [_csv_value(household[k]) for k in ("household_number", "region_code", "escaped_poverty", "dibao_status")]
    head += [_csv_value(household["phone"]), len(members)]
    tail = [household["income"][k] for k in INCOME_KINDS]
    tail += [household["expenses"][k] for k in EXPENSE_KINDS]
    tail += [household["last_year_income"][k] for k in INCOME_KINDS]
    tail += [_csv_value(household["assets"][k]) for k in ASSET_FLAGS]
    for i, m in enumerate(members):
        yield [*head, i, *(_csv_value(m[k]) for k in _MEMBER_COLUMNS), *tail]


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _encode(households: Iterable[dict[str, Any]], fmt: str) -> str:
    """One village's text. JSON items each start with ",\n"; the writer drops the very first comma."""
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        for household in households:
            writer.writerows(_csv_rows(household))
        return buf.getvalue()
    if fmt == "ndjson":
        return "".join([_dumps(h) + "\n" for h in households])
    return "".join([",\n" + _dumps(h) for h in households])


def _village_texts(n: int, county: str, seed: int, fmt: str, workers: int) -> Iterator[str]:
    """Each village's text in village order, from this process or from `workers` processes
    (each owning one allocator part); both give the same bytes."""
    layout = _village_layout(n, county, seed)
    if workers <= 1:
        factories = _factories(county, seed)
        for v, (start, end, code) in enumerate(layout):
            yield _encode(factories[v % _PARTS].village(seed, v, start, end, code), fmt)
        return
    # fork: cheap, and it does not re-run the caller's __main__ (spawn would, in scripts)
    methods = multiprocessing.get_all_start_methods()
    ctx: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")  # typeshed: BaseContext
    queues = [ctx.Queue(maxsize=4) for _ in range(_PARTS)]
    procs = [
        ctx.Process(target=_part_worker, args=(county, seed, fmt, p, layout, queues[p]), daemon=True)
        for p in range(_PARTS)
    ]
    for proc in procs:
        proc.start()
    try:
        for v in range(len(layout)):
            part = v % _PARTS
            while True:
                try:
                    item = queues[part].get(timeout=1.0)
                    break
                except queue.Empty:
                    if not procs[part].is_alive():
                        raise RuntimeError("a generator process died") from None
            if isinstance(item, _WorkerFailure):
                raise RuntimeError(f"a generator process failed: {item.message}")
            yield item
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
            proc.join()
        for q in queues:
            q.close()
            q.cancel_join_thread()


@dataclass(frozen=True, slots=True)
class _WorkerFailure:
    message: str


def _part_worker(
    county: str, seed: int, fmt: str, part: int, layout: list[tuple[int, int, str]], out: Any
) -> None:  # pragma: no cover - runs in a child process
    try:
        factory = _HouseholdFactory(county, _IdAllocator(county, part=part, parts=_PARTS, seed=seed))
        for v in range(part, len(layout), _PARTS):
            start, end, code = layout[v]
            out.put(_encode(factory.village(seed, v, start, end, code), fmt))
    except Exception as exc:
        out.put(_WorkerFailure(f"{type(exc).__name__}: {exc}"))


def _write(out: IO[str], n: int, county: str, seed: int, fmt: str, workers: int) -> None:
    if fmt == "csv":
        out.write(",".join(CSV_COLUMNS) + "\n")
    elif fmt == "json":
        out.write("[")
    first = True
    for text in _village_texts(n, county, seed, fmt, workers):
        if first and fmt == "json" and text:
            text, first = text[1:], False
        out.write(text)
    if fmt == "json":
        out.write("\n]\n")


def write_households(
    path: str | os.PathLike[str],
    n: int,
    county: str,
    *,
    seed: int = 42,
    fmt: str = "ndjson",
    workers: int | None = None,
) -> int:
    """Write `n` households to `path` (`-` for standard output) as `fmt` (ndjson, json or csv)
    and return the number written; the bytes are those of `generate_households`. `workers`
    processes (default: 2 for 20,000 households or more on a machine with 2+ CPUs, else 1)
    change only the speed. A regular file appears under its name only when complete (written as
    `<name>.part`, then renamed); a device or pipe is written in place."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    generate_households(n, county, seed=seed)  # validates the arguments
    if workers is None:
        workers = _PARTS if n >= _PARALLEL_FROM and (os.cpu_count() or 1) >= 2 else 1
    if str(path) == "-":
        _write(sys.stdout, n, county, seed, fmt, workers)
        return n
    target = Path(path)
    if target.exists() and not target.is_file():
        # a device or pipe (/dev/null, a FIFO): write to it, never rename a file over it
        with target.open("w", encoding="utf-8", newline="", buffering=1 << 20) as out:
            _write(out, n, county, seed, fmt, workers)
        return n
    partial = target.with_name(target.name + ".part")
    try:
        with partial.open("w", encoding="utf-8", newline="", buffering=1 << 20) as out:
            _write(out, n, county, seed, fmt, workers)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return n


def _format_of(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    suffix = Path(args.out).suffix.lower()
    return {".csv": "csv", ".json": "json"}.get(suffix, "ndjson")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `fangfan generate`."""
    parser.add_argument("--households", type=int, required=True, metavar="N", help="number of households")
    parser.add_argument("--county", required=True, help="6-digit county code, e.g. 341221")
    parser.add_argument("--out", required=True, metavar="FILE", help="output file, or - for standard output")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="ndjson (one household a line), json (an array) or csv (one row per member); "
        "default from the file extension (.csv, .json), else ndjson",
    )
    parser.add_argument(
        "--workers",
        type=int,
        choices=(1, 2),
        default=None,
        help="generator processes (default 2 from 20,000 households on 2+ CPUs); never changes the output",
    )


def run(args: argparse.Namespace) -> int:
    """Run `fangfan generate`; 0 on success, 2 on bad arguments."""
    fmt = _format_of(args)
    started = time.perf_counter()
    try:
        count = write_households(
            args.out, args.households, args.county, seed=args.seed, fmt=fmt, workers=getattr(args, "workers", None)
        )
    except ValueError as exc:
        print(f"fangfan generate: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    rate = count / elapsed if elapsed > 0 else float("inf")
    print(f"wrote {count} households ({fmt}) to {args.out} in {elapsed:.1f}s ({rate:,.0f}/s)", file=sys.stderr)
    return 0
