"""The worker-process side of a bulk import: NDJSON bytes (or parsed rows) → validated,
canonical households (application/import_rows.py) → ready-to-write rows, encrypted, indexed and
profiled, in the database's own format (COPY text for PostgreSQL, tuples for SQLite).

Two encoders turn NDJSON into rows (`FANGFAN_IMPORT_ENCODER`, read by each worker process):
`fast` (the default whenever msgspec is importable) — `fast_rows`: each line parsed and
validated in one msgspec call, the lines it is not sure of handed to the path below — and
`reference`: `json.loads`, `validate_canonical`, `RowEncoder`. Both give the same rows, byte for
byte, and the same errors (tests/identification/unit/test_fast_rows.py).

The import use case (application/households.py) reaches these functions through the
`ImportWorker` port in the app's extras (`ProcessImportWorker`, filled in by main.py): they are
what it submits to the worker processes."""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.identification.adapters.household_rows import RowEncoder
from services.identification.application.import_rows import ChunkResult, validate_canonical
from shared.auth import Principal
from shared.process import die_with_parent

try:  # the fast encoder needs the msgspec wheel; without it the reference path runs
    from services.identification.adapters.fast_rows import FastRowEncoder, decode_line
except ImportError:  # pragma: no cover - msgspec is a dependency
    FastRowEncoder = None  # type: ignore[assignment,misc]

__all__ = [
    "ENCODERS",
    "ProcessImportWorker",
    "encoder_setting",
    "init_worker",
    "prepare_ndjson",
    "prepare_rows",
]


#: `FANGFAN_IMPORT_ENCODER` values
ENCODERS = ("fast", "reference")


def encoder_setting() -> str:
    """The NDJSON encoder this process uses: `FANGFAN_IMPORT_ENCODER` (fast | reference), fast
    when unset — and reference whenever the msgspec wheel is missing."""
    value = os.environ.get("FANGFAN_IMPORT_ENCODER", "fast").strip().lower() or "fast"
    if value not in ENCODERS:
        raise ValueError(f"FANGFAN_IMPORT_ENCODER must be one of {', '.join(ENCODERS)}, not {value!r}")
    return "reference" if FastRowEncoder is None else value


_ENCODER: dict[str, Any] = {}


def init_worker(key: bytes, index_key: bytes, service_pid: int | None = None) -> None:
    """Process-pool initializer: die with the service (a SIGKILLed replica leaves no workers, even
    one killed while its workers were still starting: `service_pid`), and the PII keys (never
    sent with each task)."""
    die_with_parent(parent=service_pid)
    _ENCODER["keys"] = (key, index_key)


def _encoder(postgres: bool, now: dt.datetime, keys: tuple[bytes, bytes] | None) -> RowEncoder:
    key, index_key = keys or _ENCODER["keys"]
    return RowEncoder(AESGCM(key), index_key, postgres=postgres, source="import", now=now)


def _not_json(exc: Exception) -> str:
    """Why a line is not a household (never the offending value)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON: {exc.msg} (column {exc.colno})"
    if isinstance(exc, RecursionError):
        return "not JSON: nested too deeply"
    return "not JSON: a number with too many digits"


def _finish(canons: list[tuple[int, Any]], encoder: Any, result: ChunkResult) -> ChunkResult:
    result.batch = encoder.encode_many([c for _, c in canons])
    result.lines = {c["household_number"] if type(c) is dict else c.household_number: line for line, c in canons}
    return result


def prepare_ndjson(
    data: bytes,
    first_line: int,
    skip_through: int,
    principal: Principal,
    postgres: bool,
    now: dt.datetime,
    keys: tuple[bytes, bytes] | None = None,
    *,
    encoder: str | None = None,
    random: Any = None,
    ids: Any = None,
) -> ChunkResult:
    """NDJSON bytes (whole lines) starting at line `first_line`; lines ≤ `skip_through` were
    committed by an earlier attempt of the job and are skipped. `encoder`: fast | reference
    (default: `encoder_setting()`); `random` and `ids` replace the nonce and id sources (tests)."""
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    result = ChunkResult(first_line, first_line + len(lines) - 1)
    canons: list[tuple[int, Any]] = []
    loads = json.loads
    fast = (encoder or encoder_setting()) == "fast"
    sees = principal.sees
    for n, raw in enumerate(lines, first_line):
        if n <= skip_through or not raw.strip():
            continue
        result.rows += 1
        if raw == "\x00too long":
            result.failed += 1
            result.errors.append({"line": n, "household_number": None, "path": "", "message": "line longer than 1 MiB"})
            continue
        if fast:
            h = decode_line(raw)
            if h is not None and sees(h.region_code):
                canons.append((n, h))
                continue
        try:
            obj = loads(raw)
        except (ValueError, RecursionError) as exc:  # a 5,000-digit number, a 10,000-deep line
            result.failed += 1
            result.errors.append(
                {
                    "line": n,
                    "household_number": None,
                    "path": "",
                    "message": _not_json(exc),
                }
            )
            continue
        if type(obj) is not dict:
            result.failed += 1
            result.errors.append(
                {
                    "line": n,
                    "household_number": None,
                    "path": "",
                    "message": "must be a JSON object (one household per line)",
                }
            )
            continue
        canon, errs = validate_canonical(n, obj, None, principal)
        if canon is None:
            result.failed += 1
            result.errors.extend(errs)
        else:
            canons.append((n, canon))
    key, index_key = keys or _ENCODER["keys"]
    if fast:
        enc: Any = FastRowEncoder(
            AESGCM(key), index_key, postgres=postgres, source="import", now=now, random=random, ids=ids
        )
    else:
        kw = {"random": random} if random is not None else {}
        enc = RowEncoder(AESGCM(key), index_key, postgres=postgres, source="import", now=now, ids=ids, **kw)
    return _finish(canons, enc, result)


def prepare_rows(
    rows: list[tuple[int, dict[str, Any] | None, str | None]],
    principal: Principal,
    postgres: bool,
    now: dt.datetime,
    keys: tuple[bytes, bytes] | None = None,
) -> ChunkResult:
    """Rows already parsed (JSON array, CSV): (line, object or None, why unreadable)."""
    result = ChunkResult(rows[0][0] if rows else 0, rows[-1][0] if rows else 0, rows=len(rows))
    canons = []
    for line, obj, error in rows:
        canon, errs = validate_canonical(line, obj, error, principal)
        if canon is None:
            result.failed += 1
            result.errors.extend(errs)
        else:
            canons.append((line, canon))
    return _finish(canons, _encoder(postgres, now, keys), result)


class ProcessImportWorker:
    """The `ImportWorker` port (application/ports.py): this module's functions, which the worker
    processes run (module-level, so they pickle by name)."""

    init = staticmethod(init_worker)
    ndjson = staticmethod(prepare_ndjson)
    rows = staticmethod(prepare_rows)
