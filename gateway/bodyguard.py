"""JSON nesting depth of a request body, checked at the gateway while the body streams through,
before any service parses it (a 10,000-deep body makes a recursive decoder fail with a 500).

The scan is linear and runs at C speed: per chunk, complete strings are cut out with one regex,
the brackets left are kept with `bytes.translate`, and only when a chunk could reach the limit
is the running depth summed (numpy). NDJSON bodies are measured line by line."""

from __future__ import annotations

import re

import numpy as np

__all__ = ["DEFAULT_MAX_DEPTH", "JsonDepthGuard", "TooDeep", "guard_for"]

#: No request of the API nests deeper than a few levels; 64 leaves room and stays far below
#: the recursion limit of any JSON decoder or validator the services use.
DEFAULT_MAX_DEPTH = 64

# A JSON string never holds a raw newline: a line break ends any string the lexer thinks open.
_STRING = re.compile(rb'"(?:[^"\\\n]|\\[^\n])*"')
_STRING_REST = re.compile(rb'(?:[^"\\\n]|\\[^\n])*"')
_KEEP = b"[]{}"
_DELETE = bytes(b for b in range(256) if b not in _KEEP)
_SIGN = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_JSON = ("text/csv", "application/csv", "multipart/form-data", "application/x-www-form-urlencoded")
_NDJSON = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/jsonlines")


class TooDeep(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the JSON body nests deeper than {limit} levels")
        self.limit = limit


class JsonDepthGuard:
    """Feed it the body chunk by chunk; raises `TooDeep` once the nesting passes `limit`.
    `per_line`: NDJSON (every line is its own document)."""

    __slots__ = ("depth", "escape", "in_string", "limit", "per_line")

    def __init__(self, limit: int = DEFAULT_MAX_DEPTH, *, per_line: bool = False) -> None:
        self.limit = limit
        self.per_line = per_line
        self.depth = 0
        self.in_string = False
        self.escape = False

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        if not self.per_line:
            self._scan(chunk)
            return
        lines = chunk.split(b"\n")
        self._scan(lines[0])
        for line in lines[1:]:
            self.depth, self.in_string, self.escape = 0, False, False
            self._scan(line)

    def _scan(self, text: bytes) -> None:
        pos = 0
        if self.in_string:
            if self.escape and text[:1] == b"\n":
                self.escape = False  # a line break is never escaped: it ends the (broken) string
            start = 1 if self.escape else 0
            m = _STRING_REST.match(text, start)
            if m is None:
                nl = text.find(b"\n", start)
                if nl < 0:
                    self.escape = _odd_backslashes(text[start:])
                    return
                pos = nl  # an unterminated string ends at the line break (invalid JSON anyway)
            else:
                pos = m.end()
            self.in_string = self.escape = False
        outside = _STRING.sub(b"", text[pos:] if pos else text)
        quote = outside.find(b'"')
        if quote >= 0:
            nl = outside.find(b"\n", quote)
            while quote >= 0 and nl >= 0:  # an unterminated string cut short by a line break
                self._brackets(outside[:quote])
                outside = outside[nl:]
                quote = outside.find(b'"')
                nl = outside.find(b"\n", quote) if quote >= 0 else -1
            if quote >= 0:
                tail = outside[quote + 1 :]
                outside = outside[:quote]
                self.in_string = True
                self.escape = _odd_backslashes(tail)
        self._brackets(outside)

    def _brackets(self, text: bytes) -> None:
        marks = text.translate(None, _DELETE)
        if not marks:
            return
        opens = marks.count(b"[") + marks.count(b"{")
        if self.depth + opens <= self.limit:
            self.depth = max(0, self.depth + 2 * opens - len(marks))
            return
        steps = np.frombuffer(marks.translate(_SIGN), dtype=np.int8).astype(np.int64)
        running = np.cumsum(steps) + self.depth
        if int(running.max()) > self.limit:
            raise TooDeep(self.limit)
        self.depth = max(0, int(running[-1]))


def _odd_backslashes(text: bytes) -> bool:
    return (len(text) - len(text.rstrip(b"\\"))) % 2 == 1


def guard_for(content_type: str | None, limit: int = DEFAULT_MAX_DEPTH) -> JsonDepthGuard | None:
    """The guard for a body of this content type; None for bodies that are not JSON (CSV, forms).
    A body without a content type is checked as JSON: the services read such bodies as JSON."""
    ct = (content_type or "").split(";")[0].strip().lower()
    if ct in _NOT_JSON or ct.startswith("text/") or ct == "application/octet-stream":
        return None
    return JsonDepthGuard(limit, per_line=ct in _NDJSON)
