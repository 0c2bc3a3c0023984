"""Use case: bulk import of households (POST /households/import) from a streamed JSON array,
NDJSON or CSV body — parsed incrementally (never the whole body in memory), validated row by
row (bad rows reported with line, field path and reason; good rows stored), upserted by
household number in batches, each batch committed together with the job's progress, so that
re-sending the file with the same Idempotency-Key resumes after the last committed line."""

from __future__ import annotations

import asyncio
import codecs
import collections
import csv
import functools
import json
import logging
import multiprocessing
import os
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from services.identification.application.context import extras
from services.identification.application.duplicates import (
    CONFLICT_CODE,
    CONFLICT_MESSAGE,
    Sighting,
    import_sightings,
    record_sightings,
)
from services.identification.application.household_input import (
    EXPENSE_KINDS,
    INCOME_KINDS,
    MEMBER_FIELDS,
    HouseholdImport,
)
from services.identification.application.ports import HouseholdsWrittenMeanwhile, Work, open_work
from services.identification.application.stored import HouseholdRecord, Job, UpsertSummary
from services.identification.domain.duplicates import DuplicateMatch
from shared.app import ServiceContext
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import DomainError, FieldError, Forbidden, Unprocessable
from shared.logging import request_id_var

from .import_rows import ChunkResult, RowError, validate_canonical

__all__ = [
    "FORMATS",
    "IMPORT_BATCH",
    "ImportStarted",
    "ParsedRow",
    "StartImport",
    "UploadInterrupted",
    "detect_format",
    "parse_stream",
    "run_import",
    "run_import_stream",
    "shutdown_import_pool",
    "start_import_job",
    "validate_row",
    "worker_count",
    "worker_pool",
]

log = logging.getLogger("fangfan.identification.import")
#: households per chunk: one worker task and one transaction (with the job's progress)
IMPORT_BATCH = 2000
#: chunks prepared on a thread before an import starts the worker processes (small files never do)
_POOL_AFTER = 4
FORMATS = ("ndjson", "json", "csv")
_MAX_ITEM_CHARS = 1 << 20  # one household over 1 MiB of text is refused, not buffered forever
_IMPORT_ROLES = ("admin", "province", "county")
_INCOME_KINDS = INCOME_KINDS
_EXPENSE_KINDS = EXPENSE_KINDS
_MEMBER_FIELDS = MEMBER_FIELDS


class UploadInterrupted(Exception):
    """The client went away before the end of its upload (the router says so for its web
    server's own exception)."""


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
    """Lines of a text body; a line over 1 MiB is `"\x00too long"` once, and the rest of it is
    dropped up to its end (it used to come back as a line of its own)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    pending = ""
    line = 0
    skipping = False
    async for chunk in chunks:
        text = decoder.decode(chunk)
        if skipping:
            cut = text.find("\n")
            if cut < 0:
                continue
            text, skipping = text[cut + 1 :], False
        pending += text
        parts = pending.split("\n")
        pending = parts.pop()
        for p in parts:
            line += 1
            yield line, p.rstrip("\r")
        if len(pending) > _MAX_ITEM_CHARS:
            line += 1
            yield line, "\x00too long"
            pending, skipping = "", True
    pending += decoder.decode(b"", final=True)
    if pending and not skipping:
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
        except (ValueError, RecursionError) as exc:  # a 5,000-digit number, a 10,000-deep line
            why = "nested too deeply" if isinstance(exc, RecursionError) else "a number with too many digits"
            yield ParsedRow(line, None, f"not JSON: {why}")
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
                except (RecursionError, ValueError) as exc:
                    if not isinstance(exc, json.JSONDecodeError):
                        why = (
                            "nested too deeply" if isinstance(exc, RecursionError) else "a number with too many digits"
                        )
                        yield ParsedRow(line, None, f"not JSON: {why}; import stopped here")
                        return
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
        try:
            values = next(csv.reader([text]))
        except csv.Error as exc:  # a field over the csv module's 128 KiB limit: a 500 before
            for row in flush():
                yield row
            group = []
            yield ParsedRow(line, None, f"not CSV: {str(exc)[:100]}")
            continue
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


def validate_row(row: ParsedRow, principal: Principal) -> tuple[HouseholdRecord | None, list[RowError]]:
    """A storable record, or the row's errors [{line, household_number, path, message}] — never
    the offending values (they may be ID numbers). The bulk path's rules (`import_rows`)."""
    canon, errors = validate_canonical(row.line, row.obj, row.error, principal)
    if canon is None:
        return None, errors
    h = HouseholdImport.model_validate(canon)
    return HouseholdRecord(h.household_number, h.region_code, h, h.phone), []


