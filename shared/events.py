"""Domain events on the wire: CloudEvents 1.0 JSON on subjects
`fangfan.<domain>.<event>.<province2>.<city4>.<county6>.<township9>.<village12>` (DESIGN.md).

An event for a place above village level fills the missing levels with `_`, so a wildcard
subscription at any level still matches it (`fangfan.risk.*.34.3412.341221.>`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shared.identifiers import REGION_LEVELS, is_valid_id_number, time_ordered_uuids

__all__ = [
    "STREAM",
    "SUBJECT_ROOT",
    "Event",
    "PersonalDataInEvent",
    "assert_no_personal_data",
    "decode_event",
    "encode_event",
    "event_subject",
]

STREAM = "FANGFAN"
SUBJECT_ROOT = "fangfan"
_TOKEN = re.compile(r"^[a-z][a-z0-9_]*$")
# Bounded by anything but ASCII letters and digits: a number in text stands apart (spaces,
# punctuation, CJK), while hex digests and UUIDs may contain digit runs that merely look alike.
_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
_PHONE_LIKE = re.compile(r"(?<![0-9A-Za-z])1[3-9][0-9]{9}(?![0-9A-Za-z])")


class PersonalDataInEvent(ValueError):
    """An event payload contains a resident ID number or a phone number in clear."""


def event_subject(domain: str, name: str, region: str) -> str:
    if not _TOKEN.match(domain) or not _TOKEN.match(name):
        raise ValueError(f"bad event name {domain}.{name}")
    if not region.isdigit() or len(region) not in REGION_LEVELS:
        raise ValueError(f"region must be a 2/4/6/9/12-digit code, got {region!r}")
    levels = [region[:n] if len(region) >= n else "_" for n in REGION_LEVELS]
    return ".".join([SUBJECT_ROOT, domain, name, *levels])


def _default(o: Any) -> Any:
    if isinstance(o, Decimal):
        return str(o)
    if isinstance(o, dt.datetime | dt.date):
        return o.isoformat()
    if isinstance(o, uuid.UUID):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


@dataclass(frozen=True, slots=True)
class Event:
    """A domain event. `subject` is the household or case id; `region` its region code."""

    domain: str
    name: str
    subject: str
    region: str
    data: dict[str, Any]
    source: str = "fangfan"
    id: str = field(default_factory=lambda: time_ordered_uuids(1)[0])  # outbox index: appended at one end
    time: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def type(self) -> str:
        return f"cn.{SUBJECT_ROOT}.{self.domain}.{self.name}.v1"

    @property
    def nats_subject(self) -> str:
        return event_subject(self.domain, self.name, self.region)

    def to_cloudevent(self) -> dict[str, Any]:
        return {
            "specversion": "1.0",
            "id": self.id,
            "type": self.type,
            "source": self.source,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "subject": self.subject,
            "region": self.region,
            "datacontenttype": "application/json",
            "data": self.data,
        }


def assert_no_personal_data(value: Any, path: str = "data") -> None:
    """Refuse payloads carrying a valid resident ID number or a mobile number in clear (in a
    string, or as an integer)."""
    if isinstance(value, str):
        for m in _ID_LIKE.finditer(value):
            if is_valid_id_number(m.group(0)):
                raise PersonalDataInEvent(f"{path} contains a resident ID number")
        if _PHONE_LIKE.search(value):
            raise PersonalDataInEvent(f"{path} contains a phone number")
    elif isinstance(value, int) and not isinstance(value, bool):
        # a JSON number is a number too: 13812345678 is a phone whether quoted or not
        assert_no_personal_data(str(value), path)
    elif isinstance(value, dict):
        for k, v in value.items():
            assert_no_personal_data(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            assert_no_personal_data(v, f"{path}[{i}]")


def encode_event(event: Event) -> tuple[str, bytes]:
    assert_no_personal_data(event.data)
    body = json.dumps(event.to_cloudevent(), default=_default, ensure_ascii=False, separators=(",", ":"))
    return event.nats_subject, body.encode()


def decode_event(payload: bytes) -> Event:
    d = json.loads(payload)
    if d.get("specversion") != "1.0" or "type" not in d or "id" not in d:
        raise ValueError("not a CloudEvents 1.0 JSON event")
    parts = str(d["type"]).split(".")
    if len(parts) != 5 or parts[0] != "cn" or parts[1] != SUBJECT_ROOT:
        raise ValueError(f"unknown event type {d['type']!r}")
    t = str(d["time"]).replace("Z", "+00:00")
    return Event(
        domain=parts[2],
        name=parts[3],
        subject=str(d.get("subject", "")),
        region=str(d.get("region", "")),
        data=dict(d.get("data") or {}),
        source=str(d.get("source", "")),
        id=str(d["id"]),
        time=dt.datetime.fromisoformat(t),
    )
