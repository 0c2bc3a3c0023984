"""Event payload contracts (shared.contracts, docs/events.md): every event type's payload as
its producer really emits it conforms and parses to typed values; a payload missing a required
field is refused naming the field's path; every field a consumer reads is guaranteed by the
producer's contract (consumer-driven); every subscription is to event types that have one.

The payloads are outbox rows captured from the services' own test runs (data/events/captured.json,
`source` is the producing service); tests/contract/test_events_captured_*.py capture more live."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest

from services.assistance.main import spec as assistance_spec
from services.civil_affairs.main import spec as civil_affairs_spec
from services.identification.main import spec as identification_spec
from services.notification.main import spec as notification_spec
from services.subsidy.main import spec as subsidy_spec
from shared import contracts
from shared.contracts import ContractViolation, Problem
from shared.contracts._schema import payload_fields
from shared.contracts.assistance import IncomeUpdated, PlanCreated, VisitScheduled
from shared.contracts.civil_affairs import PaymentOrdered
from shared.contracts.identification import CaseStatusChanged, RiskWarning
from shared.contracts.subsidy import Decision
from shared.db import UnitOfWork
from shared.events import Event, PersonalDataInEvent
from tests.contract.consumer_reads import NOT_PRODUCED

#: no database here (captured payloads, the contracts themselves): once, in the SQLite pass
pytestmark = pytest.mark.sqlite_only

VILLAGE = "341221001001"
CAPTURED: dict[str, list[dict[str, Any]]] = json.loads(
    (Path(__file__).parent / "data" / "events" / "captured.json").read_text(encoding="utf-8")
)


def _case_base() -> dict[str, Any]:
    """The fields every case-derived event carries, from a captured `risk.eliminated`."""
    data = dict(CAPTURED["risk.eliminated"][0]["data"])
    del data["eliminated_on"]
    return data


#: Types no test of the services emits: built as their producer builds them (identification's
#: application/cases.py emit_case_events, low_income.py _finish_joint_screenings); `risk.cleared`
#: is also captured live (test_events_captured_identification.py).
BUILT: dict[str, list[dict[str, Any]]] = {
    "risk.rolled_back": [{"source": "identification", "data": {**_case_base(), "state": "rolled_back"}}],
    "risk.cleared": [{"source": "identification", "data": {**_case_base(), "state": "cleared"}}],
    "low_income.joint_screening_failed": [
        {
            "source": "identification",
            "data": {"county": "341221", "period": "2024-H1", "job_id": "job-1", "result": None},
        }
    ],
}
SAMPLES = CAPTURED | BUILT


def _event(etype: str, data: dict[str, Any], source: str = "test") -> Event:
    domain, name = etype.split(".")
    return Event(domain, name, "subject-1", VILLAGE, data, source=source)


def _samples() -> Iterator[Any]:
    for etype, rows in sorted(SAMPLES.items()):
        for i, row in enumerate(rows):
            yield pytest.param(etype, row["source"], row["data"], id=f"{etype}-{i}")


def test_every_event_type_has_a_contract_and_a_payload() -> None:
    registered = {f"{c.domain}.{c.name}" for c in contracts.contracts()}
    assert set(SAMPLES) == registered
    assert all(c.version == 1 for c in contracts.contracts())
    assert len(registered) == 67


def _same(typed: Any, raw: Any, path: str) -> None:
    """The typed value is the wire value read: a date for an ISO date, Decimal for an amount…"""
    if dataclasses.is_dataclass(typed):
        fields = {f.metadata.get("wire", f.name): f.name for f in dataclasses.fields(typed)}
        for key, value in raw.items():
            _same(getattr(typed, fields[key]), value, f"{path}.{key}")
    elif isinstance(typed, dt.datetime):
        assert typed == dt.datetime.fromisoformat(raw.replace("Z", "+00:00")), path
    elif isinstance(typed, dt.date):
        assert typed.isoformat() == raw, path
    elif isinstance(typed, Decimal):
        assert isinstance(raw, str), path
        assert typed == Decimal(raw), path
    elif isinstance(typed, list):
        assert len(typed) == len(raw), path
        for i, (t, r) in enumerate(zip(typed, raw, strict=True)):
            _same(t, r, f"{path}[{i}]")
    else:
        assert typed == raw, path


@pytest.mark.parametrize(("etype", "source", "data"), list(_samples()))
def test_the_payload_a_producer_emits_conforms(etype: str, source: str, data: dict[str, Any]) -> None:
    ev = _event(etype, data, source)
    assert contracts.validate(ev) == []
    contracts.check(ev)  # what UnitOfWork.add_event does
    c = contracts.contract_for(ev.domain, ev.name)
    assert c is not None
    typed = contracts.parse(ev, c.payload)
    _same(typed, data, "data")


@pytest.mark.parametrize(
    ("etype", "payload", "read", "expected"),
    [
        ("assistance.income_updated", IncomeUpdated, lambda p: p.income.wage, Decimal("12000.50")),
        ("assistance.income_updated", IncomeUpdated, lambda p: p.visited_on, dt.date(2024, 4, 12)),
        ("assistance.plan_created", PlanCreated, lambda p: [m.type for m in p.measures], ["employment", "medical"]),
        ("assistance.visit_scheduled", VisitScheduled, lambda p: type(p.due_date), dt.date),
        ("case.status_changed", CaseStatusChanged, lambda p: (p.from_, p.to), (None, "submitted")),
        (
            "risk.warning_raised",
            RiskWarning,
            lambda p: (p.warning, p.per_capita_income),
            ("orange", Decimal("6846.82")),
        ),
        ("social_assistance.payment_ordered", PaymentOrdered, lambda p: p.reference.kind, "enrolment"),
        (
            "social_assistance.payment_ordered",
            PaymentOrdered,
            lambda p: p.approved_at.utcoffset(),
            dt.timedelta(hours=8),
        ),
        ("subsidy.decision_calculated", Decision, lambda p: type(p.amount), Decimal),
    ],
)
def test_parse_gives_typed_values(etype: str, payload: type[Any], read: Any, expected: Any) -> None:
    assert read(contracts.parse(_event(etype, SAMPLES[etype][0]["data"]), payload)) == expected


def _required() -> Iterator[Any]:
    for c in contracts.contracts():
        etype = f"{c.domain}.{c.name}"
        for name, spec in c.fields.items():
            if spec.required:
                yield pytest.param(etype, name, id=f"{etype}-{name}")


@pytest.mark.parametrize(("etype", "field"), list(_required()))
def test_a_missing_required_field_is_named(etype: str, field: str) -> None:
    data = dict(SAMPLES[etype][0]["data"])
    del data[field]
    ev = _event(etype, data)
    assert contracts.validate(ev) == [Problem(f"data.{field}", "is required")]
    with pytest.raises(ContractViolation, match=rf"data\.{field}: is required"):
        UnitOfWork(None, None).add_event(ev)  # type: ignore[arg-type]  # refused before any database


def _with(etype: str, **changes: Any) -> Event:
    data = json.loads(json.dumps(SAMPLES[etype][0]["data"]))
    for path, value in changes.items():
        target = data
        *parents, last = path.split("__")
        for p in parents:
            target = target[int(p)] if p.isdigit() else target[p]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value
    return _event(etype, data)


_DELETE = object()


@pytest.mark.parametrize(
    ("event", "problems"),
    [
        (_with("assistance.plan_created", measures__0__id=_DELETE), [("data.measures[0].id", "is required")]),
        (
            _with("assistance.plan_drawn_up", drawn_up_on="20.01.2024"),
            [("data.drawn_up_on", "must be an ISO date (YYYY-MM-DD)")],
        ),
        (
            _with("subsidy.decision_approved", amount=500),
            [("data.amount", "must be a decimal string (amounts travel as strings)")],
        ),
        (_with("assistance.income_updated", income__wage="lots"), [("data.income.wage", "must be a decimal string")]),
        (_with("assistance.visit_scheduled", due_date=None), [("data.due_date", "must not be null")]),
        (_with("application.submitted", urgent="yes"), [("data.urgent", "must be true or false")]),
        (
            _with("employment.offers_refused", recommendation_ids="1,4,5"),
            [("data.recommendation_ids", "must be a list")],
        ),
        (
            _with("employment.offers_refused", decided_at="2024-03-04T10:00:00"),
            [("data.decided_at", "must be an ISO date-time with its UTC offset")],
        ),
        (_with("risk.warning_raised", warning="green"), [("data.warning", "must be one of red, orange, yellow")]),
        (
            _with("assistance.plan_reopened", labor_capable_members=2),
            [("data.labor_capable_members", "is not in the contract")],
        ),
        (
            _event("assistance.plan_approved", {"plan_id": "p"}),
            [("type", "no contract for cn.fangfan.assistance.plan_approved.v1")],
        ),
    ],
)
def test_payloads_off_contract_are_refused_with_the_field_path(event: Event, problems: list[tuple[str, str]]) -> None:
    assert [(p.path, p.reason) for p in contracts.validate(event)] == problems
    with pytest.raises(ContractViolation):
        contracts.check(event)


async def test_personal_data_is_refused_even_in_a_conforming_payload() -> None:
    ev = _with("complaint.routed", routing_rule="请联系13812345678")
    contracts.check(ev)
    uow = UnitOfWork(None, None)  # type: ignore[arg-type]
    uow.add_event(ev)
    with pytest.raises(PersonalDataInEvent):
        await uow.flush_events()  # encoding the outbox row, before any statement


def test_parse_refuses_another_type_and_the_infrastructure_tests_events_are_unchecked() -> None:
    ev = _event("assistance.visit_scheduled", SAMPLES["assistance.visit_scheduled"][0]["data"])
    with pytest.raises(ContractViolation, match="not an event of PlanCreated"):
        contracts.parse(ev, PlanCreated)
    contracts.check(Event("test", "changed", "c1", VILLAGE, {"n": 1}))  # tests/shared, tests/reliability


# --------------------------------------------------------------------------- consumers


def _view_fields() -> Iterator[Any]:
    for v in contracts.consumer_views():
        for name, spec in v.fields.items():
            yield pytest.param(v, name, spec, id=f"{v.consumer}-{v.domain}.{v.name}-{name}")


@pytest.mark.parametrize(("view", "field", "spec"), list(_view_fields()))
def test_what_a_consumer_reads_the_producer_guarantees(view: Any, field: str, spec: Any) -> None:
    c = contracts.contract_for(view.domain, view.name, view.version)
    assert c is not None, f"{view.consumer} reads {view.domain}.{view.name}, which has no contract"
    produced = c.fields.get(field)
    if produced is None:
        assert (view.consumer, f"{view.domain}.{view.name}", field) in NOT_PRODUCED, (
            f"{view.consumer} reads {field!r} of {view.domain}.{view.name}, which its producer does not send"
        )
        assert not spec.required
        return
    assert contracts.incompatibilities(spec, produced, f"data.{field}") == []


def test_every_field_read_though_not_produced_is_still_read() -> None:
    read = {(v.consumer, f"{v.domain}.{v.name}", f) for v in contracts.consumer_views() for f in v.fields}
    for consumer, etype, field in NOT_PRODUCED:
        assert (consumer, etype, field) in read
        c = contracts.contract_for(*etype.split("."))
        assert c is not None
        assert field not in c.fields, f"{etype}.{field} is produced now: drop it from NOT_PRODUCED"


def _subscriptions() -> Iterator[Any]:
    specs = (assistance_spec, civil_affairs_spec, identification_spec, notification_spec, subsidy_spec)
    for service_spec in (s() for s in specs):
        for consumer in service_spec.consumers:
            for subject in consumer.filter_subjects:
                yield pytest.param(
                    f"{service_spec.name}.{consumer.name}", subject, id=f"{service_spec.name}.{consumer.name}-{subject}"
                )


@pytest.mark.parametrize(("consumer", "subject"), list(_subscriptions()))
def test_every_subscription_is_to_event_types_with_a_contract_and_a_declared_view(consumer: str, subject: str) -> None:
    parts = subject.split(".")
    assert parts[0] == "fangfan"
    if parts[1] == ">":  # notification's fan-out: every event; the people routing reads declared views
        assert consumer in ("notification.webhooks", "notification.people")
        return
    matching = [c for c in contracts.contracts() if c.domain == parts[1] and (parts[2] in (">", c.name))]
    assert matching, f"{consumer} subscribes to {subject}: no event type with a contract"
    views = {(v.domain, v.name) for v in contracts.consumer_views() if v.consumer == consumer}
    if parts[1] == "dci":  # the exchange's own work queue: only the subject is read
        return
    assert views & {(c.domain, c.name) for c in matching}, f"{consumer} declares no view of {subject}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Writer:
    amount: Decimal
    due: dt.date | None
    note: str | None = None
    colour: Literal["red", "orange"]
    items: list[int]


@pytest.mark.parametrize(
    ("reader", "problems"),
    [
        ("amount: Decimal", []),
        ("amount: Any", []),
        ("amount: int", ["data.amount: the consumer reads integer, the producer sends decimal string"]),
        ("due: dt.date | None", []),
        ("due: dt.date | None = None", []),
        ("due: dt.date", ["data.due: the producer may send null; the consumer does not take it"]),
        ("note: str | None", ["data.note: the consumer cannot do without it; the producer may leave it out"]),
        ("colour: str", []),
        (
            "colour: Literal['red']",
            ["data.colour: the consumer takes one of red, the producer sends one of red, orange"],
        ),
        ("items: list[float]", []),
        ("items: list[str]", ["data.items[]: the consumer reads string, the producer sends integer"]),
    ],
)
def test_a_consumer_view_is_checked_against_the_producer_field_by_field(reader: str, problems: list[str]) -> None:
    namespace: dict[str, Any] = {"__name__": __name__, "dataclasses": dataclasses}  # names resolve here
    exec(f"@dataclasses.dataclass(frozen=True)\nclass View:\n    {reader}\n", namespace)  # a one-field view
    [(name, view)] = payload_fields(namespace["View"], closed=False).items()
    assert contracts.incompatibilities(view, payload_fields(_Writer)[name], f"data.{name}") == problems
