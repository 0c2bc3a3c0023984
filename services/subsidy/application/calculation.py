"""Stateless calculation: one item (`POST /subsidies/calculate`) or a stream of them
(`POST /subsidies/calculate:batch`), with the domain's errors turned into problem details.

The batch calculator resolves the policy once per (region, as_of) and remembers the encoded
result of identical items (the calculators are pure), so a county's file of public-welfare posts
at the standard wage costs one calculation per distinct wage. A bad item never fails the others.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import os
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.subsidy.application.ports import Work
from services.subsidy.domain import SubsidyInputError, SubsidyResult, calculate, resolve_subsidy_policy
from shared.auth import Principal
from shared.errors import DomainError, FieldError, NotFound, PayloadTooLarge, Unprocessable
from shared.identifiers import REGION_LEVELS
from shared.policy import PolicyError, PolicyNotFound, PolicyParameterMissing, PolicyVersion, ResolvedPolicy

__all__ = [
    "MAX_BATCH_ITEMS",
    "MAX_LINE_BYTES",
    "BatchCalculator",
    "BatchSyntaxError",
    "CalculateSubsidy",
    "Calculation",
    "calculate_subsidy",
    "check_region",
    "domain_error",
    "iter_json_array",
    "iter_ndjson",
    "run_calculation",
]

MAX_BATCH_ITEMS = 100_000
MAX_ITEM_CHARS = 1_000_000
#: An NDJSON line of a batch is at most this long (`FANGFAN_BATCH_MAX_LINE_BYTES`); one item is a
#: few hundred bytes, so 1 MB is generous and bounds what a line can make the service hold.
MAX_LINE_BYTES = int(os.environ.get("FANGFAN_BATCH_MAX_LINE_BYTES", str(1_000_000)))
_MEMO_SIZE = 100_000
_FLUSH_EVERY = 500
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
_DECODE = json.JSONDecoder(parse_float=Decimal).decode


def _tagged(value: Any) -> Any:
    """Memo keys: a Decimal must not collide with the string of its digits."""
    return {"$decimal": str(value)}


_KEY = json.JSONEncoder(sort_keys=True, separators=(",", ":"), check_circular=False, default=_tagged).encode


def domain_error(exc: Exception) -> DomainError:
    """The problem a calculation failure answers with (422 with the field path)."""
    if isinstance(exc, SubsidyInputError):
        return Unprocessable(exc.message, errors=[FieldError(exc.field_path, exc.message)])
    if isinstance(exc, PolicyNotFound):
        return Unprocessable(str(exc), code="policy_not_found", errors=[FieldError("region_code", str(exc))])
    if isinstance(exc, PolicyParameterMissing):
        return Unprocessable(str(exc), code="policy_parameter_missing", errors=[FieldError("kind", str(exc))])
    if isinstance(exc, PolicyError):
        return Unprocessable(str(exc), code="policy_invalid", errors=[FieldError("kind", str(exc))])
    if isinstance(exc, DomainError):
        return exc
    raise exc


@dataclass(frozen=True, slots=True)
class CalculateSubsidy:
    """Work out one subsidy of `kind` under the policy in force in `region_code` on `as_of`."""

    kind: str
    region_code: str
    as_of: dt.date
    inputs: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Calculation:
    """A calculation's result (amount in Decimal yuan, rounded half-up to the fen once) and where
    and when it was made."""

    result: SubsidyResult
    region_code: str
    as_of: dt.date

    def as_dict(self) -> dict[str, Any]:
        """The `/calculate` response object, which is also a batch result line (the batch
        calculator encodes it as it streams): the result, `region_code`, `as_of`, `parameters`."""
        body = self.result.as_dict()
        body["region_code"] = self.region_code
        body["as_of"] = self.as_of.isoformat()
        body["parameters"] = dict(self.result.parameters)
        return body


def run_calculation(kind: str, inputs: Mapping[str, Any], policy: ResolvedPolicy) -> SubsidyResult:
    """`calculate`, with its failures as problem details (raised)."""
    try:
        return calculate(kind, inputs, policy)
    except (SubsidyInputError, PolicyParameterMissing, PolicyError) as exc:
        raise domain_error(exc) from None


def check_region(region_code: Any, sees: Callable[[str], bool], path: str = "region_code") -> str:
    if not isinstance(region_code, str) or not region_code.isdigit() or len(region_code) not in REGION_LEVELS:
        raise Unprocessable("bad region code", errors=[FieldError(path, "must be a 2, 4, 6, 9 or 12-digit code")])
    if not sees(region_code):
        raise NotFound(f"no region {region_code} in your jurisdiction")
    return region_code


async def calculate_subsidy(cmd: CalculateSubsidy, uow: Work, principal: Principal) -> Calculation:
    """One stateless calculation: 404 for a region outside the caller's jurisdiction, 422 for bad
    inputs or no policy in force; nothing is recorded."""
    check_region(cmd.region_code, principal.sees)
    policy = await uow.policy(cmd.region_code, cmd.as_of)
    result = run_calculation(cmd.kind, cmd.inputs, policy)
    return Calculation(result, region_code=cmd.region_code, as_of=cmd.as_of)


# --- batch ------------------------------------------------------------------------------------


class BatchSyntaxError(ValueError):
    """The batch body cannot be read past this point (a JSON array that is not JSON)."""


def _error_body(err: DomainError) -> dict[str, Any]:
    body: dict[str, Any] = {"status": err.status, "code": err.code, "detail": err.detail}
    if err.extra.get("errors"):
        body["errors"] = [{"path": e["path"], "message": e["message"]} for e in err.extra["errors"]]
    return body


class BatchCalculator:
    """Calculates batch items one by one into encoded JSON result objects:
    `{"index", "id"?, ...the /calculate response}` or `{"index", "id"?, "error": {...}}`."""

    def __init__(self, versions: Iterable[PolicyVersion], sees: Callable[[str], bool]) -> None:
        self.versions = list(versions)
        self.sees = sees
        self._policies: dict[tuple[str, str], ResolvedPolicy | DomainError] = {}
        self._memo: dict[tuple[str, str, str, str], str] = {}
        self.count = 0
        self.failed = 0

    def _policy(self, region_code: Any, as_of: Any) -> ResolvedPolicy:
        key = (region_code, as_of)
        hit = self._policies.get(key)
        if hit is None:
            hit = self._resolve(region_code, as_of)
            self._policies[key] = hit
        if isinstance(hit, DomainError):
            raise hit
        return hit

    def _resolve(self, region_code: Any, as_of: Any) -> ResolvedPolicy | DomainError:
        try:
            region = check_region(region_code, self.sees)
            bad_date = Unprocessable("bad as_of", errors=[FieldError("as_of", "must be an ISO date (YYYY-MM-DD)")])
            if not isinstance(as_of, str):
                raise bad_date
            try:
                day = dt.date.fromisoformat(as_of)
            except ValueError:
                raise bad_date from None
            return resolve_subsidy_policy(region, day, self.versions)
        except PolicyNotFound as exc:
            return domain_error(exc)
        except DomainError as exc:
            return exc

    def body(self, item: Any) -> str:
        """The encoded result of one item (without index), or raises a DomainError."""
        if not isinstance(item, dict):
            raise Unprocessable("an item must be an object", errors=[FieldError("", "must be an object")])
        unknown = set(item) - {"kind", "region_code", "as_of", "inputs", "id"}
        if unknown:
            name = sorted(unknown)[0]
            raise Unprocessable(f"unknown field {name}", errors=[FieldError(name, "is not a field of an item")])
        kind, inputs = item.get("kind"), item.get("inputs")
        if not isinstance(kind, str):
            raise Unprocessable("kind is required", errors=[FieldError("kind", "is required")])
        if not isinstance(inputs, dict):
            raise Unprocessable("inputs must be an object", errors=[FieldError("inputs", "must be an object")])
        region_code, as_of = item.get("region_code"), item.get("as_of")
        policy = self._policy(region_code, as_of)
        # `_policy` refused anything but a region code and an ISO date, both strings
        assert isinstance(region_code, str)
        assert isinstance(as_of, str)
        key = (kind, region_code, as_of, _KEY(inputs))
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        result = run_calculation(kind, inputs, policy)
        encoded = _ENCODE(Calculation(result, region_code=region_code, as_of=policy.as_of).as_dict())
        if len(self._memo) < _MEMO_SIZE:
            self._memo[key] = encoded
        return encoded

    def line(self, index: int, item: Any) -> str:
        """`{"index":…,"id":…,…}` for one item (decoded JSON, or a DomainError for an unreadable line)."""
        self.count += 1
        head = f'{{"index":{index}'
        if isinstance(item, dict) and "id" in item and isinstance(item["id"], str | int):
            head += ',"id":' + _ENCODE(item["id"])
        try:
            if isinstance(item, DomainError):
                raise item
            body = self.body(item)
        except DomainError as exc:
            self.failed += 1
            return head + ',"error":' + _ENCODE(_error_body(exc)) + "}"
        return head + "," + body[1:]

    def lines(self, items: Iterable[Any]) -> Iterator[str]:
        for index, item in enumerate(items):
            yield self.line(index, item)

    async def stream(self, items: AsyncIterator[Any], *, ndjson: bool) -> AsyncIterator[bytes]:
        """Encoded response chunks: NDJSON lines, or one JSON array, in item order."""
        out: list[str] = [] if ndjson else ["["]
        sep = "\n" if ndjson else ","
        first = True
        index = 0
        try:
            async for item in items:
                if index >= MAX_BATCH_ITEMS:
                    err = Unprocessable(
                        f"a batch holds at most {MAX_BATCH_ITEMS} items; the rest was not read",
                        code="batch_too_large",
                    )
                    out.append(("" if first or ndjson else sep) + self.line(index, err) + ("\n" if ndjson else ""))
                    first = False
                    break
                text = self.line(index, item)
                out.append((text + "\n") if ndjson else (text if first else sep + text))
                first = False
                index += 1
                if len(out) >= _FLUSH_EVERY:
                    yield "".join(out).encode()
                    out = []
        except BatchSyntaxError as exc:
            err = Unprocessable(f"the batch body is not valid JSON here: {exc}", code="invalid_json")
            text = self.line(index, err)
            out.append((text + "\n") if ndjson else (text if first else sep + text))
        if not ndjson:
            out.append("]")
        if out:
            yield "".join(out).encode()


def _line_too_long(max_line: int) -> DomainError:
    return PayloadTooLarge(
        f"line longer than {max_line} bytes; skipped (one calculation per line)",
        code="line_too_long",
        max_bytes=max_line,
    )


async def iter_ndjson(chunks: AsyncIterator[bytes], *, max_line: int | None = None) -> AsyncIterator[Any]:
    """One decoded value per non-blank line; an undecodable line is a DomainError item, and so is
    a line over `max_line` bytes (413 `line_too_long` for that item; the batch goes on). Linear:
    each byte is looked at once, and at most `max_line` bytes of a line are ever held."""
    limit = MAX_LINE_BYTES if max_line is None else max_line
    held = bytearray()  # the start of a line that goes on in the next chunk
    skipping = False  # inside a line over the limit: dropped up to its end
    async for chunk in chunks:
        start, size = 0, len(chunk)
        while start < size:
            nl = chunk.find(b"\n", start)
            end = size if nl < 0 else nl
            if not skipping:
                if len(held) + end - start > limit:
                    held.clear()
                    skipping = True
                elif nl >= 0 and not held:
                    raw = chunk[start:nl]
                    if raw.strip():
                        yield _decode_line(raw)
                else:
                    held += memoryview(chunk)[start:end]
                    if nl >= 0:
                        raw = bytes(held)
                        held.clear()
                        if raw.strip():
                            yield _decode_line(raw)
            if nl < 0:
                break
            if skipping:
                skipping = False
                yield _line_too_long(limit)
            start = nl + 1
    if skipping:
        yield _line_too_long(limit)
    elif held.strip():
        yield _decode_line(bytes(held))


def _decode_line(raw: bytes) -> Any:
    try:
        return _DECODE(raw.decode())
    except RecursionError:
        return Unprocessable("not a JSON line: nested too deeply", code="json_too_deep")
    except ValueError as exc:
        return Unprocessable(f"not a JSON line: {str(exc)[:200]}", code="invalid_json")


_BLANKS = re.compile(r"[ \t\r\n]*")


async def iter_json_array(chunks: AsyncIterator[bytes]) -> AsyncIterator[Any]:
    """The elements of a JSON array read incrementally from byte chunks (each element decoded by
    the C decoder once it is complete). Raises BatchSyntaxError where the text stops being JSON."""
    decoder = json.JSONDecoder(parse_float=Decimal)
    utf8 = codecs.getincrementaldecoder("utf-8")()
    source = chunks.__aiter__()
    buf, pos, eof = "", 0, False
    state = "start"  # start → first (after "[") → sep (after an element) → value (after ",")

    async def more() -> bool:
        nonlocal buf, pos, eof
        if eof:
            return False
        try:
            chunk = await source.__anext__()
            text = utf8.decode(chunk)
        except StopAsyncIteration:
            eof, text = True, utf8.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise BatchSyntaxError(f"not UTF-8: {exc}") from None
        buf, pos = buf[pos:] + text, 0
        return True

    while True:
        pos = _BLANKS.match(buf, pos).end()  # type: ignore[union-attr]  # C speed over any whitespace
        if pos >= len(buf):
            if not await more():
                if state == "start":
                    raise BatchSyntaxError("empty body; expected a JSON array")
                raise BatchSyntaxError("unexpected end of the body; the array is not closed")
            continue
        c = buf[pos]
        if state == "start":
            if c != "[":
                raise BatchSyntaxError("expected a JSON array")
            pos += 1
            state = "first"
        elif state == "sep":
            if c == ",":
                pos += 1
                state = "value"
            elif c == "]":
                return
            else:
                raise BatchSyntaxError(f"expected ',' or ']' at character {pos}")
        else:
            if state == "first" and c == "]":
                return
            try:
                value, end = decoder.raw_decode(buf, pos)
            except RecursionError:
                raise BatchSyntaxError("nested too deeply") from None
            except json.JSONDecodeError as exc:
                # A cut inside a literal (`tru`) fails a few characters before the end.
                incomplete = exc.pos >= len(buf) - 8 or exc.msg.startswith("Unterminated string")
                if incomplete and len(buf) - pos < MAX_ITEM_CHARS and await more():
                    continue
                raise BatchSyntaxError(exc.msg) from None
            except ValueError:  # an integer of more than 4,300 digits
                raise BatchSyntaxError("a number with too many digits") from None
            if end >= len(buf) and not eof and not isinstance(value, dict | list) and await more():
                continue  # a bare number may go on in the next chunk
            yield value
            pos = end
            state = "sep"
