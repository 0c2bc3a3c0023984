"""The household file of the national monitoring system (全国防返贫监测信息系统), format FFNS 1:
a pure, deterministic, byte-stable encoder (same input, same bytes) of one county's file.

The national system is where counties enter (录入) every monitored household: members, category
(监测对象分类), risk types (风险类型), income, measures (帮扶措施) and the risk-elimination mark
(002 篇二 §(五)2②, 篇九 第五步; 谁采集、谁录入、谁负责 002 篇二 §三(三)). One file per county and
run; the layout (docs/registry.md "National monitoring system export"):

    FFNS|1|<county>|<period YYYYMM>|<sequence>|<mode F/I>|<since>|<until>|<count>|<sha256>
    F|<change>|<household_number>|<household_id>|<village>|<status>|<escaped>|<category>|...
    M|<position>|<id_number>|<name>|<relation>|<sex>|<birth date>|<labour>|<disability>|...

UTF-8, `\\n` line ends, `|` separated; `\\`, `|` and line breaks inside a value escaped as
`\\\\`, `\\|`, `\\n`, `\\r`. `count` is the number of `F` rows, `sha256` the hex digest of every
byte after the header line. Rows are ordered by (village, household id), members by position.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

__all__ = [
    "CATEGORY_CODES",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "LABOR_CODES",
    "RISK_CODES",
    "STATUS_CODES",
    "Change",
    "FileHeader",
    "HouseholdMoney",
    "NationalHousehold",
    "NationalMember",
    "encode_file",
    "encode_header",
    "encode_household",
    "file_name",
    "in_scope",
    "parse_header",
]

FORMAT_NAME = "FFNS"
FORMAT_VERSION = "1"


class Change(StrEnum):
    """What a row tells the national system about the household."""

    ADDED = "A"  # 新增: first time in this county's files
    UPDATED = "U"  # 变更: any exported field changed (a status change — eliminated, cleared — too)
    REMOVED = "D"  # 移出: no longer in this county (deleted, merged away, moved to another county)


#: 监测状态. `cleared` (清退, wrongly identified) and `eliminated` (风险消除) are status changes,
#: never deletions: the national system keeps the household (002 篇二 §三(三); 004 §四).
STATUS_CODES: dict[str, str] = {
    "registered": "0",  # 脱贫户 not (or no longer) a monitoring subject
    "monitored": "1",  # 监测中 (识别为监测对象; a rolled-back household is monitored again)
    "eliminated": "2",  # 风险已消除 (标注风险消除)
    "cleared": "3",  # 已清退 (监测对象清退)
}

#: 监测对象类别 (002 篇八 §(一), 篇九 §二(二)).
CATEGORY_CODES: dict[str, str] = {
    "unstable_escaped": "1",  # 脱贫不稳定户
    "marginal": "2",  # 边缘易致贫户
    "sudden_hardship": "3",  # 突发严重困难户
}

#: 返贫致贫风险类型 (DOMAIN.md §3), in the order of the seeds' list.
RISK_CODES: dict[str, str] = {
    "illness": "01",  # 因病
    "schooling": "02",  # 因学
    "disability": "03",  # 因残
    "disaster": "04",  # 因灾
    "accident": "05",  # 因意外事故
    "industry_failure": "06",  # 因产业项目失败
    "unstable_employment": "07",  # 因务工就业不稳
    "lack_of_labor": "08",  # 缺劳动力
    "housing": "09",  # 住房安全
    "drinking_water": "10",  # 饮水安全
    "other": "99",  # 其他
}

#: 劳动能力: 普通/技能劳动力, 弱/半劳动力, 无劳动力.
LABOR_CODES: dict[str, str] = {"ordinary": "1", "skilled": "2", "weak": "3", "half": "4", "none": "5"}

_LOW_INCOME_CODES: dict[str, str] = {
    "dibao": "1",  # 低保
    "tekun": "2",  # 特困
    "dibao_edge": "3",  # 低保边缘
    "expenditure_hardship": "4",  # 支出型困难
}

_FEN = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class NationalMember:
    """One member as the national system records it (ID number and name in clear: the national
    system identifies people by them — the file is for the province/county roles only)."""

    position: int
    id_number: str
    name: str
    relation: str
    sex: str
    birth_date: dt.date
    labor_capacity: str
    disability_grade: int | None = None
    serious_illness: bool = False
    schooling: str = "none"


@dataclass(frozen=True, slots=True)
class HouseholdMoney:
    wage: Decimal = Decimal(0)
    business: Decimal = Decimal(0)
    property: Decimal = Decimal(0)
    transfer: Decimal = Decimal(0)
    medical: Decimal = Decimal(0)
    education: Decimal = Decimal(0)
    other_rigid: Decimal = Decimal(0)

    def fields(self) -> list[str]:
        return [
            _money(v)
            for v in (
                self.wage,
                self.business,
                self.property,
                self.transfer,
                self.medical,
                self.education,
                self.other_rigid,
            )
        ]


@dataclass(frozen=True, slots=True)
class NationalHousehold:
    """One household row. For `Change.REMOVED` only number, id and village are meaningful."""

    change: Change
    household_number: str
    household_id: str
    region_code: str
    status: str = "registered"
    escaped_poverty: bool = False
    category: str | None = None
    risk_types: tuple[str, ...] = ()
    low_income_category: str | None = None
    per_capita_income: Decimal | None = None
    #: 年收入 by kind (工资性, 经营性, 财产性, 转移性) and rigid spending (医疗, 教育, 其他刚性支出),
    #: yuan a year — the "收入支出" the county must enter completely (002 篇二 §(五)2①)
    income: HouseholdMoney = field(default_factory=lambda: HouseholdMoney())
    monitored_since: dt.date | None = None
    eliminated_on: dt.date | None = None
    #: (measure type, status) pairs, e.g. ("employment", "in_progress")
    measures: tuple[tuple[str, str], ...] = ()
    members: tuple[NationalMember, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class FileHeader:
    county: str
    period: str  # YYYYMM
    sequence: int
    full: bool
    since: dt.datetime | None
    until: dt.datetime
    count: int
    checksum: str


def in_scope(*, status: str, escaped_poverty: bool) -> bool:
    """Households the national system holds: escaped (脱贫户) households and every household that
    became a monitoring subject (monitored, eliminated or cleared) — 002 篇九 第五步."""
    return escaped_poverty or status in ("monitored", "eliminated", "cleared")


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "\\n").replace("\r", "\\r")


def _date(d: dt.date | None) -> str:
    return "" if d is None else f"{d:%Y%m%d}"


def _ts(t: dt.datetime | None) -> str:
    if t is None:
        return ""
    return t.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def _money(v: Decimal | None) -> str:
    return "" if v is None else str(v.quantize(_FEN, rounding=ROUND_HALF_UP))


def _code(table: dict[str, str], value: str | None) -> str:
    if value is None:
        return ""
    try:
        return table[value]
    except KeyError:
        raise ValueError(f"no national code for {value!r}") from None


def _line(fields: Iterable[str]) -> str:
    return "|".join(_esc(f) for f in fields) + "\n"


def encode_household(h: NationalHousehold) -> bytes:
    """The household's `F` line and, unless it is removed, one `M` line per member (by position)."""
    if h.change is Change.REMOVED:
        return _line(["F", h.change.value, h.household_number, h.household_id, h.region_code]).encode()
    risks = ";".join(sorted({_code(RISK_CODES, r) for r in h.risk_types}))
    measures = ";".join(f"{t}:{s}" for t, s in sorted(set(h.measures)))
    out = [
        _line(
            [
                "F",
                h.change.value,
                h.household_number,
                h.household_id,
                h.region_code,
                _code(STATUS_CODES, h.status),
                "1" if h.escaped_poverty else "0",
                _code(CATEGORY_CODES, h.category),
                risks,
                _code(_LOW_INCOME_CODES, h.low_income_category),
                _money(h.per_capita_income),
                *h.income.fields(),
                _date(h.monitored_since),
                _date(h.eliminated_on),
                str(len(h.members)),
                measures,
            ]
        )
    ]
    for m in sorted(h.members, key=lambda m: m.position):
        out.append(
            _line(
                [
                    "M",
                    str(m.position),
                    m.id_number,
                    m.name,
                    m.relation,
                    m.sex,
                    _date(m.birth_date),
                    _code(LABOR_CODES, m.labor_capacity),
                    "" if m.disability_grade is None else str(m.disability_grade),
                    "1" if m.serious_illness else "0",
                    m.schooling,
                ]
            )
        )
    return "".join(out).encode()


