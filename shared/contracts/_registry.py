"""The registry: (domain, name, version) → the payload class of that event type, and the views
consumers declare of the events they read (`reads`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from shared.contracts._schema import ContractViolation, FieldSpec, Problem, compile_payload, payload_fields
from shared.events import Event

__all__ = [
    "UNCHECKED_DOMAINS",
    "ConsumerView",
    "Contract",
    "check",
    "consumer_views",
    "contract",
    "contract_for",
    "contracts",
    "parse",
    "read",
    "reads",
    "validate",
    "version_of",
    "wire",
]

T = TypeVar("T")

#: The infrastructure tests' synthetic events (`test.changed`, tests/shared and
#: tests/reliability): no service produces them, so they carry no contract.
UNCHECKED_DOMAINS = frozenset({"test"})


@dataclasses.dataclass(frozen=True, slots=True)
class Contract:
    domain: str
    name: str
    version: int
    payload: type[Any]
    fields: Mapping[str, FieldSpec]
    check: Callable[[Any, str, list[Problem]], Any] = dataclasses.field(repr=False, compare=False)

    @property
    def type(self) -> str:
        return f"cn.fangfan.{self.domain}.{self.name}.v{self.version}"


@dataclasses.dataclass(frozen=True, slots=True)
class ConsumerView:
    """What one consumer reads of one event type: a dataclass naming those fields (no default:
    the consumer cannot do without it)."""

    consumer: str
    domain: str
    name: str
    version: int
    view: type[Any]
    fields: Mapping[str, FieldSpec]
    check: Callable[[Any, str, list[Problem]], Any] = dataclasses.field(repr=False, compare=False)


_CONTRACTS: dict[tuple[str, str, int], Contract] = {}
_VIEWS: list[ConsumerView] = []
_VIEW_BY_CLASS: dict[type[Any], list[ConsumerView]] = {}


def wire(name: str, **kw: Any) -> Any:
    """A field whose wire name is not a Python name (`from`): `from_: str | None = wire("from")`."""
    return dataclasses.field(metadata={"wire": name}, **kw)


def contract(domain: str, name: str, version: int = 1) -> Callable[[type[T]], type[T]]:
    """Register a frozen payload dataclass as the contract of `cn.fangfan.<domain>.<name>.v<version>`."""

    def register(cls: type[T]) -> type[T]:
        key = (domain, name, version)
        if key in _CONTRACTS:
            raise ValueError(f"two contracts for {domain}.{name}.v{version}")
        params = getattr(cls, "__dataclass_params__", None)
        if params is None or not params.frozen:
            raise TypeError(f"{cls.__name__}: a contract is a frozen dataclass")
        c = Contract(domain, name, version, cls, payload_fields(cls), compile_payload(cls))
        _CONTRACTS[key] = c
        return cls

    return register


def reads(consumer: str, *types_: str, version: int = 1) -> Callable[[type[T]], type[T]]:
    """Declare a consumer's view of one or more event types (`"household.identified"`): the
    contract tests check every field it names is in the producer's contract with the same
    type, and that every field it cannot do without is required there."""

    def register(cls: type[T]) -> type[T]:
        fields = payload_fields(cls)
        check = compile_payload(cls, closed=False)
        for t in types_:
            domain, name = t.split(".")
            v = ConsumerView(consumer, domain, name, version, cls, fields, check)
            _VIEWS.append(v)
            _VIEW_BY_CLASS.setdefault(cls, []).append(v)
        return cls

    return register


def version_of(event: Event) -> int:
    return int(event.type.rsplit(".v", 1)[1])


def contract_for(domain: str, name: str, version: int = 1) -> Contract | None:
    return _CONTRACTS.get((domain, name, version))


def contracts() -> Iterator[Contract]:
    return iter(sorted(_CONTRACTS.values(), key=lambda c: (c.domain, c.name, c.version)))


def consumer_views() -> Iterator[ConsumerView]:
    return iter(_VIEWS)


def validate(event: Event) -> list[Problem]:
    """Every way the event breaks its contract (none: it conforms). An unknown type is a problem."""
    c = _CONTRACTS.get((event.domain, event.name, version_of(event)))
    if c is None:
        return [Problem("type", f"no contract for {event.type}")]
    problems: list[Problem] = []
    c.check(event.data, "data", problems)
    return problems


def check(event: Event) -> None:
    """Refuse an event a producer is about to write: its type unknown or its payload off contract
    (`ContractViolation`). Personal data is `encode_event`'s to refuse, as the row is written."""
    if event.domain in UNCHECKED_DOMAINS:
        return
    problems = validate(event)
    if problems:
        raise ContractViolation(event.type, problems)


def parse(event: Event, payload: type[T]) -> T:
    """The event's payload as its contract's typed dataclass (`parse(ev, VisitScheduled)`);
    `ContractViolation` if the event is of another type or breaks the contract."""
    c = _CONTRACTS.get((event.domain, event.name, version_of(event)))
    if c is None or c.payload is not payload:
        raise ContractViolation(event.type, [Problem("type", f"not an event of {payload.__name__}")])
    problems: list[Problem] = []
    out = c.check(event.data, "data", problems)
    if problems:
        raise ContractViolation(event.type, problems)
    return out


def read(event: Event, view: type[T]) -> T:
    """A consumer's declared view (`@reads`) of the event: the fields it names, typed; fields
    outside the view are left alone (a producer may add fields). `ContractViolation` when the
    view is not declared for this type, a field it cannot do without is missing, or a type is off."""
    declared = _VIEW_BY_CLASS.get(view, [])
    v = next(
        (v for v in declared if (v.domain, v.name, v.version) == (event.domain, event.name, version_of(event))), None
    )
    if v is None:
        raise ContractViolation(event.type, [Problem("type", f"{view.__name__} is no view of this type")])
    problems: list[Problem] = []
    out = v.check(event.data, "data", problems)
    if problems:
        raise ContractViolation(event.type, problems)
    return out