def worker_pool(ctx: ServiceContext) -> ProcessPoolExecutor | None:
    """The service's worker processes for imports and large screening chunks (created on first
    use, shut down with the service; `FANGFAN_IMPORT_WORKERS=0` keeps that work in process)."""
    own = extras(ctx)
    pool = own.import_pool
    if pool is None:
        workers = int(os.environ.get("FANGFAN_IMPORT_WORKERS", str(min(4, os.cpu_count() or 1))))
        if workers < 1:
            return None
        keys = (ctx.settings.pii_key_bytes(), ctx.settings.pii_index_key_bytes())
        pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=own.import_worker.init,
            initargs=(*keys, os.getpid()),
        )
        own.import_pool, own.import_pool_workers = pool, workers
    return pool


def worker_count(ctx: ServiceContext) -> int:
    """How many processes the service's worker pool has (0 before `worker_pool` made one)."""
    return extras(ctx).import_pool_workers if extras(ctx).import_pool is not None else 0


def shutdown_import_pool(ctx: ServiceContext) -> None:
    own = extras(ctx)
    pool, own.import_pool, own.import_pool_workers = own.import_pool, None, 0
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


async def _ndjson_pieces(chunks: AsyncIterator[bytes], rows: int) -> AsyncIterator[tuple[int, bytes]]:
    """Whole lines of an NDJSON body in pieces of about `rows` lines: (first line number, bytes).
    The main process only counts newlines; decoding and parsing happen in the workers."""
    buf = bytearray()
    line, newlines, first, skipping = 1, 0, True, False
    async for chunk in chunks:
        if first:
            chunk = chunk.removeprefix(b"\xef\xbb\xbf")
            first = False
        if skipping:  # the rest of a line over 1 MiB
            cut = chunk.find(b"\n")
            if cut < 0:
                continue
            chunk, skipping = chunk[cut:], False
        buf += chunk
        newlines += chunk.count(b"\n")
        while newlines >= 2 * rows:  # a big chunk: pieces of `rows` lines
            cut = -1
            for _ in range(rows):
                cut = buf.find(b"\n", cut + 1)
            yield line, bytes(buf[: cut + 1])
            del buf[: cut + 1]
            line += rows
            newlines -= rows
        if newlines >= rows:
            cut = buf.rfind(b"\n") + 1
            yield line, bytes(buf[:cut])
            del buf[:cut]
            line += newlines
            newlines = 0
        elif newlines == 0 and len(buf) > _MAX_ITEM_CHARS:
            buf = bytearray(b"\x00too long")
            skipping = True
    if buf:
        yield line, bytes(buf)


async def _rows_pieces(rows: AsyncIterator[ParsedRow], size: int) -> AsyncIterator[list[tuple[int, Any, Any]]]:
    piece: list[tuple[int, Any, Any]] = []
    async for row in rows:
        piece.append((row.line, row.obj, row.error))
        if len(piece) >= size:
            yield piece
            piece = []
    if piece:
        yield piece


async def _write_chunk(ctx: ServiceContext, job: Job, result: ChunkResult) -> None:
    """Store one prepared chunk and the job's progress in one transaction (retried when a
    concurrent import inserted one of its households first)."""
    for attempt in range(3):
        try:
            async with open_work(ctx) as uow:
                summary = UpsertSummary()
                refused: list[RowError] = []
                new_duplicates = 0
                if result.batch is not None and len(result.batch):
                    # who held the chunk's people before it is written (duplicate persons)
                    before = await uow.households.member_holders([i for ps in result.batch.persons for i, _ in ps])
                    # matching by household number only inside the importer's jurisdiction
                    summary = await uow.imports.write(result.batch, within=job.region)
                    refused, new_duplicates = await _duplicates(uow, job, result, summary, before)
                state = (
                    job.rows_done,
                    job.rows_failed,
                    dict(job.result),
                    list(job.errors),
                    job.error_count,
                    job.cursor,
                )
                job.rows_done += result.rows - result.failed - len(refused)
                job.rows_failed += result.failed + len(refused)
                job.add_errors(sorted(result.errors + refused, key=lambda e: e["line"]))
                for k in ("inserted", "updated", "unchanged"):
                    job.result[k] = job.result.get(k, 0) + getattr(summary, k)
                if refused or new_duplicates or "duplicates" in job.result:
                    job.result["conflicts"] = job.result.get("conflicts", 0) + len(refused)
                    job.result["duplicates"] = job.result.get("duplicates", 0) + new_duplicates
                job.cursor = {"line": max(result.last_line, int((job.cursor or {}).get("line", 0)))}
                try:
                    await uow.imports.save_progress(job)
                    await uow.commit()
                except BaseException:
                    (job.rows_done, job.rows_failed, job.result, job.errors, job.error_count, job.cursor) = state
                    raise
            return
        except HouseholdsWrittenMeanwhile:
            if attempt == 2:
                raise
            log.info("import %s: a concurrent import stored some of these households first; retrying", job.id)


