"""How a payload class becomes a checker: each field's annotation is compiled once into a
function that checks a value (as it will be on the wire) and turns it into the typed value.

Wire forms (what `shared.events.encode_event` writes, what a consumer receives): amounts are
decimal strings, dates and times ISO strings, ids strings. A producer may hand in the Python
values (`Decimal`, `date`, `UUID`) — they are checked as the string they will become.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Union

__all__ = [
    "ContractViolation",
    "FieldSpec",
    "Problem",
    "Shape",
    "compile_payload",
    "incompatibilities",
    "payload_fields",
]


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    """One way a payload breaks its contract: where (`data.measures[0].id`) and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class ContractViolation(ValueError):
    """An event whose type has no contract, or whose payload breaks it. A consumer receiving one
    can never handle it (`shared.consumer` dead-letters it as poison)."""

    def __init__(self, event_type: str, problems: list[Problem]) -> None:
        self.event_type = event_type
        self.problems = problems
        super().__init__(f"{event_type}: " + "; ".join(map(str, problems)))


class _Bad(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


#: A leaf checker: the value on the wire (or its Python form) → the typed value, or `_Bad`.
_Leaf = Callable[[Any, str, list[Problem]], Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Shape:
    """A value's wire type: a leaf ("string", "ISO date", "decimal string", …, "any"), or
    "list" (of `item`), "map" (string keys, values `item`), "object" (named `fields`)."""

    kind: str
    choices: tuple[Any, ...] = ()
    item: FieldSpec | None = None
    fields: Mapping[str, FieldSpec] = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        if self.item is not None:
            return f"{self.kind} of {self.item.shape}"
        return self.kind


@dataclasses.dataclass(frozen=True, slots=True)
class FieldSpec:
    """A payload field as the contract tests compare them: name, wire shape, required, nullable."""

    name: str
    shape: Shape
    required: bool
    nullable: bool
    check: _Leaf = dataclasses.field(repr=False, compare=False)

    @property
    def wire(self) -> str:
        return str(self.shape)


def incompatibilities(reader: FieldSpec, writer: FieldSpec, path: str) -> list[str]:
    """Why a consumer reading `reader` may not get what it expects from a producer writing
    `writer` (none: it always does)."""
    out: list[str] = []
    if reader.required and not writer.required:
        out.append(f"{path}: the consumer cannot do without it; the producer may leave it out")
    if writer.nullable and not reader.nullable:
        out.append(f"{path}: the producer may send null; the consumer does not take it")
    r, w = reader.shape, writer.shape
    if r.kind == "any":
        return out
    if r.kind != w.kind and not (r.kind == "number" and w.kind == "integer"):
        return [*out, f"{path}: the consumer reads {r}, the producer sends {w}"]
    if r.choices and not (w.choices and set(w.choices) <= set(r.choices)):
        out.append(f"{path}: the consumer takes {r}, the producer sends {w}")
    if r.item is not None and w.item is not None:
        out.extend(incompatibilities(r.item, w.item, f"{path}[]"))
    for name, field in r.fields.items():
        produced = w.fields.get(name)
        if produced is None:
            out.append(f"{path}.{name}: the producer does not send it")
        else:
            out.extend(incompatibilities(field, produced, f"{path}.{name}"))
    return out


def _str(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, uuid.UUID):
        return str(v)
    raise _Bad("must be a string")


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise _Bad("must be an integer")
    return v


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise _Bad("must be true or false")
    return v


def _float(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise _Bad("must be a number")
    return float(v)


def _decimal(v: Any) -> Decimal:
    if isinstance(v, Decimal):
        if not v.is_finite():
            raise _Bad("must be a finite decimal")
        return v
    if not isinstance(v, str):
        raise _Bad("must be a decimal string (amounts travel as strings)")
    try:
        d = Decimal(v)
    except InvalidOperation:
        raise _Bad("must be a decimal string") from None
    if not d.is_finite():
        raise _Bad("must be a finite decimal")
    return d


def _date(v: Any) -> dt.date:
    if isinstance(v, dt.datetime):
        raise _Bad("must be an ISO date, not a date-time")
    if isinstance(v, dt.date):
        return v
    if not isinstance(v, str) or len(v) != 10:
        raise _Bad("must be an ISO date (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        raise _Bad("must be an ISO date (YYYY-MM-DD)") from None


def _datetime(v: Any) -> dt.datetime:
    if isinstance(v, dt.datetime):
        value = v
    elif isinstance(v, str) and "T" in v:
        try:
            value = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            raise _Bad("must be an ISO date-time") from None
    else:
        raise _Bad("must be an ISO date-time")
    if value.tzinfo is None:
        raise _Bad("must be an ISO date-time with its UTC offset")
    return value


def _any(v: Any) -> Any:
    return v


_LEAVES: Mapping[Any, tuple[str, Callable[[Any], Any]]] = {
    str: ("string", _str),
    int: ("integer", _int),
    bool: ("boolean", _bool),
    float: ("number", _float),
    Decimal: ("decimal string", _decimal),
    dt.date: ("ISO date", _date),
    dt.datetime: ("ISO date-time", _datetime),
    Any: ("any", _any),
}


def _leaf(fn: Callable[[Any], Any]) -> _Leaf:
    def check(v: Any, path: str, problems: list[Problem]) -> Any:
        try:
            return fn(v)
        except _Bad as exc:
            problems.append(Problem(path, exc.reason))
            return None

    return check


def _item(shape: Shape, nullable: bool) -> FieldSpec:
    return FieldSpec("[]", shape, True, nullable, _leaf(_any))


def _compile(tp: Any, owner: str, closed: bool) -> tuple[Shape, bool, _Leaf]:
    """(wire shape, nullable, checker) of an annotation."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != 1 or len(args) == len(typing.get_args(tp)):
            raise TypeError(f"{owner}: only `X | None` unions are supported, got {tp!r}")
        shape, _, inner = _compile(args[0], owner, closed)

        def nullable(v: Any, path: str, problems: list[Problem]) -> Any:
            return None if v is None else inner(v, path, problems)

        return shape, True, nullable
    if tp in _LEAVES:
        kind, fn = _LEAVES[tp]
        return Shape(kind), False, _leaf(fn)
    if origin is Literal:
        choices = typing.get_args(tp)
        shown = ", ".join(map(str, choices))

        def literal(v: Any, path: str, problems: list[Problem]) -> Any:
            if v not in choices or isinstance(v, bool) != isinstance(choices[0], bool):
                problems.append(Problem(path, f"must be one of {shown}"))
            return v

        return Shape(_LEAVES[type(choices[0])][0], choices=choices), False, literal
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        item_shape, item_nullable, item = _compile(item_tp, owner, closed)

        def array(v: Any, path: str, problems: list[Problem]) -> Any:
            if not isinstance(v, list | tuple):
                problems.append(Problem(path, "must be a list"))
                return None
            return [item(x, f"{path}[{i}]", problems) for i, x in enumerate(v)]

        return Shape("list", item=_item(item_shape, item_nullable)), False, array
    if origin is dict:
        key_tp, value_tp = typing.get_args(tp)
        if key_tp is not str:
            raise TypeError(f"{owner}: object keys are strings, got {tp!r}")
        value_shape, value_nullable, value = _compile(value_tp, owner, closed)

        def mapping(v: Any, path: str, problems: list[Problem]) -> Any:
            if not isinstance(v, Mapping):
                problems.append(Problem(path, "must be an object"))
                return None
            return {str(k): value(x, f"{path}.{k}", problems) for k, x in v.items()}

        return Shape("map", item=_item(value_shape, value_nullable)), False, mapping
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        nested = compile_payload(tp, closed=closed)
        return Shape("object", fields=payload_fields(tp, closed=closed)), False, nested
    raise TypeError(f"{owner}: unsupported payload annotation {tp!r}")


def payload_fields(cls: type[Any], *, closed: bool = True) -> dict[str, FieldSpec]:
    """The fields of a payload dataclass: a field without a default is required on the wire."""
    fields: dict[str, FieldSpec] = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        wire_name = f.metadata.get("wire", f.name)
        shape, nullable, check = _compile(hints[f.name], f"{cls.__name__}.{f.name}", closed)
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        fields[wire_name] = FieldSpec(wire_name, shape, required, nullable, check)
    return fields


def compile_payload(cls: type[Any], *, closed: bool = True) -> _Leaf:
    """A checker building `cls` from an object. `closed`: a key the class does not name is a
    problem — a producer must put every field it sends into its contract; a consumer's view of
    a payload (`closed=False`) leaves the rest alone."""
    fields = payload_fields(cls, closed=closed)
    names = {spec.name: f.name for spec, f in zip(fields.values(), dataclasses.fields(cls), strict=True)}
    refuse_unknown = closed

    def check(v: Any, path: str, problems: list[Problem]) -> Any:
        if not isinstance(v, Mapping):
            problems.append(Problem(path, "must be an object"))
            return None
        before = len(problems)
        values: dict[str, Any] = {}
        for key, spec in fields.items():
            if key not in v:
                if spec.required:
                    problems.append(Problem(f"{path}.{key}", "is required"))
                continue
            value = v[key]
            if value is None and not spec.nullable:
                problems.append(Problem(f"{path}.{key}", "must not be null"))
                continue
            values[names[key]] = spec.check(value, f"{path}.{key}", problems)
        if refuse_unknown:
            problems.extend(Problem(f"{path}.{k}", "is not in the contract") for k in v if k not in fields)
        return cls(**values) if len(problems) == before else None

    return check
