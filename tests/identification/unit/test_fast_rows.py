"""The fast import encoder (`adapters.fast_rows`, issue #19) and the reference path give the same
chunk for every input: the same COPY bytes (PostgreSQL) and tuples (SQLite) with the same nonces
and ids injected, the same blind indexes and hashes, and the same per-row errors (line, path,
message) — over hypothesis-generated households, valid and broken in every way the API refuses,
and in a table of each refusal. The fast path must also *take* ordinary rows (else it is slow)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.identification.adapters import fast_rows
from services.identification.adapters.fast_rows import decode_line
from services.identification.adapters.import_worker import encoder_setting, prepare_ndjson
from services.identification.application import household_input
from services.identification.application.import_rows import ChunkResult
from shared.auth import Principal
from shared.cli.generate import generate_households
from shared.identifiers import id_check_digit

ITEMS = list(generate_households(300, "341221", seed=11))
PROVINCE = Principal(sub="p", role="province", region="34")
COUNTY = Principal(sub="c", role="county", region="341221")
NOW = dt.datetime(2026, 12, 2, 18, 0, 0, 123456, tzinfo=dt.UTC)
KEYS = (b"k" * 32, b"i" * 32)


def _nonces(n: int) -> bytes:
    return bytes((i * 7 + 3) % 256 for i in range(n))


def _ids(n: int) -> list[str]:
    return [f"01900000-0000-7000-8000-{i:012x}" for i in range(n)]


def _both(data: bytes, principal: Principal = PROVINCE, *, postgres: bool = True) -> tuple[ChunkResult, ChunkResult]:
    run = {
        enc: prepare_ndjson(data, 5, 0, principal, postgres, NOW, KEYS, encoder=enc, random=_nonces, ids=_ids)
        for enc in ("reference", "fast")
    }
    return run["reference"], run["fast"]


def _assert_same(ref: ChunkResult, fast: ChunkResult) -> None:
    assert fast.errors == ref.errors
    assert (fast.first_line, fast.last_line, fast.rows, fast.failed) == (
        ref.first_line,
        ref.last_line,
        ref.rows,
        ref.failed,
    )
    assert fast.lines == ref.lines
    assert ref.batch is not None
    assert fast.batch is not None
    for name in ("numbers", "hashes", "ids", "persons", "regions", "households", "members"):
        assert getattr(fast.batch, name) == getattr(ref.batch, name), name
    if ref.batch.postgres:  # the bytes COPY sends
        assert "".join(fast.batch.households).encode() == "".join(ref.batch.households).encode()
        assert "".join(fast.batch.members).encode() == "".join(ref.batch.members).encode()


def _ndjson(objs: list[Any]) -> bytes:
    return ("\n".join(o if isinstance(o, str) else json.dumps(o, ensure_ascii=False) for o in objs) + "\n").encode()


def test_the_fast_path_takes_every_row_of_a_generated_county() -> None:
    assert all(decode_line(json.dumps(item, ensure_ascii=False)) is not None for item in ITEMS)
    for postgres in (True, False):
        ref, fast = _both(_ndjson(ITEMS), postgres=postgres)
        _assert_same(ref, fast)
        assert ref.failed == 0
        assert len(fast.batch or ()) == len(ITEMS)


def test_the_setting_chooses_the_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FANGFAN_IMPORT_ENCODER", raising=False)
    assert encoder_setting() == "fast"
    monkeypatch.setenv("FANGFAN_IMPORT_ENCODER", "reference")
    assert encoder_setting() == "reference"
    monkeypatch.setenv("FANGFAN_IMPORT_ENCODER", "quick")
    with pytest.raises(ValueError, match="FANGFAN_IMPORT_ENCODER"):
        encoder_setting()


def _valid_id(born: str = "19800101", seq: str = "123") -> str:
    first17 = f"341221{born}{seq}"
    return first17 + id_check_digit(first17)


BASE = ITEMS[0]
M0 = BASE["members"][0]
_BAD_CHECK = M0["id_number"][:17] + ("0" if M0["id_number"][17] != "0" else "1")

#: one refusal per row: (change, the path of the reference's first error)
REFUSALS: list[tuple[str, Any, str]] = [
    ("money negative", {"income": {"wage": "-3"}}, "income.wage"),
    ("money 3 places", {"income": {"wage": "1.234"}}, "income.wage"),
    ("money too many digits", {"income": {"wage": "1234567890123.5"}}, "income.wage"),
    ("money null", {"expenses": {"education": None}}, "expenses.education"),
    ("money a word", {"last_year_income": {"wage": "much"}}, "last_year_income.wage"),
    ("money a list", {"income": {"wage": [1]}}, "income.wage"),
    ("money too large an integer", {"income": {"wage": 10**20}}, "income.wage"),
    ("income null", {"income": None}, "income"),
    ("unverified earners 51", {"income": {"unverified_earners": 51}}, "income.unverified_earners"),
    ("unknown income kind", {"income": {"salary": "1"}}, "income.salary"),
    ("flag a word", {"escaped_poverty": "yes please"}, "escaped_poverty"),
    ("asset flag 7", {"assets": {"car": 7}}, "assets.car"),
    ("unknown asset", {"assets": {"yacht": True}}, "assets.yacht"),
    ("dibao status", {"dibao_status": "poor"}, "dibao_status"),
    ("declared risk", {"declared_risks": ["housing", "flood"]}, "declared_risks.1"),
    ("unknown key", {"colour": "red"}, "colour"),
    ("no members", {"members": []}, "members"),
    ("51 members", {"members": [M0 | {"id_number": _valid_id(seq=f"{i:03d}")} for i in range(51)]}, "members"),
    ("same person twice", {"members": [M0, M0]}, "members.1.id_number"),
    ("check digit", {"members": [M0 | {"id_number": _BAD_CHECK}]}, "members.0.id_number"),
    ("no 30 February", {"members": [M0 | {"id_number": _valid_id("19800230")}]}, "members.0.id_number"),
    ("born in the future", {"members": [M0 | {"id_number": _valid_id("20991231")}]}, "members.0.id_number"),
    ("15 digits", {"members": [M0 | {"id_number": M0["id_number"][:15]}]}, "members.0.id_number"),
    ("labour capacity", {"members": [M0 | {"labor_capacity": "strong"}]}, "members.0.labor_capacity"),
    ("schooling", {"members": [M0 | {"schooling": "kindergarten"}]}, "members.0.schooling"),
    ("disability grade 5", {"members": [M0 | {"disability_grade": 5}]}, "members.0.disability_grade"),
    ("disability kind", {"members": [M0 | {"disability_kind": "sad"}]}, "members.0.disability_kind"),
    ("empty name", {"members": [M0 | {"name": ""}]}, "members.0.name"),
    ("name of 101", {"members": [M0 | {"name": "名" * 101}]}, "members.0.name"),
    ("relation of 17", {"members": [M0 | {"relation": "r" * 17}]}, "members.0.relation"),
    ("unknown member key", {"members": [M0 | {"nickname": "x"}]}, "members.0.nickname"),
    ("member missing", {"members": [{k: v for k, v in M0.items() if k != "name"}]}, "members.0.name"),
    ("township code", {"region_code": "341221001"}, "region_code"),
    ("region a number", {"region_code": 341221001201}, "region_code"),
    ("phone", {"phone": "12345"}, "phone"),
    ("phone with a newline", {"phone": "13800138000\n"}, "phone"),
    ("household number with a space", {"household_number": "a b"}, "household_number"),
    ("household number of 65", {"household_number": "h" * 65}, "household_number"),
]


@pytest.mark.parametrize(("change", "path"), [(c, p) for _, c, p in REFUSALS], ids=[n for n, _, _ in REFUSALS])
def test_each_refusal_is_the_reference_one(change: dict[str, Any], path: str) -> None:
    obj = copy.deepcopy(BASE) | change
    assert decode_line(json.dumps(obj, ensure_ascii=False)) is None
    ref, fast = _both(_ndjson([BASE, obj, ITEMS[1]]))
    _assert_same(ref, fast)
    assert fast.failed == 1
    assert fast.errors[0]["line"] == 6
    assert fast.errors[0]["path"] == path
    assert fast.errors[0]["message"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"a": 1e999999}', None),
        ("\x00too long", "line longer than 1 MiB"),
    ],
)
def test_unreadable_lines_are_the_reference_ones(line: str, message: str | None) -> None:
    ref, fast = _both(_ndjson([BASE, line]))
    _assert_same(ref, fast)
    assert fast.failed == 1
    if message:
        assert message in fast.errors[0]["message"]


def test_outside_the_jurisdiction_and_unusual_spellings() -> None:
    other = copy.deepcopy(ITEMS[2]) | {"region_code": "341222001201"}  # another county's village
    ref, fast = _both(_ndjson([BASE, other]), COUNTY)
    _assert_same(ref, fast)
    assert [e["path"] for e in fast.errors] == ["region_code"]
    unusual = [  # valid, but only the model decides them: same rows either way
        copy.deepcopy(BASE) | {"escaped_poverty": "true"},
        copy.deepcopy(ITEMS[3]) | {"income": {"wage": 5000.5}},
        copy.deepcopy(ITEMS[4]) | {"income": {"wage": "1e3"}},
        copy.deepcopy(ITEMS[5]) | {"members": [M0 | {"id_number": M0["id_number"].lower(), "disability_grade": "2"}]},
    ]
    ref, fast = _both(_ndjson([*unusual, ITEMS[6]]))
    _assert_same(ref, fast)
    assert fast.failed == 0


def test_raw_json_corner_cases() -> None:
    text = json.dumps(BASE, ensure_ascii=False)
    lines = [
        text.replace('"dibao_status": "none"', '"dibao_status": "tekun", "dibao_status": "none"', 1),  # last wins
        text.replace('"dibao_status": "none"', '"dibao_status": "none", "dibao_status": "bad"', 1),
        text.replace('"wage": "', '"wage": -0, "wage": "', 1),
        text.replace(M0["name"], "a\\tb\\\\c", 1),
        text.replace(M0["relation"], "\\u0000", 1),
        "  " + text + "\r",
        text + " x",
        text.replace("false", "NaN", 1),
    ]
    for line in lines:
        ref, fast = _both(_ndjson([line, ITEMS[7]]))
        _assert_same(ref, fast)


def test_a_lone_surrogate_fails_the_same_way() -> None:
    """json.loads reads "\\ud800" into a str that cannot be encrypted (UTF-8): the reference
    path fails the chunk (a known gap, reported in issue #19's note); msgspec refuses the line,
    which then fails the same way."""
    line = json.dumps(BASE, ensure_ascii=False).replace(M0["name"], "\\ud800", 1)
    assert decode_line(line) is None
    for enc in ("reference", "fast"):
        with pytest.raises(UnicodeEncodeError):
            prepare_ndjson(_ndjson([line]), 1, 0, PROVINCE, True, NOW, KEYS, encoder=enc)


def test_bad_utf8_and_blank_lines() -> None:
    data = _ndjson([BASE]) + b"\n   \n" + json.dumps(ITEMS[1], ensure_ascii=False).encode()[:-3] + b"\xff\xfe}\n"
    data += "\u3000\n".encode() + _ndjson([ITEMS[2]])
    ref, fast = _both(data)
    _assert_same(ref, fast)


# -- hypothesis: households broken (or unusual) in many places at once ----------------------------

_MONEY = st.one_of(
    st.sampled_from(["0", "0.00", "12.5", "23345.73", "999999999999.99", "0050", "-1", "1.234", "1e3", " 5", "5 "]),
    st.integers(-5, 10**13),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.booleans(),
    st.text(max_size=4),
)
_FLAG = st.one_of(st.booleans(), st.sampled_from(["true", "false", "yes", 1, 0, None, "TRUE"]))
_TEXT = st.one_of(
    st.text(min_size=1, max_size=20),
    st.sampled_from(["", "张三", "a\tb", "a\nb", "x\\y", "名" * 100, "名" * 101, "r" * 16, "r" * 17]),
)


@st.composite
def _id_number(draw: st.DrawFn) -> Any:
    born = draw(st.sampled_from(["19800101", "20000229", "19000230", "20991231", "18790101", "20240630"]))
    seq = draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    first17 = f"{draw(st.sampled_from(['341221', '110101']))}{born}{seq}"
    good = first17 + id_check_digit(first17)
    return draw(
        st.sampled_from(
            [good, good, good, good.lower(), first17 + "0", good[:15], " " + good, good + " ", 341221198001011234]
        )
    )


def _maybe(d: dict[str, Any], key: str, strategy: st.SearchStrategy[Any], draw: st.DrawFn) -> None:
    """Change `key` of `d` one way or another, or drop it, or leave it (most often)."""
    what = draw(st.integers(0, 9))
    if what == 0:
        d.pop(key, None)
    elif what <= 2:
        d[key] = draw(strategy)


@st.composite
def households(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 30)) == 0:
        return draw(st.sampled_from(["{oops", "[]", "null", '"x"', "{}", "\x00too long"]))
    h = copy.deepcopy(draw(st.sampled_from(ITEMS)))
    if draw(st.integers(0, 2)) == 0:
        return h  # as generated
    for part in ("income", "expenses", "last_year_income"):
        if isinstance(h.get(part), dict):
            for k in list(h[part]):
                _maybe(h[part], k, _MONEY, draw)
    if isinstance(h.get("income"), dict):
        _maybe(h["income"], "unverified_earners", st.one_of(st.integers(-1, 52), st.sampled_from(["2", "02"])), draw)
    for k in list(h["assets"]):
        _maybe(h["assets"], k, _FLAG, draw)
    for m in h["members"]:
        _maybe(m, "id_number", _id_number(), draw)
        _maybe(m, "name", _TEXT, draw)
        _maybe(m, "relation", _TEXT, draw)
        _maybe(m, "labor_capacity", st.sampled_from(["ordinary", "skilled", "weak", "half", "none", "strong"]), draw)
        _maybe(m, "disability_grade", st.one_of(st.integers(0, 5), st.none(), st.sampled_from(["2", True])), draw)
        _maybe(m, "disability_kind", st.sampled_from(["visual", "mental", "intellectual", None, "sad"]), draw)
        _maybe(m, "serious_illness", _FLAG, draw)
        _maybe(m, "schooling", st.sampled_from(["none", "primary", "junior", "senior", "university", "x"]), draw)
        if draw(st.integers(0, 40)) == 0:
            m["extra"] = 1
    if draw(st.integers(0, 15)) == 0:
        h["members"].append(copy.deepcopy(h["members"][0]))
    if draw(st.integers(0, 20)) == 0:
        h["members"] = []
    _maybe(h, "escaped_poverty", _FLAG, draw)
    _maybe(h, "dibao_status", st.sampled_from(["none", "dibao", "tekun", "exited", "poor", None]), draw)
    risks = st.lists(st.sampled_from(["housing", "disaster", "flood", "illness"]), max_size=3)
    _maybe(h, "declared_risks", risks, draw)
    _maybe(h, "phone", st.sampled_from(["13800138000", "12345", None, "13800138000\n", "１3800138000"]), draw)
    _maybe(h, "region_code", st.sampled_from(["341221001201", "341221001", "341222001201", "351221001201", 1]), draw)
    _maybe(h, "household_number", st.sampled_from(["341221-1", "341221-1", "a b", "h" * 65, "", 7]), draw)
    _maybe(h, "last_year_income", st.sampled_from([None, {}, {"wage": "1"}, "none"]), draw)
    if draw(st.integers(0, 40)) == 0:
        h["colour"] = "red"
    return h


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=st.lists(households(), min_size=1, max_size=6), postgres=st.booleans(), county=st.booleans())
def test_fast_and_reference_give_the_same_chunk(rows: list[Any], postgres: bool, county: bool) -> None:
    ref, fast = _both(_ndjson(rows), COUNTY if county else PROVINCE, postgres=postgres)
    _assert_same(ref, fast)


@pytest.mark.parametrize(
    ("struct", "fields"),
    [
        (fast_rows.FastMember, household_input.MEMBER_FIELDS),
        (fast_rows.FastIncome, household_input.INCOME_FIELDS),
        (fast_rows.FastExpenses, household_input.EXPENSE_KINDS),
        (fast_rows.FastAssets, household_input.ASSET_FIELDS),
    ],
)
def test_the_fast_structs_have_the_households_fields_in_its_order(struct: Any, fields: tuple[str, ...]) -> None:
    """The msgspec structs spell the household out for speed: they keep `household_input`'s
    field names, in its order (the facts JSON and the content hash are written in it)."""
    assert struct.__struct_fields__ == fields


def test_the_fast_household_has_the_import_rows_fields() -> None:
    assert set(fast_rows.FastHousehold.__struct_fields__) == set(household_input.IMPORT_FIELDS)
