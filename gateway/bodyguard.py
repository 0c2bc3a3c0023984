"""JSON nesting depth of a request body, checked at the gateway while the body streams through,
before any service parses it (a 10,000-deep body makes a recursive decoder fail with a 500).

The scan is exact (brackets in strings and escaped quotes do not count) and linear, vectorised
with numpy over each chunk; NDJSON bodies are measured line by line, and a line with fewer
opening brackets than the limit is not scanned at all."""

from __future__ import annotations

import re

import numpy as np

__all__ = ["DEFAULT_MAX_DEPTH", "JsonDepthGuard", "TooDeep", "guard_for"]

#: No request of the API nests deeper than a few levels; 64 leaves room and stays far below
#: the recursion limit of any JSON decoder or validator the services use.
DEFAULT_MAX_DEPTH = 64

_QUOTE, _NEWLINE = ord('"'), ord("\n")
#: an escape pair inside a string (a backslash never escapes a line break: that ends the string)
_ESCAPE = re.compile(rb"\\[^\n]")
_NOT_MARK = bytes(b for b in range(256) if b not in b'"[]{}\n')
_OPEN_ARRAY, _OPEN_OBJECT, _CLOSE_ARRAY, _CLOSE_OBJECT = ord("["), ord("{"), ord("]"), ord("}")
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
            self._exact(chunk)
            return
        lines = chunk.split(b"\n")
        self._exact(lines[0])  # goes on from the previous chunk
        if len(lines) == 1:
            return
        for line in lines[1:-1]:
            # A whole line: fewer opening brackets than the limit cannot nest deeper (the
            # common case, no scan); otherwise it is measured exactly.
            if line.count(b"[") + line.count(b"{") > self.limit:
                self._reset()
                self._exact(line)
        self._reset()
        self._exact(lines[-1])  # goes on in the next chunk

    def _reset(self) -> None:
        self.depth, self.in_string, self.escape = 0, False, False

    def _exact(self, text: bytes) -> None:
        """Exact over `text` from the carried state. Escape pairs are cut out first (one regex),
        then everything but quotes, brackets and line breaks (`bytes.translate`), so numpy sees
        about a tenth of the bytes: the parity of the quotes since the last line break says what
        is inside a string (a raw line break ends any string, as it does for the decoders), and
        the running depth of the brackets outside strings is summed, floored at 0."""
        if self.escape and text:
            self.escape = False
            if text[:1] != b"\n":
                text = text[1:]  # the character the previous chunk's backslash escapes
        if b"\\" in text:
            text = _ESCAPE.sub(b"", text)
            if text.endswith(b"\\"):  # a backslash whose character is in the next chunk
                self.escape = True
        marks = text.translate(None, _NOT_MARK)
        if not marks:
            self.escape = self.escape and self.in_string
            return
        a = np.frombuffer(marks, dtype=np.uint8)
        quotes = a == _QUOTE
        counted = np.cumsum(quotes, dtype=np.int64)
        if b"\n" in marks:
            idx = np.arange(a.size)
            last_break = np.maximum.accumulate(np.where(a == _NEWLINE, idx, -1))
            broken = last_break >= 0
            base = np.where(broken, counted[np.maximum(last_break, 0)], 0)
            parity = counted - base + np.where(broken, 0, int(self.in_string))
        else:
            parity = counted + int(self.in_string)
        inside = (parity & 1).astype(bool)
        steps = np.zeros(a.size, dtype=np.int64)
        steps[(a == _OPEN_ARRAY) | (a == _OPEN_OBJECT)] = 1
        steps[(a == _CLOSE_ARRAY) | (a == _CLOSE_OBJECT)] = -1
        steps[inside] = 0
        walk = np.cumsum(steps) + self.depth
        walk -= np.minimum.accumulate(np.minimum(walk, 0))  # a stray close never goes below 0
        if int(walk.max()) > self.limit:
            raise TooDeep(self.limit)
        self.depth = int(walk[-1])
        self.in_string = bool(inside[-1])
        self.escape = self.escape and self.in_string


def guard_for(content_type: str | None, limit: int = DEFAULT_MAX_DEPTH) -> JsonDepthGuard | None:
    """The guard for a body of this content type; None for bodies that are not JSON (CSV, forms).
    A body without a content type is checked as JSON: the services read such bodies as JSON."""
    ct = (content_type or "").split(";")[0].strip().lower()
    if ct in _NOT_JSON or ct.startswith("text/") or ct == "application/octet-stream":
        return None
    return JsonDepthGuard(limit, per_line=ct in _NDJSON)
