"""What identification's repositories hand its use cases and take from them: a household to
store, a stored household and its members, an upsert's outcome, a batch prepared for writing, a
job and a chunk of its work, the DCI exchange's partners, transactions, subscriptions and
outbound messages.
Plain values with no I/O, defined here so that `application/` imports nothing of `adapters/`
(docs/layers.md); the adapters build them from rows and write them back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from services.identification.application.household_input import EXPENSE_KINDS, INCOME_KINDS, HouseholdIn
from services.identification.domain.model import (
    Assets,
    DibaoStatus,
    DisabilityKind,
    Expenses,
    Household,
    Income,
    LaborCapacity,
    Member,
    RiskType,
    Schooling,
    residence_of_region,
)
from shared.identifiers import id_check_digit

__all__ = [
    "MAX_ERRORS",
    "Chunk",
    "HouseholdRecord",
    "Job",
    "Outbound",
    "Partner",
    "PreparedBatch",
    "StoredHousehold",
    "StoredMember",
    "Subscription",
    "Transaction",
    "UpsertOutcome",
    "UpsertSummary",
]


@dataclass(frozen=True, slots=True)
class HouseholdRecord:
    """A household to store: its number (the provincial platform's key), village, the validated
    `HouseholdIn` and the contact phone."""

    household_number: str
    region_code: str
    household: HouseholdIn
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class UpsertOutcome:
    household_id: str
    outcome: str  # inserted | updated | unchanged


@dataclass
class UpsertSummary:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    #: household_number → household id, for every record of the call
    ids: dict[str, str] = field(default_factory=dict)
    #: per record of the batch (its order): the id written (inserted or updated), None otherwise
    written: list[str | None] = field(default_factory=list)
    #: records refused because their number is a household outside `within`: (position in the
    #: batch, that household's id, its region) — that household is not touched
    conflicts: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StoredMember:
    household_id: str
    position: int
    id_number_masked: str
    relation: str
    sex: str
    birth_date: dt.date
    labor_capacity: str
    disability_grade: int | None
    disability_kind: str | None
    serious_illness: bool
    schooling: str
    #: Clear values only when read with a cipher (never log them).
    id_number: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class StoredHousehold:
    id: str
    household_number: str
    region_code: str
    escaped_poverty: bool
    dibao_status: str
    status: str
    category: str | None
    low_income_category: str | None
    warning: str | None
    per_capita_income: Decimal | None
    version: int
    facts: dict[str, Any]
    members: tuple[StoredMember, ...]
    phone: str | None = None

    def to_domain(self) -> Household:
        """The domain household. Without decrypted ID numbers (read without a cipher) each member
        gets a stand-in number carrying only the stored birth date — all the rules use — so
        screenings never decrypt personal data."""
        ms = []
        for m in self.members:
            ms.append(
                Member(
                    id_number=m.id_number or _stand_in_id(m.birth_date, m.position),
                    name=m.name or f"member{m.position}",
                    relation=m.relation,
                    labor_capacity=LaborCapacity(m.labor_capacity),
                    disability_grade=m.disability_grade,
                    disability_kind=DisabilityKind(m.disability_kind) if m.disability_kind else None,
                    serious_illness=m.serious_illness,
                    schooling=Schooling(m.schooling),
                )
            )
        f = self.facts
        last = f.get("last_year_income")
        return Household(
            members=tuple(ms),
            income=_income(f.get("income") or {}),
            expenses=Expenses(**{k: Decimal(f.get("expenses", {}).get(k, "0")) for k in EXPENSE_KINDS}),
            assets=Assets(**(f.get("assets") or {})),
            escaped_poverty=self.escaped_poverty,
            dibao_status=DibaoStatus(self.dibao_status),
            last_year_income=_income(last) if last else None,
            residence=residence_of_region(self.region_code),
            declared_risks=frozenset(RiskType(r) for r in f.get("declared_risks", ())),
        )


def _income(d: dict[str, Any]) -> Income:
    return Income(
        **{k: Decimal(d.get(k, "0")) for k in INCOME_KINDS},
        unverified_earners=int(d.get("unverified_earners", 0)),
    )


def _stand_in_id(born: dt.date, position: int) -> str:
    first17 = f"000000{born:%Y%m%d}{position % 1000:03d}"
    return first17 + id_check_digit(first17)


#: How many row errors a job keeps in full (the rest are only counted).
MAX_ERRORS = 100


@dataclass
class Job:
    id: str
    kind: str
    status: str
    region: str
    created_by: str
    idempotency_key: str | None
    params: dict[str, Any]
    cursor: Any
    rows_done: int
    rows_failed: int
    rows_total: int | None
    errors: list[dict[str, Any]]
    error_count: int
    result: dict[str, Any]
    started_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None

    def add_errors(self, errors: Sequence[Mapping[str, Any]]) -> None:
        room = MAX_ERRORS - len(self.errors)
        if room > 0:
            self.errors.extend(dict(e) for e in errors[:room])
        self.error_count += len(errors)


@dataclass
class Chunk:
    job_id: str
    seq: int
    after: tuple[str, str] | None
    last: tuple[str, str]
    rows: int
    claimed_by: str | None
    attempts: int


@dataclass(frozen=True, slots=True)
class Partner:
    sender_id: str
    name: str
    client_sub: str
    jwks: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Transaction:
    id: str
    sender_id: str
    transaction_id: str
    kind: str
    status: str
    caller_sub: str
    caller_role: str
    caller_region: str
    sender_uri: str | None
    request_enc: bytes | None
    summary: dict[str, Any]
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Subscription:
    code: str
    sender_id: str
    owner_region: str
    region: str
    reg_event_type: str
    notify_uri: str
    status: str
    transaction_id: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Outbound:
    id: str
    action: str
    receiver_id: str
    url: str
    message_enc: bytes
    status: str


@dataclass
class PreparedBatch:
    """Households ready to write: per household its number, keyed content hash, a fresh id, its
    `households` row and its `members` rows — PostgreSQL: COPY text lines (the id first on each);
    SQLite: tuples in `HOUSEHOLD_WRITE` / `MEMBER_COLUMNS` order. Built by `RowEncoder` (in the
    import's worker processes, or in process for a single household)."""

    postgres: bool
    numbers: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    households: list[Any] = field(default_factory=list)
    members: list[Any] = field(default_factory=list)
    #: per household, its members' (blind index, masked ID number): duplicate persons are looked up by them
    persons: list[list[tuple[str, str]]] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.numbers)
