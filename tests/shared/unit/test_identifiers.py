"""Resident ID numbers (GB 11643 MOD 11-2) and region codes compared by level."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.identifiers import (
    InvalidIdNumber,
    InvalidRegionCode,
    RegionCode,
    id_birth_date,
    id_check_digit,
    id_sex,
    is_valid_id_number,
    region_level,
    region_within,
    validate_id_number,
    validate_region_code,
)

# Known-valid vectors: the GB 11643 example and numbers whose check digit was worked by hand.
VALID = ["11010519491231002X", "440524188001010014", "341221199001011231", "34122120101231000X"]


@pytest.mark.parametrize("number", VALID)
def test_known_valid_numbers_pass(number: str) -> None:
    assert validate_id_number(number) == number
    assert validate_id_number(number.lower()) == number  # a lower-case x is normalised


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("11010519491231002", "17 digits"),
        ("1101051949123100211", "17 digits"),
        ("11010519491231002Y", "17 digits"),
        ("110105194912310021", "check digit"),
        ("110105194902300025", "not a real date"),  # 30 February
        ("110105299901010026", "impossible"),  # born in 2999
        ("110105187001010021", "impossible"),  # before 1880
    ],
)
def test_invalid_numbers_say_why(number: str, reason: str) -> None:
    with pytest.raises(InvalidIdNumber, match=reason):
        validate_id_number(number)


def test_birth_date_and_sex() -> None:
    assert id_birth_date("11010519491231002X") == dt.date(1949, 12, 31)
    assert id_sex("11010519491231002X") == "female"  # 17th digit 2 is even
    assert id_sex("440524188001010014") == "male"


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from(["341221", "110105", "510903", "130126"]))
    born = draw(st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2020, 12, 31)))
    seq = draw(st.integers(min_value=0, max_value=999))
    first17 = f"{area}{born:%Y%m%d}{seq:03d}"
    return first17 + id_check_digit(first17)


# GB 11643's weights, 2^(17-i) mod 11: what id_check_digit's base-13 shortcut must agree with
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_digit_equals_the_weighted_sum_of_the_standard(first17: str) -> None:
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    assert id_check_digit(first17) == "10X98765432"[total % 11]


@pytest.mark.parametrize(
    "first17", ["3412211990010112", "341221199001011231", "34122119900101123A", "3412211990010112a"]
)
def test_check_digit_needs_seventeen_digits(first17: str) -> None:
    with pytest.raises(ValueError):
        id_check_digit(first17)


@settings(max_examples=200, deadline=None)
@given(valid_ids())
def test_every_single_substitution_fails(number: str) -> None:
    assert is_valid_id_number(number)
    alphabet = "0123456789X"
    for i, original in enumerate(number):
        for c in alphabet:
            if c == original:
                continue
            mutated = number[:i] + c + number[i + 1 :]
            assert not is_valid_id_number(mutated), (number, mutated)


@settings(max_examples=200, deadline=None)
@given(valid_ids())
def test_every_adjacent_transposition_fails(number: str) -> None:
    for i in range(len(number) - 1):
        if number[i] == number[i + 1]:
            continue
        swapped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
        assert not is_valid_id_number(swapped), (number, swapped)


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("34", "province"),
        ("3412", "city"),
        ("341221", "county"),
        ("341221001", "township"),
        ("341221001200", "village"),
    ],
)
def test_region_levels(code: str, level: str) -> None:
    assert region_level(code) == level
    assert RegionCode(code).level == level


@pytest.mark.parametrize("code", ["3", "341", "34122100", "3412210012", "34122100120", "34122100120A", ""])
def test_region_codes_of_no_level_are_refused(code: str) -> None:
    with pytest.raises(InvalidRegionCode):
        region_level(code)


@pytest.mark.parametrize(
    ("code", "prefix", "inside"),
    [
        ("341221001200", "341221001", True),
        ("341221001200", "341221", True),
        ("341221001200", "34", True),
        ("341221001200", "", True),
        ("341221001200", "3412210012", False),  # not a level: never strip zeros
        ("341221001200", "341221002", False),
        ("341221001200", "341222", False),
        ("341221", "341221001", False),  # a county is not inside one of its townships
        ("341221001200", "341221001200", True),
    ],
)
def test_region_within_compares_by_level(code: str, prefix: str, inside: bool) -> None:
    assert region_within(code, prefix) is inside


def test_region_ancestors_and_expected_level() -> None:
    assert RegionCode("341221001200").ancestors() == ["34", "3412", "341221", "341221001", "341221001200"]
    with pytest.raises(InvalidRegionCode, match="expected a village code"):
        validate_region_code("341221001", level="village")


def test_time_ordered_uuids_are_version_7_ascending_and_carry_the_time() -> None:
    import re
    import time
    import uuid

    from shared.identifiers import time_ordered_uuids

    before = time.time_ns() // 1_000_000
    ids = time_ordered_uuids(5000)
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == 5000
    assert ids == sorted(ids)
    for value in ids:
        u = uuid.UUID(value)
        assert (u.version, u.variant) == (7, uuid.RFC_4122)
        assert before <= int(value.replace("-", "")[:12], 16) <= after
        assert not re.search(r"[0-9]{11}", value)  # never reads as a phone number in an event
    later = time_ordered_uuids(1)[0]
    time.sleep(0.002)
    assert time_ordered_uuids(1)[0] > later  # a later millisecond sorts after