def encode_header(h: FileHeader) -> bytes:
    return _line(
        [
            FORMAT_NAME,
            FORMAT_VERSION,
            h.county,
            h.period,
            str(h.sequence),
            "F" if h.full else "I",
            _ts(h.since),
            _ts(h.until),
            str(h.count),
            h.checksum,
        ]
    ).encode()


def parse_header(line: bytes) -> dict[str, str]:
    """The header's fields by name (for readers and tests; values are never escaped)."""
    names = ["format", "version", "county", "period", "sequence", "mode", "since", "until", "count", "sha256"]
    return dict(zip(names, line.decode().rstrip("\n").split("|"), strict=True))


def encode_file(
    *,
    county: str,
    period: str,
    sequence: int,
    full: bool,
    since: dt.datetime | None,
    until: dt.datetime,
    households: Sequence[NationalHousehold],
) -> bytes:
    """The whole file in memory (small files, tests, the golden sample); the sync job streams the
    same bytes (body rows from `encode_household` in (village, household id) order, the header
    from `encode_header` with the body's count and SHA-256)."""
    rows = sorted(households, key=lambda h: (h.region_code, h.household_id))
    body = b"".join(encode_household(h) for h in rows)
    header = FileHeader(county, period, sequence, full, since, until, len(rows), hashlib.sha256(body).hexdigest())
    return encode_header(header) + body


def file_name(county: str, day: dt.date, sequence: int) -> str:
    """`FFNS_<county>_<YYYYMMDD>_<sequence, 6 digits>.txt` — unique per county (the sequence)."""
    return f"{FORMAT_NAME}_{county}_{day:%Y%m%d}_{sequence:06d}.txt"
