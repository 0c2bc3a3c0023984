"""A screening chunk's rows in the database's own wire format: PostgreSQL hands a chunk over as
COPY text and takes its outcomes back as COPY lines, SQLite as tuples. The screening use case
(application/screening.py) gets a `ScreeningRowCodec` from its repository (`codec()`) and hands
it to the worker process that evaluates the chunk — so the format is chosen here, not there."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from services.identification.adapters.household_rows import copy_escape
from services.identification.application.monitoring_ports import CHUNK_ROW, ChunkRow
from services.identification.domain.vectorized import CATEGORIES, LOW_INCOME, WARNINGS, fen_str

__all__ = ["OutcomeRows", "ScreeningRowCodec", "decode_copy_rows"]

_ID, _NUMBER, _REGION, _PROFILE, _WARNING = CHUNK_ROW
_CATEGORY_TEXT = [None if c is None else str(c) for c in CATEGORIES]
_LOW_TEXT = [None if c is None else str(c) for c in LOW_INCOME]
_WARNING_TEXT = [None if c is None else str(c) for c in WARNINGS]


class ScreeningRowCodec:
    """The `ScreeningCodec` port (application/monitoring_ports.py) of one database (picklable)."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres

    def decode(self, rows: bytes | Sequence[ChunkRow]) -> Sequence[Sequence[Any]]:
        """A chunk's rows as tuples: COPY text decoded (PostgreSQL), SQLite's rows as they are."""
        return decode_copy_rows(rows, nullable=(_PROFILE, _WARNING)) if isinstance(rows, bytes) else rows

    def outcomes(self, now: dt.datetime, as_of: dt.date, job_id: str) -> OutcomeRows:
        return OutcomeRows(self.postgres, now, as_of, job_id)


def decode_copy_rows(data: bytes, nullable: Sequence[int] = ()) -> list[list[str | None]]:
    """PostgreSQL's COPY text (tab-separated, `\\N` for NULL, backslash escapes) → rows of
    strings and None. Fast path: when no backslash is there but in NULLs, only the `nullable`
    columns are looked at (every column when none are named)."""
    text = data.decode()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    rows: list[list[str | None]] = [line.split("\t") for line in lines]  # type: ignore[misc]
    if text.count("\\") == text.count("\\N") and nullable:  # no backslash but in NULLs
        for r in rows:
            for i in nullable:
                if r[i] == "\\N":
                    r[i] = None
        return rows
    return [[None if f == "\\N" else _unescape(f) for f in r] for r in rows]  # type: ignore[arg-type]


_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            out.append(_ESCAPES.get(value[i + 1], value[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


class OutcomeRows:
    """A chunk's outcomes, ready for `write_outcomes`: COPY text lines (PostgreSQL) or tuples."""

    def __init__(self, postgres: bool, now: dt.datetime, as_of: dt.date, job_id: str) -> None:
        self.postgres = postgres
        self.rows: list[Any] = []  # households that had an outcome row (or may have: legacy rows)
        self.new: list[Any] = []  # households that had none when the chunk was read
        self._now = now.isoformat() if postgres else now.strftime("%Y-%m-%d %H:%M:%S.%f")
        self._as_of = as_of.isoformat()
        self._job = job_id

    def __len__(self) -> int:
        return len(self.rows) + len(self.new)

    def add(
        self, hs: list[Any], pc: list[int], category: list[int], low: list[int], warning: list[int], policy: Any
    ) -> None:
        pid, pver = policy.id, policy.version
        if self.postgres:
            null = "\\N"
            cat_t = [null if c is None else c for c in _CATEGORY_TEXT]
            low_t = [null if c is None else c for c in _LOW_TEXT]
            warn_t = [null if c is None else c for c in _WARNING_TEXT]
            tail = f"\t{self._now}\t{self._as_of}\t{copy_escape(pid)}\t{copy_escape(pver)}\t{self._job}\n"
            new, rows = self.new.append, self.rows.append
            for h, c, lo, w, p in zip(hs, category, low, warning, pc, strict=True):
                (new if h[_WARNING] is None else rows)(
                    f"{h[_ID]}\t{cat_t[c]}\t{low_t[lo]}\t{warn_t[w]}\t{fen_str(p)}{tail}"
                )
        else:
            self.rows.extend(
                (
                    h[_ID],
                    _CATEGORY_TEXT[c],
                    _LOW_TEXT[lo],
                    _WARNING_TEXT[w],
                    fen_str(p),
                    self._now,
                    self._as_of,
                    pid,
                    pver,
                    self._job,
                )
                for h, c, lo, w, p in zip(hs, category, low, warning, pc, strict=True)
            )
