"""The national monitoring system's household file (domain.national_format): byte-stable on a
fixed input (the golden sample, also shown in docs/registry.md), codes per the seeds' terms,
escaping, the header's count and checksum."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

from services.identification.domain.national_format import (
    Change,
    HouseholdMoney,
    NationalHousehold,
    NationalMember,
    encode_file,
    encode_household,
    file_name,
    in_scope,
    parse_header,
)

GOLDEN = Path(__file__).parent / "data" / "national_sample.txt"
UNTIL = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)
SINCE = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


def _members() -> tuple[NationalMember, ...]:
    return (
        NationalMember(1, "34122119650304002X", "王秀英", "spouse", "female", dt.date(1965, 3, 4), "half"),
        NationalMember(
            0, "341221196201150014", "李建国", "head", "male", dt.date(1962, 1, 15), "weak", serious_illness=True
        ),
        NationalMember(
            2, "341221200909090035", "李小|明", "child", "male", dt.date(2009, 9, 9), "none", 2, schooling="compulsory"
        ),
    )


HOUSEHOLDS = [
    NationalHousehold(
        change=Change.UPDATED,
        household_number="LQ-0002",
        household_id="0190a1b2-0000-7000-8000-000000000002",
        region_code="341221001201",
        status="monitored",
        escaped_poverty=True,
        category="unstable_escaped",
        risk_types=("illness", "disability", "illness"),
        low_income_category="dibao_edge",
        per_capita_income=Decimal("4833.335"),
        income=HouseholdMoney(wage=Decimal("12000"), transfer=Decimal("3600.5"), medical=Decimal("8100")),
        monitored_since=dt.date(2026, 3, 1),
        measures=(("medical", "in_progress"), ("employment", "accepted")),
        members=_members(),
    ),
    NationalHousehold(
        change=Change.ADDED,
        household_number="LQ-0001",
        household_id="0190a1b2-0000-7000-8000-000000000001",
        region_code="341221001201",
        status="eliminated",
        escaped_poverty=False,
        category="marginal",
        risk_types=("unstable_employment",),
        per_capita_income=Decimal("7260"),
        monitored_since=dt.date(2025, 6, 1),
        eliminated_on=dt.date(2026, 11, 20),
        members=(NationalMember(0, "341221197705050051", "张强", "head", "male", dt.date(1977, 5, 5), "ordinary"),),
    ),
    NationalHousehold(
        change=Change.UPDATED,
        household_number="LQ-0003",
        household_id="0190a1b2-0000-7000-8000-000000000003",
        region_code="341221002003",
        status="cleared",
        category="sudden_hardship",
        risk_types=("accident",),
        per_capita_income=Decimal("9800.00"),
        members=(NationalMember(0, "341221198808080072", "赵敏", "head", "female", dt.date(1988, 8, 8), "skilled"),),
    ),
    NationalHousehold(
        change=Change.REMOVED,
        household_number="LQ-0009",
        household_id="0190a1b2-0000-7000-8000-000000000009",
        region_code="341221002003",
    ),
]


def _file() -> bytes:
    return encode_file(
        county="341221", period="202612", sequence=7, full=False, since=SINCE, until=UNTIL, households=HOUSEHOLDS
    )


def test_golden_sample_is_byte_stable() -> None:
    data = _file()
    assert data == GOLDEN.read_bytes()
    assert data == encode_file(
        county="341221",
        period="202612",
        sequence=7,
        full=False,
        since=SINCE,
        until=UNTIL,
        households=list(reversed(HOUSEHOLDS)),  # the input's order does not matter
    )


def test_header_count_and_checksum() -> None:
    data = _file()
    header, body = data.split(b"\n", 1)
    h = parse_header(header + b"\n")
    assert h == {
        "format": "FFNS",
        "version": "1",
        "county": "341221",
        "period": "202612",
        "sequence": "7",
        "mode": "I",
        "since": "20261201T100000.000000Z",
        "until": "20261202T100000.000000Z",
        "count": "4",
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    assert sum(1 for line in body.split(b"\n") if line.startswith(b"F|")) == 4


def test_household_row_codes_money_and_member_order() -> None:
    lines = encode_household(HOUSEHOLDS[0]).decode().splitlines()
    assert lines[0] == (
        "F|U|LQ-0002|0190a1b2-0000-7000-8000-000000000002|341221001201|1|1|1|01;03|3|4833.34|"
        "12000.00|0.00|0.00|3600.50|8100.00|0.00|0.00|20260301||3|"
        "employment:accepted;medical:in_progress"
    )
    assert [line.split("|")[1] for line in lines[1:]] == ["0", "1", "2"]
    assert lines[1] == "M|0|341221196201150014|李建国|head|male|19620115|3||1|none"
    assert lines[3] == "M|2|341221200909090035|李小\\|明|child|male|20090909|5|2|0|compulsory"


def test_removed_row_carries_no_person() -> None:
    assert encode_household(HOUSEHOLDS[3]) == b"F|D|LQ-0009|0190a1b2-0000-7000-8000-000000000009|341221002003\n"


@pytest.mark.parametrize(
    ("status", "escaped", "expected"),
    [
        ("registered", False, False),
        ("registered", True, True),
        ("monitored", False, True),
        ("eliminated", False, True),
        ("cleared", False, True),
    ],
)
def test_scope(status: str, escaped: bool, expected: bool) -> None:
    assert in_scope(status=status, escaped_poverty=escaped) is expected


def test_unknown_code_is_refused() -> None:
    bad = NationalHousehold(Change.ADDED, "X", "x", "341221001201", status="monitored", risk_types=("flood",))
    with pytest.raises(ValueError, match="flood"):
        encode_household(bad)


def test_file_name() -> None:
    assert file_name("341221", dt.date(2026, 12, 2), 7) == "FFNS_341221_20261202_000007.txt"
