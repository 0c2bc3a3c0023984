"""The national files at rest under `<data_dir>/national_sync/<county>/`: encrypted (they hold ID
numbers), written atomically (temporary file, fsync, rename) and read back as a stream.

Layout of a stored file: `FFNSENC1`, then segments of `<4-byte big-endian length><FieldCipher
blob>`; each segment is whole lines of the plain file, encrypted with the associated data
`national_sync:<name>:<index>` (`:last` on the last one), so segments cannot be reordered,
swapped between files or cut off unnoticed."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

from shared.pii import FieldCipher

__all__ = ["MAGIC", "EncryptedWriter", "NationalSyncFiles", "file_path", "read_plain", "write_encrypted"]

MAGIC = b"FFNSENC1"
_SEGMENT = 256 * 1024


def file_path(data_dir: Path, county: str, name: str) -> Path:
    return data_dir / "national_sync" / county / name


def _context(name: str, index: int, last: bool) -> bytes:
    return f"national_sync:{name}:{index}{':last' if last else ''}".encode()


class EncryptedWriter:
    """Write a file's plain bytes (whole lines per `add`) encrypted, atomically: to a temporary
    file first, fsync'd and renamed over `path` by `finish()`; memory stays one segment."""

    def __init__(self, path: Path, cipher: FieldCipher) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path, self._cipher = path, cipher
        for stale in path.parent.glob(path.name + ".tmp-*"):  # a crashed writer's (only the run's
            stale.unlink(missing_ok=True)  # lease holder writes its file)
        self._tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
        self._out = open(self._tmp, "wb")  # noqa: SIM115 (closed in finish/abort)
        self._out.write(MAGIC)
        self._buffer: list[bytes] = []
        self._size = 0
        self._index = 0
        self._pending: bytes | None = None  # one segment held back: only the last gets `:last`

    def _flush(self, segment: bytes, last: bool) -> None:
        blob = self._cipher.encrypt(segment.decode(), context=_context(self._path.name, self._index, last))
        self._out.write(struct.pack(">I", len(blob)) + blob)
        self._index += 1

    def add(self, part: bytes) -> None:
        self._buffer.append(part)
        self._size += len(part)
        if self._size >= _SEGMENT:
            if self._pending is not None:
                self._flush(self._pending, False)
            self._pending, self._buffer, self._size = b"".join(self._buffer), [], 0

    def finish(self) -> None:
        if self._buffer:
            if self._pending is not None:
                self._flush(self._pending, False)
            self._pending = b"".join(self._buffer)
        self._flush(self._pending or b"", True)
        self._out.flush()
        os.fsync(self._out.fileno())
        self._out.close()
        os.replace(self._tmp, self._path)

    def abort(self) -> None:
        self._out.close()
        self._tmp.unlink(missing_ok=True)


def write_encrypted(path: Path, cipher: FieldCipher, parts: Iterable[bytes]) -> None:
    """Write the plain bytes `parts` (whole lines each) encrypted to `path`, atomically."""
    writer = EncryptedWriter(path, cipher)
    try:
        for part in parts:
            writer.add(part)
    except BaseException:
        writer.abort()
        raise
    writer.finish()


def read_plain(path: Path, cipher: FieldCipher) -> Iterator[bytes]:
    """The plain file, segment by segment (raises ValueError on a damaged or cut-off file)."""
    name = path.name
    with open(path, "rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise ValueError("not a national sync file")
        index = 0
        head = f.read(4)
        while head:
            (n,) = struct.unpack(">I", head)
            blob = f.read(n)
            nxt = f.read(4)
            last = not nxt
            yield cipher.decrypt(blob, context=_context(name, index, last)).encode()
            index += 1
            head = nxt


class NationalSyncFiles:
    """The `NationalFiles` port (application/monitoring_ports.py) over this module."""

    def path(self, data_dir: Path, county: str, name: str) -> Path:
        return file_path(data_dir, county, name)

    def writer(self, path: Path, cipher: FieldCipher) -> EncryptedWriter:
        return EncryptedWriter(path, cipher)

    def read(self, path: Path, cipher: FieldCipher) -> Iterator[bytes]:
        return read_plain(path, cipher)
