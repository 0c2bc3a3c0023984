"""The row Protocols of `application.ports` against the tables the adapters read them from. mypy
checks what the use cases read of a row against its Protocol, but not the Protocol against the
table: a SQLAlchemy `Row` satisfies any Protocol (its `__getattr__`). So here: every attribute a
Protocol names is a column of its table, and it may be None exactly when the column is nullable
(save where the query rules None out, or adds the column by an outer join)."""

from __future__ import annotations

import types
import typing

import pytest
import sqlalchemy as sa

from services.notification.adapters import orm
from services.notification.application import ports

#: Protocol, its table, and the attributes whose None-ness the query decides (not the column)
ROW_VIEWS: list[tuple[type, sa.Table, dict[str, bool]]] = [
    (ports.SubscriptionRow, orm.subscriptions, {}),
    (ports.FailingSubscriptionRow, orm.subscriptions, {"failing_since": False}),
    (ports.DeliveryRow, orm.deliveries, {}),
    (ports.AttemptRow, orm.delivery_attempts, {}),
    (ports.InboxRow, orm.inbox_items, {"read_at": True}),  # outer join of the reader's inbox_reads
    (ports.SmsRecipientRow, orm.sms_recipients, {}),
    (ports.SmsMessageRow, orm.sms_messages, {}),
    (ports.ReminderRow, orm.reminders, {}),
    (ports.DueReminderRow, orm.reminders, {}),
]


def _members(proto: type) -> dict[str, object]:
    """Each property of the Protocol (its own or inherited) and its return type."""
    out: dict[str, object] = {}
    for klass in reversed(proto.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, property):
                out[name] = typing.get_type_hints(value.fget, vars(ports))["return"]
    return out


def _optional(hint: object) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)


@pytest.mark.parametrize(("proto", "table", "by_query"), ROW_VIEWS, ids=[p.__name__ for p, _, _ in ROW_VIEWS])
def test_a_row_protocol_names_columns_of_its_table(proto: type, table: sa.Table, by_query: dict[str, bool]) -> None:
    members = _members(proto)
    assert members, proto
    columns = {c.name: c for c in table.columns}
    assert sorted(n for n in members if n not in columns and n not in by_query) == []
    nullness = {n: _optional(hint) for n, hint in members.items()}
    expected = {n: by_query[n] if n in by_query else bool(columns[n].nullable) for n in members}
    assert nullness == expected


def test_the_check_sees_a_misnamed_or_misnulled_attribute() -> None:
    class Wrong(typing.Protocol):
        @property
        def phone(self) -> str: ...
        @property
        def enabled(self) -> bool | None: ...

    members = _members(Wrong)
    assert set(members) == {"phone", "enabled"}
    assert "phone" not in orm.sms_recipients.c
    assert _optional(members["enabled"])
    assert not orm.sms_recipients.c.enabled.nullable