async def _duplicates(
    uow: Work, job: Job, result: ChunkResult, summary: UpsertSummary, before: dict[str, Any]
) -> tuple[list[RowError], int]:
    """Record a written chunk's duplicates: rows refused because their household number is a
    household outside the importer's jurisdiction (row errors `household_conflict`, that
    household untouched) and members already in another household (open duplicates). Returns
    (the row errors, how many duplicates are new)."""
    batch = result.batch
    assert batch is not None
    at = utcnow()
    sightings = [
        Sighting(str(DuplicateMatch.HOUSEHOLD_NUMBER), None, None, hid, region, None, batch.regions[pos], True)
        for pos, hid, region in summary.conflicts
    ]
    errors: list[RowError] = [
        {
            "line": result.lines.get(batch.numbers[pos], result.first_line),
            "household_number": batch.numbers[pos][:64],
            "path": "household_number",
            "code": CONFLICT_CODE,
            "message": CONFLICT_MESSAGE,
        }
        for pos, _, _ in summary.conflicts
    ]
    await record_sightings(uow, sightings, origin="import", by=job.created_by, role="import", at=at)
    persons = import_sightings(batch.persons, summary.written, batch.regions, before)
    new = await record_sightings(uow, persons, origin="import", by=job.created_by, role="import", at=at)
    return errors, new


async def _pipeline(ctx: ServiceContext, job: Job, tasks: AsyncIterator[tuple[Any, ...]], *, in_process: int) -> None:
    """Run the tasks (a prepare function and its arguments, in input order) on threads for the
    first `in_process`, then on the worker processes, a few ahead of the writer, and write their
    results in input order. If the input fails, what was read before is written first."""
    loop = asyncio.get_running_loop()
    keys = (ctx.settings.pii_key_bytes(), ctx.settings.pii_index_key_bytes())
    pending: collections.deque[asyncio.Future[ChunkResult]] = collections.deque()
    pool: ProcessPoolExecutor | None = None
    ahead = 2
    submitted = 0
    try:
        async for fn, *args in tasks:
            if submitted >= in_process and pool is None:
                pool = worker_pool(ctx)
                if pool is not None:
                    ahead = worker_count(ctx) + 1
            if pool is not None and submitted >= in_process:
                fut = loop.run_in_executor(pool, functools.partial(fn, *args))
            else:
                fut = loop.run_in_executor(None, functools.partial(fn, *args, keys=keys))
            submitted += 1
            pending.append(fut)
            while len(pending) > ahead:
                await _write_chunk(ctx, job, await pending.popleft())
    except BaseException:
        while pending:
            fut = pending.popleft()
            try:
                await _write_chunk(ctx, job, await fut)
            except Exception:
                break
        raise
    while pending:
        await _write_chunk(ctx, job, await pending.popleft())


@dataclass(frozen=True, slots=True)
class StartImport:
    """An upload of households in `fmt` (ndjson | json | csv), `rows_total` of them when the
    client says, under `idempotency_key` (the same key finds the same job again)."""

    fmt: str
    idempotency_key: str | None = None
    rows_total: int | None = None


@dataclass(frozen=True, slots=True)
class ImportStarted:
    """The upload's job; `fresh`: made now (else found by its Idempotency-Key)."""

    job: Job
    fresh: bool


async def start_import_job(ctx: ServiceContext, principal: Principal, command: StartImport) -> ImportStarted:
    """The job for this upload. With a known Idempotency-Key the existing job is returned (to
    resume a running one, or to answer a finished one again)."""
    idempotency_key, fmt, rows_total = command.idempotency_key, command.fmt, command.rows_total
    if principal.role not in _IMPORT_ROLES:
        raise Forbidden("only the province platform, a county or an admin may import households")
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 200):
        raise Unprocessable("bad Idempotency-Key", errors=[FieldError("Idempotency-Key", "1–200 characters")])
    async with open_work(ctx) as uow:
        if idempotency_key:
            job = await uow.imports.find_job(created_by=principal.sub, idempotency_key=idempotency_key)
            if job is not None:
                return ImportStarted(job, fresh=False)
        job = await uow.imports.create_job(
            region=principal.region,
            created_by=principal.sub,
            idempotency_key=idempotency_key,
            params={"format": fmt},
            rows_total=rows_total,
        )
        await uow.commit()
    return ImportStarted(job, fresh=True)


