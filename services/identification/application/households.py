"""Use case: bulk import of households (POST /households/import) from a streamed JSON array,
NDJSON or CSV body — parsed incrementally (never the whole body in memory), validated row by
row (bad rows reported with line, field path and reason; good rows stored), upserted by
household number in batches, each batch committed together with the job's progress, so that
re-sending the file with the same Idempotency-Key resumes after the last committed line."""

from __future__ import annotations

import asyncio
import codecs
import csv
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from services.identification.adapters.households import HouseholdRecord, upsert_households
from services.identification.adapters.jobs import Job, create_job, find_job, save_progress
from services.identification.api.schemas import HouseholdImport
from shared.app import ServiceContext
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import FieldError, Forbidden, Unprocessable
from shared.pii import FieldCipher

from .assessments import household_field_errors

__all__ = [
    "FORMATS",
    "IMPORT_BATCH",
    "ParsedRow",
    "detect_format",
    "parse_stream",
    "run_import",
    "start_import_job",
    "validate_row",
]

IMPORT_BATCH = 1000
FORMATS = ("ndjson", "json", "csv")
_MAX_ITEM_CHARS = 1 << 20  # one household over 1 MiB of text is refused, not buffered forever
_IMPORT_ROLES = ("admin", "province", "county")
_INCOME_KINDS = ("wage", "business", "property", "transfer", "insurance_claims", "exempt")
_EXPENSE_KINDS = ("compliant_oop_medical", "education", "employment_costs", "other_rigid")
_MEMBER_FIELDS = (
    "id_number",
    "name",
    "relation",
    "labor_capacity",
    "disability_grade",
    "disability_kind",
    "serious_illness",
    "schooling",
)


@dataclass(frozen=True, slots=True)
class ParsedRow:
    """One household from the stream: the line it starts on and its object, or why it is unreadable."""

    line: int
    obj: dict[str, Any] | None
    error: str | None = None


def detect_format(content_type: str | None, first: bytes) -> str:
    ct = (content_type or "").split(";")[0].strip().lower()
    if ct in ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/jsonlines"):
        return "ndjson"
    if ct in ("text/csv", "application/csv"):
        return "csv"
    head = first.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"[":
        return "json"
    if head == b"{":
        return "ndjson"
    return "csv" if ct != "application/json" else "json"


async def _text_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, str]]:
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    pending = ""
    line = 0
    async for chunk in chunks:
        pending += decoder.decode(chunk)
        parts = pending.split("\n")
        pending = parts.pop()
        for p in parts:
            line += 1
            yield line, p.rstrip("\r")
        if len(pending) > _MAX_ITEM_CHARS:
            line += 1
            yield line, "\x00too long"
            pending = ""
    pending += decoder.decode(b"", final=True)
    if pending:
        yield line + 1, pending.rstrip("\r")


