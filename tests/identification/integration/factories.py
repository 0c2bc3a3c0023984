"""Request bodies for the identification integration tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from shared.identifiers import id_check_digit

VILLAGE = "341221001201"  # a village (村委会) in Linquan, Anhui
AS_OF = "2021-06-30"


def id_number(born: dt.date = dt.date(1980, 1, 1), serial: str = "001", county: str = "341221") -> str:
    first17 = f"{county}{born:%Y%m%d}{serial}"
    return first17 + id_check_digit(first17)


def member(n: int = 0, **kw: Any) -> dict[str, Any]:
    return {
        "id_number": id_number(serial=f"{n + 1:03d}"),
        "name": f"成员{n}",
        "relation": "head" if n == 0 else "child",
        "labor_capacity": "ordinary",
    } | kw


def household(size: int = 2, *, wage: str = "20000", **kw: Any) -> dict[str, Any]:
    return {"members": [member(i) for i in range(size)], "income": {"wage": wage}} | kw


def assessment_body(**kw: Any) -> dict[str, Any]:
    return {"region_code": VILLAGE, "as_of": AS_OF, "household": household()} | kw
