"""The personal-data scanner finds what it must (a planted clear ID number or phone in text, also
grouped as people type them, a log, a SQLite cell, its WAL, a file cut across read blocks) and
nothing it must not (masked values, wrong check digits, digit runs in hex digests, UUIDs and longer
numbers)."""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from pathlib import Path

import pytest

from shared.cli.generate import generate_households
from shared.identifiers import id_check_digit
from shared.pii import mask_id_number
from tests.e2e.pii_scan import find_in_text, scan_paths

pytestmark = pytest.mark.sqlite_only  # no service database involved

ID = next(generate_households(1, "341221", seed=7))["members"][0]["id_number"]
PHONE = "13812345678"


def kinds(text: str) -> list[str]:
    return [f.kind for f in find_in_text(text)]


def test_finds_clear_values_in_text() -> None:
    assert kinds(f'{{"id_number": "{ID}"}}') == ["id_number"]
    assert kinds(f"member {ID.lower()} applied") == ["id_number"]
    assert kinds(f"call {PHONE}, or 李{PHONE}。") == ["phone", "phone"]
    assert kinds(f"phone={PHONE}&id={ID}") == ["id_number", "phone"]
    # as typed into free text: grouped by spaces or dashes
    assert kinds(f"户主 {ID[:6]} {ID[6:14]} {ID[14:]}") == ["id_number"]
    assert kinds(f"{ID[:6]}-{ID[6:10]}-{ID[10:14]}-{ID[14:]}") == ["id_number"]
    assert kinds("手机 +86 138 1234 5678，138-1234-5678") == ["phone", "phone"]
    [f] = find_in_text(f"x {ID}")
    assert f.masked == mask_id_number(ID) != ID  # the report never repeats the leak


def test_ignores_masked_invalid_and_lookalikes() -> None:
    wrong = ID[:17] + ("0" if id_check_digit(ID[:17]) != "0" else "1")
    assert kinds(mask_id_number(ID)) == []
    assert kinds("138****5678") == []
    assert kinds(wrong) == []  # the check digit decides
    assert kinds("341221209902301234") == []  # no such date
    assert kinds("1" + ID) == []
    assert kinds(PHONE + "9") == []
    assert kinds(f"a{PHONE}b0") == []  # glued to hex letters: a digest, not a number
    assert kinds("ab" * 10 + PHONE + "cd" * 10) == []
    assert kinds(str(uuid.UUID(int=13812345678))) == []
    assert kinds(f"{wrong[:6]} {wrong[6:14]} {wrong[14:]}") == []
    assert kinds(f"{ID[:6]} {ID[6:14]}-{ID[14:]}") == []  # one kind of separator in a number
    assert kinds("138 1234-5678") == []


def test_finds_planted_values_in_files_sqlite_and_wal(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "clean.log").write_text(f'{{"msg": "read {mask_id_number(ID)}"}}\n' * 1000)
    big = tmp_path / "store.blk"
    # the ID number straddles the 8 MiB read-block boundary of scan_paths
    big.write_bytes(b"\0" * ((8 << 20) - 9) + b" " + ID.encode() + b" " + b"\0" * 100)
    db = tmp_path / "service.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE members (household TEXT, name TEXT, id_number TEXT)")
    # values stored back to back in the record: only the cell-by-cell scan sees the boundary
    con.execute("INSERT INTO members VALUES (?, ?, ?)", ("hh-1", "abcdef", ID))
    con.commit()
    found, stats = scan_paths([logs, big, db, tmp_path / "service.db-wal"])
    con.close()
    where = sorted({(f.where.split(":")[-1] if ":" in f.where else Path(f.where).name, f.kind) for f in found})
    assert ("members.id_number", "id_number") in where
    assert ("store.blk", "id_number") in where
    assert not any("clean.log" in f.where for f in found)
    assert [f.offset for f in found if f.where.endswith("store.blk")] == [(8 << 20) - 8]
    assert stats["sqlite_databases"] == 1
    assert stats["files"] >= 3


def test_clean_tree_has_no_findings(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text(
        f"{mask_id_number(ID)} 138****5678 {uuid.uuid4()} {hashlib.sha256(b'y').hexdigest()}"
    )
    assert scan_paths([tmp_path])[0] == []
