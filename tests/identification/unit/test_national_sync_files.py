"""National files at rest (adapters.national_sync_files): encrypted in segments that decrypt back
to the same bytes; a cut-off, reordered or renamed file is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from services.identification.adapters.national_sync_files import read_plain, write_encrypted
from shared.pii import FieldCipher

CIPHER = FieldCipher(b"k" * 32, b"i" * 32)
LINES = [f"M|{i}|341221196201150014|李建国|head\n".encode() for i in range(30_000)]  # ~1.2 MB: 5 segments


def test_round_trip_and_no_clear_id_numbers(tmp_path: Path) -> None:
    path = tmp_path / "341221" / "FFNS_341221_20261202_000001.txt"
    write_encrypted(path, CIPHER, LINES)
    stored = path.read_bytes()
    assert b"341221196201150014" not in stored
    assert b"".join(read_plain(path, CIPHER)) == b"".join(LINES)
    assert not list(path.parent.glob("*.tmp-*"))


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    write_encrypted(path, CIPHER, [])
    assert b"".join(read_plain(path, CIPHER)) == b""


def test_cut_off_or_renamed_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    write_encrypted(path, CIPHER, LINES)
    data = path.read_bytes()
    first_segment = 8 + 4 + int.from_bytes(data[8:12], "big")
    cut = tmp_path / "a.txt"
    cut.write_bytes(data[:first_segment])  # only the first segment left: it is not the last one
    with pytest.raises(InvalidTag):
        b"".join(read_plain(cut, CIPHER))
    other = tmp_path / "b.txt"
    other.write_bytes(data)
    with pytest.raises(InvalidTag):
        b"".join(read_plain(other, CIPHER))


def test_a_crashed_writers_temporary_file_is_cleared(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    (tmp_path / "c.txt.tmp-99999").write_bytes(b"half a file")
    write_encrypted(path, CIPHER, LINES[:3])
    assert [p.name for p in tmp_path.iterdir()] == ["c.txt"]
