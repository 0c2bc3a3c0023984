"""The gateway's JSON depth guard: exact over strings, escapes and chunk boundaries; NDJSON by line."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.bodyguard import JsonDepthGuard, TooDeep, guard_for


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _passes(body: bytes, limit: int, *, chunk: int, per_line: bool = False) -> bool:
    guard = JsonDepthGuard(limit, per_line=per_line)
    try:
        for i in range(0, len(body), chunk):
            guard.feed(body[i : i + chunk])
    except TooDeep:
        return False
    return True


@pytest.mark.parametrize(
    ("name", "body", "limit", "ok"),
    [
        ("flat object", b'{"a": 1, "b": [1, 2]}', 2, True),
        ("one too deep", b'{"a": [[1]]}', 2, False),
        ("brackets inside strings do not count", b'{"a": "[[[[[[[[[[{{{{{{"}', 1, True),
        ("escaped quote keeps the string open", b'{"a": "\\"[[[[[[[[["}', 1, True),
        ("escaped backslash closes the string", b'{"a": "\\\\", "b": [[[[1]]]]}', 3, False),
        ("closing brackets in strings do not hide depth", b'[["]]]]"],[[[[1]]]]]', 4, False),
        ("10,000 deep", b"[" * 10_000 + b"]" * 10_000, 64, False),
        ("deep objects", b'{"a":' * 100 + b"1" + b"}" * 100, 64, False),
        ("depth 64 passes", b"[" * 64 + b"]" * 64, 64, True),
    ],
)
@pytest.mark.parametrize("chunk", [1, 3, 7, 1 << 20])
def test_depth_guard(name: str, body: bytes, limit: int, ok: bool, chunk: int) -> None:
    assert _passes(body, limit, chunk=chunk) is ok, name


def test_ndjson_is_measured_per_line() -> None:
    line = b"[" * 40 + b"]" * 40 + b"\n"
    assert _passes(line * 100, 64, chunk=1000, per_line=True)
    # without per-line reset an unbalanced line would add up; with it, each line stands alone
    assert _passes(b"[" * 40 + b"\n" + b"[" * 40 + b"\n", 64, chunk=5, per_line=True)
    assert not _passes(b"[]\n" + b"[" * 65 + b"\n", 64, chunk=5, per_line=True)


def test_an_unterminated_string_ends_at_the_line_break() -> None:
    # a hostile first line must not hide the depth of the next one inside a "string"
    body = b'{"a": "never closed\n' + b"[" * 100 + b"]" * 100 + b"\n"
    assert not _passes(body, 64, chunk=4)
    assert not _passes(body, 64, chunk=4, per_line=True)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab\u4e2d', max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values, chunk=st.integers(min_value=1, max_value=16), limit=st.integers(min_value=0, max_value=8))
def test_depth_guard_agrees_with_the_decoder(value: object, chunk: int, limit: int) -> None:
    body = json.dumps(value, ensure_ascii=False).encode()
    assert _passes(body, limit, chunk=chunk) is (_depth(value) <= limit)


def test_which_bodies_are_checked() -> None:
    assert guard_for("application/json") is not None
    assert guard_for(None) is not None
    ndjson = guard_for("application/x-ndjson; charset=utf-8")
    assert ndjson is not None
    assert ndjson.per_line
    assert guard_for("text/csv") is None
    assert guard_for("multipart/form-data; boundary=x") is None


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(json_values, min_size=1, max_size=5),
    chunk=st.integers(min_value=1, max_value=16),
    limit=st.integers(min_value=0, max_value=6),
    ascii_only=st.booleans(),
)
def test_ndjson_guard_agrees_with_the_decoder_line_by_line(
    values: list[object], chunk: int, limit: int, ascii_only: bool
) -> None:
    body = b"".join(json.dumps(v, ensure_ascii=ascii_only).encode() + b"\n" for v in values)
    expected = all(_depth(v) <= limit for v in values)
    assert _passes(body, limit, chunk=chunk, per_line=True) is expected
    assert _passes(body, limit, chunk=chunk, per_line=False) is expected  # balanced lines add nothing