async def run_import(
    ctx: ServiceContext,
    principal: Principal,
    job: Job,
    rows: AsyncIterator[ParsedRow],
    *,
    batch_size: int = IMPORT_BATCH,
) -> Job:
    """Consume parsed `rows`, skipping lines a previous attempt of this job already committed,
    and commit every `batch_size` households with the job's progress. Marks the job completed."""
    done_line = int((job.cursor or {}).get("line", 0))
    postgres = await _postgres(ctx)
    worker = extras(ctx).import_worker
    now = utcnow()

    async def tasks() -> AsyncIterator[tuple[Any, ...]]:
        async for piece in _rows_pieces(_after(rows, done_line), batch_size):
            yield (worker.rows, piece, principal, postgres, now)

    return await _run(ctx, job, tasks())


async def run_import_stream(
    ctx: ServiceContext, principal: Principal, job: Job, chunks: AsyncIterator[bytes], fmt: str
) -> Job:
    """The import of a request body: NDJSON is cut into pieces of whole lines that the worker
    processes decode, validate and encrypt; JSON arrays and CSV are parsed here first."""
    if fmt != "ndjson":
        return await run_import(ctx, principal, job, parse_stream(chunks, fmt))
    done_line = int((job.cursor or {}).get("line", 0))
    postgres = await _postgres(ctx)
    worker = extras(ctx).import_worker
    now = utcnow()

    async def tasks() -> AsyncIterator[tuple[Any, ...]]:
        async for first, data in _ndjson_pieces(chunks, IMPORT_BATCH):
            if first + data.count(b"\n") <= done_line:
                continue  # committed by an earlier attempt
            yield (worker.ndjson, data, first, done_line, principal, postgres, now)

    return await _run(ctx, job, tasks())


async def _postgres(ctx: ServiceContext) -> bool:
    """Whether the chunks are prepared for PostgreSQL's COPY (the database the app writes to)."""
    async with open_work(ctx) as uow:
        return bool(uow.imports.postgres)


async def _after(rows: AsyncIterator[ParsedRow], done_line: int) -> AsyncIterator[ParsedRow]:
    async for row in rows:
        if row.line > done_line:
            yield row


def _failure(exc: BaseException, job: Job) -> dict[str, Any]:
    """Why an import stopped, for `GET /jobs/{id}` (never an offending value or a stack trace)."""
    line = int((job.cursor or {}).get("line", 0))
    resume = f"lines up to {line} are stored; re-send the file with the same Idempotency-Key to resume"
    if isinstance(exc, DomainError):
        code, why = exc.code, exc.detail
    elif isinstance(exc, UploadInterrupted | ConnectionError | asyncio.CancelledError):
        code, why = "upload_interrupted", "the upload was interrupted before the end of the file"
    else:
        code, why = "internal_error", f"the import failed (request id {request_id_var.get() or '-'})"
    return {"code": code, "detail": f"{why}; {resume}", "line": line}


async def _run(ctx: ServiceContext, job: Job, tasks: AsyncIterator[tuple[Any, ...]]) -> Job:
    if job.status != "running":
        job.status = "running"
        job.finished_at = None
        job.result.pop("failure", None)
    # On a failure (client gone, an error) the job ends `failed` with the reason at its last
    # committed line; re-sending the file with the same Idempotency-Key resumes after that line.
    # (Only a killed process leaves a job `running`; the re-sent file resumes it just the same.)
    try:
        await _pipeline(ctx, job, tasks, in_process=_POOL_AFTER)
    except BaseException as exc:
        job.status = "failed"
        job.result["failure"] = _failure(exc, job)
        job.finished_at = utcnow()
        log.warning("import %s failed at line %s: %s", job.id, job.result["failure"]["line"], type(exc).__name__)
        try:
            async with open_work(ctx) as uow:
                await uow.imports.save_progress(job)
                await uow.commit()
        except Exception:
            log.exception("import %s: could not record the failure", job.id)
        raise
    job.status = "completed"
    job.rows_total = job.rows_done + job.rows_failed
    job.finished_at = utcnow()
    async with open_work(ctx) as uow:
        await uow.imports.save_progress(job)
        await uow.commit()
    return job
