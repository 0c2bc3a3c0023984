"""Screening chunks come from PostgreSQL as COPY text and are decoded in the worker process."""

from __future__ import annotations

import pytest

from services.identification.adapters.screening_rows import decode_copy_rows

CASES = [
    (b"", []),
    (b"a\t341221001201\t2|4|1\t\\N\n", [["a", "341221001201", "2|4|1", None]]),
    (b"a\tb\n\\N\tc\n", [["a", "b"], [None, "c"]]),
    # what COPY TO escapes: backslash, tab, newline, carriage return …
    (b"x\\\\y\tt\\tab\tn\\nl\n", [["x\\y", "t\tab", "n\nl"]]),
    (b"\\r\\b\\f\\v\t\\N\n", [["\r\b\f\v", None]]),
    # "\N" is NULL only as a whole field; an escaped backslash before N is text
    (b"\\\\N\n", [["\\N"]]),
    ("区\t名\n".encode(), [["区", "名"]]),
]


@pytest.mark.parametrize(("data", "rows"), CASES)
def test_copy_text_is_decoded_to_rows(data: bytes, rows: list[list[str | None]]) -> None:
    assert decode_copy_rows(data) == rows


@pytest.mark.parametrize(
    ("data", "rows"),
    [
        # NULLs only where they may be: the fast path looks at those columns alone
        (b"a\t\\N\t\\N\nb\tc\td\n", [["a", None, None], ["b", "c", "d"]]),
        # any other backslash: the whole text goes the careful way
        (b"a\\\\\t\\N\t\\N\n", [["a\\", None, None]]),
        (b"\\\\N\t\\N\tx\n", [["\\N", None, "x"]]),
    ],
)
def test_only_the_nullable_columns_are_looked_at_when_nothing_is_escaped(
    data: bytes, rows: list[list[str | None]]
) -> None:
    assert decode_copy_rows(data, nullable=(1, 2)) == rows
