"""Identifiers of people and places: resident ID numbers (GB 11643) and region codes (GB/T 2260
plus the 12-digit statistical codes), compared by administrative level, never by trailing zeros."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from dataclasses import dataclass

__all__ = [
    "REGION_LEVELS",
    "InvalidIdNumber",
    "InvalidRegionCode",
    "RegionCode",
    "id_birth_date",
    "id_check_digit",
    "id_sex",
    "is_valid_id_number",
    "region_level",
    "region_within",
    "time_ordered_uuids",
    "validate_id_number",
    "validate_region_code",
]

_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")

#: Lengths of a region code at each administrative level: province, city, county, township,
#: village (DOMAIN.md §1).
REGION_LEVELS: dict[int, str] = {
    2: "province",
    4: "city",
    6: "county",
    9: "township",
    12: "village",
}


class InvalidIdNumber(ValueError):
    """A resident ID number that fails the GB 11643 format, date or MOD 11-2 check."""


class InvalidRegionCode(ValueError):
    """A region code that is not 2, 4, 6, 9 or 12 digits."""


def id_check_digit(first17: str) -> str:
    """The GB 11643 MOD 11-2 check character for the first 17 digits.

    The weights are 2^(17-i) mod 11 (7, 9, 10, 5, … for i = 0, 1, 2, …), and 13 ≡ 2 (mod 11), so
    the weighted sum is 2 × (the digits read as a base-13 number) mod 11: one `int()` call
    instead of a loop (imports check millions). tests/shared check it against the weights."""
    if len(first17) != 17 or not (first17.isdigit() and first17.isascii()):
        raise ValueError("the first 17 characters of an ID number are digits")
    return _CHECK[2 * int(first17, 13) % 11]


def validate_id_number(value: str, *, today: dt.date | None = None) -> str:
    """Return the normalised (upper-case X) ID number or raise `InvalidIdNumber` with the reason."""
    if not isinstance(value, str):
        raise InvalidIdNumber("must be a string of 18 characters")
    v = value.strip().upper()
    if not _ID_RE.match(v):
        raise InvalidIdNumber("must be 17 digits followed by a digit or X")
    try:
        born = dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError as exc:
        raise InvalidIdNumber("birth date in the ID number is not a real date") from exc
    today = today or dt.date.today()
    if born > today or born.year < 1880:
        raise InvalidIdNumber("birth date in the ID number is impossible")
    if id_check_digit(v[:17]) != v[17]:
        raise InvalidIdNumber("check digit does not match (GB 11643 MOD 11-2)")
    return v


def is_valid_id_number(value: str) -> bool:
    try:
        validate_id_number(value)
    except InvalidIdNumber:
        return False
    return True


def id_birth_date(value: str) -> dt.date:
    return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def id_sex(value: str) -> str:
    """`male` or `female` from the 17th digit (odd = male)."""
    return "male" if int(value[16]) % 2 else "female"


def region_level(code: str) -> str:
    """The level name of a region code, or raise `InvalidRegionCode`."""
    if not isinstance(code, str) or not code.isdigit() or len(code) not in REGION_LEVELS:
        raise InvalidRegionCode("region code must be 2, 4, 6, 9 or 12 digits")
    return REGION_LEVELS[len(code)]


def validate_region_code(code: str, *, level: str | None = None) -> str:
    got = region_level(code)
    if level is not None and got != level:
        raise InvalidRegionCode(f"expected a {level} code ({_len_of(level)} digits), got a {got} code")
    return code


def _len_of(level: str) -> int:
    return next(n for n, name in REGION_LEVELS.items() if name == level)


def region_within(code: str, prefix: str) -> bool:
    """True when `code` lies inside the region `prefix` (compared by level, character by
    character). An empty prefix is the whole country. Never strips zeros: village
    `341221001200` is inside township `341221001`, not inside some `3412210012`."""
    if prefix == "":
        return True
    if len(prefix) not in REGION_LEVELS or len(code) < len(prefix):
        return False
    return code[: len(prefix)] == prefix


@dataclass(frozen=True, slots=True)
class RegionCode:
    """A validated region code with its ancestors by level."""

    code: str

    def __post_init__(self) -> None:
        region_level(self.code)

    @property
    def level(self) -> str:
        return REGION_LEVELS[len(self.code)]

    def ancestors(self) -> list[str]:
        """Codes of this region and every level above it, province first."""
        return [self.code[:n] for n in REGION_LEVELS if n <= len(self.code)]

    def within(self, prefix: str) -> bool:
        return region_within(self.code, prefix)


_DIGIT_RUN = re.compile(r"[0-9]{11}")


def time_ordered_uuids(n: int) -> list[str]:
    """`n` time-ordered UUIDs (RFC 9562 version 7: 48 bits of Unix milliseconds, then 74 random
    bits), in ascending order, none with a run of 11 digits (ids go into event payloads, whose
    guard refuses anything that looks like a mobile number).

    Time-ordered because an index of such ids (a primary key, members by household, the outbox's
    event ids) takes a batch's new ids at one end instead of at random places: a bulk import into
    a million households spends about half as long in PostgreSQL (bench/README.md). An id tells
    when it was made, as the row's own timestamp does."""
    out: list[str] = []
    while len(out) < n:
        prefix = (time.time_ns() // 1_000_000).to_bytes(6, "big")
        raw = os.urandom(10 * (n - len(out)))
        for i in range(0, len(raw), 10):
            b = raw[i : i + 10]
            h = (prefix + bytes(((b[0] & 0x0F) | 0x70, b[1], (b[2] & 0x3F) | 0x80)) + b[3:]).hex()
            value = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
            if not _DIGIT_RUN.search(value):
                out.append(value)
    out.sort()
    return out
