"""A scanner for personal data in clear: resident ID numbers (18 characters that pass the GB 11643
date and MOD 11-2 check — `shared.identifiers`) and mainland mobile numbers (`1[3-9]` + 9 digits),
also as typed into free text (ID numbers grouped 6-8-4 / 6-4-4-4, mobiles 3-4-4, by spaces or
dashes), in text, files, directory trees, SQLite databases (cell by cell, and the raw pages and WAL) and
PostgreSQL dumps. Findings carry the masked value only, so a report never repeats the leak.

Boundaries: a number counts when no digit (and no hex letter) touches it, so digit runs inside
longer numbers, hex digests and UUIDs are not mistaken for ID or phone numbers."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from shared.identifiers import is_valid_id_number
from shared.pii import mask_id_number, mask_phone

__all__ = ["Finding", "find_in_text", "pg_dump", "scan_bytes", "scan_paths", "scan_sqlite", "summary"]

# Not preceded or followed by a digit or a hex letter: a number standing on its own in JSON, a
# log line, a COPY row or a binary page; a run inside a hex digest or a UUID group is skipped.
_ID = re.compile(r"(?<![0-9A-Fa-f])[0-9]{17}[0-9Xx](?![0-9A-Fa-f])")
_PHONE = re.compile(r"(?<![0-9A-Fa-f])1[3-9][0-9]{9}(?![0-9A-Fa-f])")
# As people type them into free text: ID numbers grouped 6-8-4 or 6-4-4-4 and mobile numbers
# grouped 3-4-4, by spaces or dashes (one kind in a number).
_ID_GROUPED = re.compile(
    r"(?<![0-9A-Fa-f])(?:[0-9]{6}([ \-])[0-9]{8}\1[0-9]{3}[0-9Xx]|[0-9]{6}([ \-])[0-9]{4}\2[0-9]{4}\2[0-9]{3}[0-9Xx])"
    r"(?![0-9A-Fa-f])"
)
_PHONE_GROUPED = re.compile(r"(?<![0-9A-Fa-f])1[3-9][0-9]([ \-])[0-9]{4}\1[0-9]{4}(?![0-9A-Fa-f])")


@dataclass(frozen=True)
class Finding:
    where: str  # file (and table.column for SQLite cells)
    kind: str  # id_number | phone
    masked: str
    offset: int

    def __str__(self) -> str:
        return f"{self.where} @{self.offset}: {self.kind} {self.masked}"


def find_in_text(text: str, where: str = "<text>") -> list[Finding]:
    """Valid ID numbers and mobile numbers in clear in `text`."""
    out: list[Finding] = []
    for m in _ID.finditer(text):
        value = m.group().upper()
        if is_valid_id_number(value):
            out.append(Finding(where, "id_number", mask_id_number(value), m.start()))
    for m in _PHONE.finditer(text):
        out.append(Finding(where, "phone", mask_phone(m.group()), m.start()))
    for m in _ID_GROUPED.finditer(text):
        value = re.sub("[ \\-]", "", m.group()).upper()
        if is_valid_id_number(value):
            out.append(Finding(where, "id_number", mask_id_number(value), m.start()))
    for m in _PHONE_GROUPED.finditer(text):
        out.append(Finding(where, "phone", mask_phone(re.sub("[ \\-]", "", m.group())), m.start()))
    return out


def scan_bytes(data: bytes, where: str) -> list[Finding]:
    # latin-1 maps every byte to one character, so ASCII digits keep their offsets in any file
    # (UTF-8 text, a SQLite page, a JetStream message block, a dump).
    return find_in_text(data.decode("latin-1"), where)


def scan_sqlite(path: Path) -> list[Finding]:
    """Every text or blob cell of every table, one by one (values are stored back to back in a
    SQLite record, so a raw scan alone could miss a number glued to its neighbour)."""
    out: list[Finding] = []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cur = con.execute(f'SELECT * FROM "{table}"')
            cols = [d[0] for d in cur.description]
            for row in cur:
                for col, value in zip(cols, row, strict=True):
                    if isinstance(value, bytes):
                        text = value.decode("latin-1")
                    elif isinstance(value, str):
                        text = value
                    else:
                        continue
                    out += find_in_text(text, f"{path}:{table}.{col}")
    finally:
        con.close()
    return out


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for p in paths:
        if p.is_dir():
            yield from sorted(f for f in p.rglob("*") if f.is_file())
        elif p.is_file():
            yield p


def scan_paths(paths: Iterable[Path], *, chunk: int = 8 << 20) -> tuple[list[Finding], dict[str, int]]:
    """Scan files and directory trees byte by byte (SQLite databases also cell by cell). Returns
    the findings and what was scanned (files, bytes, SQLite databases)."""
    findings: list[Finding] = []
    stats = {"files": 0, "bytes": 0, "sqlite_databases": 0}
    overlap = 64
    for f in _files(paths):
        stats["files"] += 1
        with f.open("rb") as fh:
            head = fh.read(16)
            fh.seek(0)
            if head.startswith(b"SQLite format 3\x00"):
                stats["sqlite_databases"] += 1
                findings += scan_sqlite(f)
            data = b""
            base = 0  # file offset of data[0]
            seen: set[tuple[str, int]] = set()
            while True:
                block = fh.read(chunk)
                stats["bytes"] += len(block)
                data += block
                if not data:
                    break
                # a match starting in the last `overlap` bytes is judged with the next block
                safe = len(data) if not block else len(data) - overlap
                for x in scan_bytes(data, str(f)):
                    at = base + x.offset
                    if x.offset < safe and (x.kind, at) not in seen:
                        seen.add((x.kind, at))
                        findings.append(Finding(x.where, x.kind, x.masked, at))
                if not block:
                    break
                keep = max(0, safe - 8)  # a few bytes before, for the look-behind
                data = data[keep:]
                base += keep
    return findings, stats


def pg_dump(dsn: str, database: str, out: Path) -> Path:
    """A plain-text `pg_dump` of one database (data and schema) into `out`."""
    exe = shutil.which("pg_dump")
    if exe is None:
        raise RuntimeError("pg_dump is not installed")
    base = dsn.rsplit("/", 1)[0]
    subprocess.run([exe, "--no-owner", "--file", str(out), f"{base}/{database}"], check=True, timeout=120)
    return out


def summary(findings: list[Finding], limit: int = 30) -> str:
    return "\n".join(str(f) for f in findings[:limit]) + (
        f"\n… {len(findings) - limit} more" if len(findings) > limit else ""
    )
