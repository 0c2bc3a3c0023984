"""Request and response schemas of appeals and complaints. Requests forbid unknown fields, so a
client cannot set a state, a deadline or a routing; free text is masked as it is validated."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.civil_affairs.domain.appeals import AppealAction, AppealState, Level, Outcome, SubjectKind
from services.civil_affairs.domain.complaints import (
    Channel,
    ComplaintAction,
    ComplaintState,
    Satisfaction,
    Topic,
)
from shared.pii import MaskedText

__all__ = [
    "AppealCreate",
    "AppealPage",
    "AppealRead",
    "AppealTransition",
    "ComplaintCreate",
    "ComplaintPage",
    "ComplaintRead",
    "ComplaintTransition",
]

_REGION = r"^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12})$"
_VILLAGE = r"^\d{12}$"


#: ids of other records (households, applications, cases, decisions) and document references
_REF = r"^[A-Za-z0-9_\-:.]{1,64}$"


def _clean(value: Any, path: str) -> None:
    """Text a database can store: no NUL character (PostgreSQL refuses it) and no lone surrogate."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{path}: contains a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{path}: is not valid Unicode text") from None
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _clean(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _clean(v, f"{path}[{i}]")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _storable_text(self) -> _In:
        _clean(self, "")
        return self


class SubjectRef(_In):
    kind: SubjectKind
    id: str = Field(pattern=_REF)


class AppealCreate(_In):
    """`decided_level` and `appellant_id_number` are for an officer filing on someone's behalf:
    the level that decided when the owning service does not record it, and the appellant (kept
    encrypted as a blind index only, so that the citizen then sees the appeal in the app)."""

    subject: SubjectRef
    household_id: str = Field(pattern=_REF)
    region_code: str = Field(pattern=_VILLAGE, description="the household's 12-digit village code")
    grounds: MaskedText = Field(min_length=1, max_length=4000, description="why the decision is wrong (申诉理由)")
    attachments: list[Annotated[str, Field(pattern=_REF)]] = Field(
        default_factory=list, max_length=20, description="document references (ids)"
    )
    decided_level: Level | None = None
    appellant_id_number: str | None = Field(default=None, pattern=r"^[0-9]{17}[0-9Xx]$")


class AppealTransition(_In):
    action: AppealAction
    outcome: Outcome | None = Field(default=None, description="with `decide`")
    reason: MaskedText | None = Field(default=None, max_length=4000, description="required with `decide`")
    version: int | None = Field(default=None, description="the version you read (a stale one is 409)")


class HistoryRead(BaseModel):
    action: str
    from_: str | None = Field(alias="from")
    to: str
    by: str
    role: str
    at: str
    note: str | None = None

    model_config = ConfigDict(populate_by_name=True)


class SubjectRead(BaseModel):
    kind: str
    id: str


class AppealRead(BaseModel):
    id: str
    subject: SubjectRead
    household_id: str
    region_code: str
    state: AppealState
    grounds: str
    attachments: list[str]
    decided_level: Level
    review_level: Level
    review_region: str
    received_on: dt.date
    deadline: dt.date
    overdue: bool
    outcome: Outcome | None
    reason: str | None
    filed_by_role: str
    history: list[HistoryRead]
    allowed_actions: list[str]
    explanation: dict[str, Any]
    version: int


class AppealPage(BaseModel):
    items: list[AppealRead]
    total: int
    limit: int
    offset: int


class PersonRef(_In):
    id_number: str = Field(pattern=r"^[0-9]{17}[0-9Xx]$")


class ComplaintCreate(_In):
    channel: Channel
    text: MaskedText = Field(min_length=1, max_length=8000)
    region_code: str = Field(pattern=_REGION, description="the place the complaint is about (village code if known)")
    topic: Topic
    household_id: str | None = Field(default=None, pattern=_REF)
    person: PersonRef | None = Field(default=None, description="the person concerned: stored encrypted, shown masked")
    contact_phone: str | None = Field(
        default=None, pattern=r"^\+?[0-9\- ]{5,20}$", description="encrypted, shown masked"
    )
    officer_level: Level | None = Field(default=None, description="with topic officer_conduct: the officer's level")


class ComplaintTransition(_In):
    action: ComplaintAction
    note: MaskedText | None = Field(default=None, max_length=8000, description="the reply text, or why")
    to_region: str | None = Field(default=None, pattern=_REGION, description="transfer to this unit")
    to_department: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_\-]{1,40}$", description="transfer to this department"
    )
    satisfaction: Satisfaction | None = Field(default=None, description="with `close`")
    version: int | None = None


class MaskedPerson(BaseModel):
    id_number: str


class ComplaintRead(BaseModel):
    id: str
    channel: Channel
    topic: Topic
    text: str
    household_id: str | None
    person: MaskedPerson | None
    contact_phone: str | None
    region_code: str
    officer_level: Level | None
    state: ComplaintState
    responsible_level: Level
    responsible_region: str
    responsible_department: str | None
    escalated_level: Level | None
    escalated_region: str | None
    received_on: dt.date
    ack_due: dt.date
    reply_due: dt.date
    acknowledged_on: dt.date | None
    replied_on: dt.date | None
    reply: str | None
    satisfaction: Satisfaction | None
    reopen_count: int
    overdue: bool
    filed_by_role: str
    history: list[HistoryRead]
    allowed_actions: list[str]
    explanation: dict[str, Any]
    version: int


class ComplaintPage(BaseModel):
    items: list[ComplaintRead]
    total: int
    limit: int
    offset: int