async def _ndjson(chunks: AsyncIterator[bytes]) -> AsyncIterator[ParsedRow]:
    async for line, text in _text_lines(chunks):
        if not text.strip():
            continue
        if text == "\x00too long":
            yield ParsedRow(line, None, "line longer than 1 MiB")
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield ParsedRow(line, None, f"not JSON: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(obj, dict):
            yield ParsedRow(line, None, "must be a JSON object (one household per line)")
            continue
        yield ParsedRow(line, obj)


async def _json_array(chunks: AsyncIterator[bytes]) -> AsyncIterator[ParsedRow]:
    """Items of a top-level JSON array, decoded one at a time from a sliding buffer."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    dec = json.JSONDecoder()
    buf, pos, line = "", 0, 1
    state = "start"  # start → items → done
    eof = False
    it = chunks.__aiter__()
    while True:
        # skip blanks and separators
        while pos < len(buf) and state != "done":
            c = buf[pos]
            if c in " \t\r\n":
                line += c == "\n"
                pos += 1
            elif state == "start":
                if c != "[":
                    yield ParsedRow(line, None, "a JSON array must start with '['")
                    return
                state, pos = "items", pos + 1
            elif c == ",":
                pos += 1
            elif c == "]":
                state = "done"
            else:
                try:
                    obj, end = dec.raw_decode(buf, pos)
                except json.JSONDecodeError as exc:
                    if eof or len(buf) - pos > _MAX_ITEM_CHARS:
                        yield ParsedRow(line, None, f"not JSON: {exc.msg}; import stopped here")
                        return
                    break  # need more text
                start_line = line
                line += buf.count("\n", pos, end)
                pos = end
                if isinstance(obj, dict):
                    yield ParsedRow(start_line, obj)
                else:
                    yield ParsedRow(start_line, None, "each item must be a JSON object")
        if state == "done" or eof:
            if state != "done":
                yield ParsedRow(line, None, "the JSON array is not closed with ']'")
            return
        buf, pos = buf[pos:], 0
        try:
            buf += decoder.decode(await it.__anext__())
        except StopAsyncIteration:
            buf += decoder.decode(b"", final=True)
            eof = True


def _csv_household(rows: list[tuple[int, dict[str, str]]]) -> dict[str, Any]:
    first = rows[0][1]
    out: dict[str, Any] = {}
    for k in ("household_number", "region_code", "escaped_poverty", "dibao_status", "phone"):
        if first.get(k):
            out[k] = first[k]
    out["members"] = [{k: r[k] for k in _MEMBER_FIELDS if r.get(k)} for _, r in rows]
    out["income"] = {k: first[f"income_{k}"] for k in _INCOME_KINDS if first.get(f"income_{k}")}
    out["expenses"] = {k: first[f"expenses_{k}"] for k in _EXPENSE_KINDS if first.get(f"expenses_{k}")}
    last = {k: first[f"last_year_income_{k}"] for k in _INCOME_KINDS if first.get(f"last_year_income_{k}")}
    if last:
        out["last_year_income"] = last
    out["assets"] = {k[7:]: v for k, v in first.items() if k.startswith("assets_") and v}
    return out


_CSV_KNOWN = {
    "household_number",
    "region_code",
    "escaped_poverty",
    "dibao_status",
    "phone",
    "household_size",
    "member_index",
    *_MEMBER_FIELDS,
    *(f"income_{k}" for k in _INCOME_KINDS),
    *(f"last_year_income_{k}" for k in _INCOME_KINDS),
    *(f"expenses_{k}" for k in _EXPENSE_KINDS),
}


async def _csv(chunks: AsyncIterator[bytes]) -> AsyncIterator[ParsedRow]:
    """One row per member, a household's rows consecutive (`fangfan generate --format csv`)."""
    header: list[str] | None = None
    group: list[tuple[int, dict[str, str]]] = []

    def flush() -> Iterator[ParsedRow]:
        if not group:
            return
        start = group[0][0]
        size = group[0][1].get("household_size", "")
        if size and size.isdigit() and int(size) != len(group):
            yield ParsedRow(start, None, f"household_size says {size} members, {len(group)} rows given")
        else:
            yield ParsedRow(start, _csv_household(group))

    async for line, text in _text_lines(chunks):
        if not text.strip():
            continue
        values = next(csv.reader([text]))
        if header is None:
            header = [h.strip() for h in values]
            unknown = sorted(h for h in header if h not in _CSV_KNOWN and not h.startswith("assets_"))
            if unknown or "household_number" not in header:
                why = f"unknown column(s) {', '.join(unknown)}" if unknown else "no household_number column"
                yield ParsedRow(line, None, f"bad CSV header: {why}; import stopped here")
                return
            continue
        if len(values) != len(header):
            for row in flush():
                yield row
            group = []
            yield ParsedRow(line, None, f"{len(values)} columns, the header has {len(header)}")
            continue
        record = dict(zip(header, values, strict=True))
        if group and group[0][1].get("household_number") != record.get("household_number"):
            for row in flush():
                yield row
            group = []
        group.append((line, record))
    for row in flush():
        yield row


def parse_stream(chunks: AsyncIterator[bytes], fmt: str) -> AsyncIterator[ParsedRow]:
    """Households from a byte stream in `fmt` (ndjson, json or csv), one at a time."""
    if fmt == "ndjson":
        return _ndjson(chunks)
    if fmt == "json":
        return _json_array(chunks)
    if fmt == "csv":
        return _csv(chunks)
    raise ValueError(f"unknown format {fmt!r}")


def _path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def validate_row(row: ParsedRow, principal: Principal) -> tuple[HouseholdRecord | None, list[dict[str, Any]]]:
    """A storable record, or the row's errors [{line, household_number, path, message}] — never
    the offending values (they may be ID numbers)."""
    number = None
    if row.obj is not None and isinstance(row.obj.get("household_number"), str):
        number = row.obj["household_number"][:64]

    def err(path: str, message: str) -> dict[str, Any]:
        return {"line": row.line, "household_number": number, "path": path, "message": message}

    if row.obj is None:
        return None, [err("", row.error or "unreadable")]
    try:
        h = HouseholdImport.model_validate(row.obj)
    except ValidationError as exc:
        return None, [err(_path(e["loc"]), e["msg"]) for e in exc.errors(include_input=False, include_url=False)]
    errors = [err(e["path"], e["message"]) for e in household_field_errors(h, path="")]
    errors = [e | {"path": e["path"].lstrip(".")} for e in errors]
    if not principal.sees(h.region_code):
        errors.append(err("region_code", "outside your jurisdiction"))
    if errors:
        return None, errors
    # a HouseholdImport is a HouseholdIn: stored as it is (no second validation)
    return HouseholdRecord(h.household_number, h.region_code, h, h.phone), []


def _prepare(batch: list[ParsedRow], principal: Principal) -> tuple[list[HouseholdRecord], list[dict[str, Any]]]:
    records: list[HouseholdRecord] = []
    errors: list[dict[str, Any]] = []
    for row in batch:
        rec, errs = validate_row(row, principal)
        if rec is not None:
            records.append(rec)
        errors.extend(errs)
    return records, errors


async def _commit_batch(
    ctx: ServiceContext, cipher: FieldCipher, job: Job, batch: list[ParsedRow], principal: Principal
) -> None:
    records, errors = await asyncio.to_thread(_prepare, batch, principal)
    async with ctx.uow() as uow:
        summary = await upsert_households(uow.session, cipher, records, source="import")
        job.rows_done += len(records)
        job.rows_failed += len(batch) - len(records)
        job.add_errors(errors)
        for k in ("inserted", "updated", "unchanged"):
            job.result[k] = job.result.get(k, 0) + getattr(summary, k)
        job.cursor = {"line": batch[-1].line}
        await save_progress(uow.session, job)
        await uow.commit()


async def start_import_job(
    ctx: ServiceContext,
    principal: Principal,
    *,
    idempotency_key: str | None,
    fmt: str,
    rows_total: int | None,
) -> tuple[Job, bool]:
    """The job for this upload: (job, fresh). With a known Idempotency-Key the existing job is
    returned (to resume a running one, or to answer a finished one again)."""
    if principal.role not in _IMPORT_ROLES:
        raise Forbidden("only the province platform, a county or an admin may import households")
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 200):
        raise Unprocessable("bad Idempotency-Key", errors=[FieldError("Idempotency-Key", "1–200 characters")])
    async with ctx.uow() as uow:
        if idempotency_key:
            job = await find_job(uow.session, kind="import", created_by=principal.sub, idempotency_key=idempotency_key)
            if job is not None:
                return job, False
        job = await create_job(
            uow.session,
            kind="import",
            region=principal.region,
            created_by=principal.sub,
            idempotency_key=idempotency_key,
            params={"format": fmt},
            rows_total=rows_total,
        )
        await uow.commit()
    return job, True


async def run_import(
    ctx: ServiceContext,
    principal: Principal,
    job: Job,
    rows: AsyncIterator[ParsedRow],
    *,
    batch_size: int = IMPORT_BATCH,
) -> Job:
    """Consume `rows`, skipping lines a previous attempt of this job already committed, and
    commit every `batch_size` households with the job's progress. Marks the job completed."""
    cipher = ctx.cipher
    done_line = int((job.cursor or {}).get("line", 0))
    if job.status != "running":
        job.status = "running"
        job.finished_at = None
    batch: list[ParsedRow] = []
    # On any failure (client gone, crash) the job stays `running` at its last committed line:
    # re-sending the file with the same Idempotency-Key resumes after it.
    async for row in rows:
        if row.line <= done_line:
            continue
        batch.append(row)
        if len(batch) >= batch_size:
            await _commit_batch(ctx, cipher, job, batch, principal)
            batch = []
    if batch:
        await _commit_batch(ctx, cipher, job, batch, principal)
    job.status = "completed"
    job.rows_total = job.rows_done + job.rows_failed
    job.finished_at = utcnow()
    async with ctx.uow() as uow:
        await save_progress(uow.session, job)
        await uow.commit()
    return job
