"""A bulk import's rules for one row: the raw object → the validated, canonical household
(`validate_canonical`), with a fast path (`fast_canonical`) — and what a prepared chunk is
(`ChunkResult`). The worker processes that run these and encode the rows for the database are
adapters/import_worker.py.

Validation has a fast path and the authoritative one. `fast_canonical` accepts only input it is
sure `HouseholdImport` accepts (exact types, plain decimal strings, known keys …) and returns the
same thing as `HouseholdImport.model_validate(obj).model_dump(mode="json")`; anything else —
every bad row, and unusual but valid spellings such as `"yes"` for a flag — goes through the
pydantic model, so the bulk path refuses exactly what the API refuses, with its messages and
field paths. tests/identification/unit/test_import_rows.py checks both directions."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict

from pydantic import ValidationError

from services.identification.application.household_input import (
    ASSET_FIELDS,
    EXPENSE_KINDS,
    IMPORT_FIELDS,
    INCOME_FIELDS,
    INCOME_KINDS,
    MEMBER_FIELDS,
    SCHOOLING_ALIASES,
    HouseholdImport,
)
from services.identification.application.stored import PreparedBatch
from services.identification.domain.model import DibaoStatus, DisabilityKind, LaborCapacity, RiskType, Schooling
from shared.auth import Principal
from shared.identifiers import InvalidRegionCode, validate_region_code

__all__ = [
    "ChunkResult",
    "RowError",
    "fast_canonical",
    "validate_canonical",
]


_INCOME = INCOME_KINDS
_EXPENSES = EXPENSE_KINDS
_ASSETS = ASSET_FIELDS
_HOUSEHOLD_KEYS = frozenset(IMPORT_FIELDS)
_MEMBER_KEYS = frozenset(MEMBER_FIELDS)
_INCOME_KEYS = frozenset(INCOME_FIELDS)
_EXPENSE_KEYS = frozenset(_EXPENSES)
_ASSET_KEYS = frozenset(_ASSETS)
_LABOR = frozenset(x.value for x in LaborCapacity)
_DISABILITY = frozenset(x.value for x in DisabilityKind)
_SCHOOLING = frozenset(x.value for x in Schooling)
_STATUS = frozenset(x.value for x in DibaoStatus)
_RISKS = frozenset(x.value for x in RiskType)
# plain decimal strings whose Decimal prints back the same: no sign, no leading zero, ≤ 2 places
_MONEY = re.compile(r"(?:0|[1-9][0-9]{0,11})(?:\.[0-9]{1,2})?\Z")
_NUMBER = re.compile(r"[0-9A-Za-z_\-]{1,64}\Z")
_PHONE = re.compile(r"1[3-9][0-9]{9}\Z")
_BOOLS = {True: True, False: False, "true": True, "false": False}
_MAX_INT = 10**12


class _Unsure(Exception):
    """The fast path does not decide this row: the pydantic model will."""


def _bool(v: Any) -> bool:
    if v is True or v is False:
        return v
    if v == "true" or v == "false":
        return v == "true"
    raise _Unsure


def _money(v: Any) -> str:
    if type(v) is str:
        if _MONEY.match(v):
            return v
    elif type(v) is int and 0 <= v < _MAX_INT:
        return str(v)
    raise _Unsure


def _small_int(v: Any, lo: int, hi: int) -> int:
    if type(v) is str and v.isdigit() and len(v) <= 2 and v.isascii():
        v = int(v)
    if type(v) is int and lo <= v <= hi:
        return v
    raise _Unsure


def _income(d: Any) -> dict[str, Any]:
    if type(d) is not dict or not _INCOME_KEYS.issuperset(d):
        raise _Unsure
    g = d.get
    out: dict[str, Any] = {k: "0" if (v := g(k)) is None and k not in d else _money(v) for k in _INCOME}
    u = g("unverified_earners")
    out["unverified_earners"] = 0 if u is None and "unverified_earners" not in d else _small_int(u, 0, 50)
    return out


def _expenses(d: Any) -> dict[str, Any]:
    if type(d) is not dict or not _EXPENSE_KEYS.issuperset(d):
        raise _Unsure
    g = d.get
    return {k: "0" if (v := g(k)) is None and k not in d else _money(v) for k in _EXPENSES}


def _assets(d: Any) -> dict[str, bool]:
    if type(d) is not dict or not _ASSET_KEYS.issuperset(d):
        raise _Unsure
    g = d.get
    return {k: False if (v := g(k)) is None and k not in d else _bool(v) for k in _ASSETS}


def _member(m: Any) -> dict[str, Any]:
    if type(m) is not dict or not _MEMBER_KEYS.issuperset(m):
        raise _Unsure
    idn, name, relation, labor = m.get("id_number"), m.get("name"), m.get("relation"), m.get("labor_capacity")
    if type(idn) is not str or type(name) is not str or type(relation) is not str or labor not in _LABOR:
        raise _Unsure
    if not (0 < len(name) <= 100 and 0 < len(relation) <= 16):
        raise _Unsure
    if not _id_number_ok(idn):
        raise _Unsure
    grade = m.get("disability_grade")
    kind = m.get("disability_kind")
    if kind is not None and kind not in _DISABILITY:
        raise _Unsure
    schooling = m.get("schooling", "none")
    if type(schooling) is not str:
        raise _Unsure
    schooling = SCHOOLING_ALIASES.get(schooling, schooling)
    if schooling not in _SCHOOLING:
        raise _Unsure
    return {
        "id_number": idn,
        "name": name,
        "relation": relation,
        "labor_capacity": labor,
        "disability_grade": None if grade is None else _small_int(grade, 1, 4),
        "disability_kind": kind,
        "serious_illness": _bool(m.get("serious_illness", False)),
        "schooling": schooling,
    }


_VILLAGES: dict[str, bool] = {}
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]\Z")
_ID_CHECK = "10X98765432"
_BIRTHS: dict[str, bool] = {}
_BIRTHS_DAY: list[dt.date] = [dt.date.min]


def _id_number_ok(v: str) -> bool:
    """`shared.identifiers.validate_id_number` for an already normalised number (18 characters,
    upper-case X), with the birth dates memoised; False: let the model decide (and explain)."""
    if not _ID_SHAPE.match(v):
        return False
    born = v[6:14]
    ok = _BIRTHS.get(born)
    if ok is None:
        today = dt.date.today()
        if _BIRTHS_DAY[0] != today:  # "not in the future" changes at midnight
            _BIRTHS.clear()
            _BIRTHS_DAY[0] = today
        try:
            d = dt.date(int(born[:4]), int(born[4:6]), int(born[6:]))
            ok = d <= today and d.year >= 1880
        except ValueError:
            ok = False
        _BIRTHS[born] = ok
    if not ok:
        return False
    return _ID_CHECK[2 * int(v[:17], 13) % 11] == v[17]  # = id_check_digit (digits: the shape says so)


def fast_canonical(obj: dict[str, Any]) -> dict[str, Any] | None:
    """`HouseholdImport.model_validate(obj).model_dump(mode="json")` for ordinary rows, or None
    when the row is invalid or unusual (then only the pydantic model may decide)."""
    try:
        if not _HOUSEHOLD_KEYS.issuperset(obj):
            return None
        number, region, phone = obj.get("household_number"), obj.get("region_code"), obj.get("phone")
        if type(number) is not str or not _NUMBER.match(number) or type(region) is not str:
            return None
        ok = _VILLAGES.get(region)
        if ok is None:
            try:
                validate_region_code(region, level="village")
                ok = True
            except InvalidRegionCode:
                ok = False
            if len(_VILLAGES) < 100_000:
                _VILLAGES[region] = ok
        if not ok or (phone is not None and (type(phone) is not str or not _PHONE.match(phone))):
            return None
        ms = obj.get("members")
        if type(ms) is not list or not 0 < len(ms) <= 50:
            return None
        members = [_member(m) for m in ms]
        if len({m["id_number"] for m in members}) != len(members):
            return None  # the model reports which one
        status = obj.get("dibao_status", "none")
        if status not in _STATUS:
            return None
        risks = obj.get("declared_risks", [])
        if type(risks) is not list or not all(type(r) is str and r in _RISKS for r in risks):
            return None
        last = obj.get("last_year_income")
        return {
            "members": members,
            "escaped_poverty": _bool(obj.get("escaped_poverty", False)),
            "income": _income(obj.get("income", {})),
            "expenses": _expenses(obj.get("expenses", {})),
            "last_year_income": None if last is None else _income(last),
            "assets": _assets(obj.get("assets", {})),
            "dibao_status": status,
            "declared_risks": list(risks),
            "household_number": number,
            "region_code": region,
            "phone": phone,
        }
    except (_Unsure, TypeError):  # TypeError: an unhashable value where a name belongs
        return None


def _path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


class RowError(TypedDict):
    """One refused row as the job's error report keeps it (JSON in the job, `GET /jobs/{id}`):
    where, and why — never the offending value (it may be an ID number)."""

    line: int
    household_number: str | None
    path: str
    message: str
    #: a refusal with a code of its own (`household_conflict`)
    code: NotRequired[str]


def validate_canonical(
    line: int, obj: dict[str, Any] | None, error: str | None, principal: Principal
) -> tuple[dict[str, Any] | None, list[RowError]]:
    """The canonical household of one row, or its errors [{line, household_number, path,
    message}] — never the offending values (they may be ID numbers)."""
    number = None
    if obj is not None and isinstance(obj.get("household_number"), str):
        number = obj["household_number"][:64]

    def err(path: str, message: str) -> RowError:
        return {"line": line, "household_number": number, "path": path, "message": message}

    if obj is None:
        return None, [err("", error or "unreadable")]
    canon = fast_canonical(obj)
    if canon is None:
        try:
            model = HouseholdImport.model_validate(obj)
        except ValidationError as exc:
            return None, [err(_path(e["loc"]), e["msg"]) for e in exc.errors(include_input=False, include_url=False)]
        seen: dict[str, int] = {}
        errors: list[RowError] = []
        for i, m in enumerate(model.members):
            if m.id_number in seen:
                errors.append(err(f"members.{i}.id_number", f"the same ID number as members[{seen[m.id_number]}]"))
            else:
                seen[m.id_number] = i
        if not principal.sees(model.region_code):
            errors.append(err("region_code", "outside your jurisdiction"))
        if errors:
            return None, errors
        canon = model.model_dump(mode="json")
    elif not principal.sees(canon["region_code"]):
        return None, [err("region_code", "outside your jurisdiction")]
    return canon, []


@dataclass
class ChunkResult:
    """One chunk of the input, prepared: the rows to write and the rows refused."""

    first_line: int
    last_line: int  # the last input line the chunk covers (the job's resumption point)
    rows: int = 0  # households seen (stored + refused)
    failed: int = 0  # households refused
    batch: PreparedBatch | None = None
    errors: list[RowError] = field(default_factory=list)
    #: household number → the input line of its (last) row, for errors found when writing
    lines: dict[str, int] = field(default_factory=dict)
