"""What the dibao / 特困 use cases need from the outside, as Protocols: the unit of work with its
repositories (SQL lives in `adapters/`), the policy in force, and the county's household
economic-situation check system (居民家庭经济状况核对, HTTP or file drop-in)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from services.civil_affairs.domain.applications import Application
from services.civil_affairs.domain.economic_check import CheckRecord, CheckResult
from services.civil_affairs.domain.enrolments import Enrolment
from services.civil_affairs.domain.programmes import ProgrammePolicy
from shared.events import Event

__all__ = [
    "ApplicationsRepository",
    "ChecksRepository",
    "EconomicCheck",
    "EnrolmentsRepository",
    "PaymentOrder",
    "PaymentsRepository",
    "StaleVersion",
    "Work",
]


class StaleVersion(Exception):
    """Another writer changed the aggregate since it was read (optimistic concurrency)."""


@dataclass(frozen=True, slots=True)
class PaymentOrder:
    id: str  # payment_id
    enrolment_id: str
    period: str
    kind: str
    household_id: str
    region_code: str
    status: str  # ordered | recorded
    inputs: Mapping[str, Any]
    funding_source: str
    created_at: dt.datetime
    amount: str | None = None
    decision_id: str | None = None
    decision_state: str | None = None
    recorded_at: dt.datetime | None = None


class ApplicationsRepository(Protocol):
    async def add(self, app: Application, sealed_members: Sequence[str]) -> None:
        """`sealed_members`: the members' ID numbers, encrypted (FieldCipher), in member order."""
        ...

    async def sealed_members(self, application_id: str) -> list[str]: ...
    async def get(self, application_id: str) -> Application | None: ...
    async def save(self, app: Application, *, expected_version: int) -> None: ...
    async def page(
        self,
        *,
        region_prefix: str,
        state: str | None,
        programme: str | None,
        household_id: str | None,
        submitter_index: str | None,
        page: int,
        page_size: int,
    ) -> tuple[list[Application], int]: ...


class ChecksRepository(Protocol):
    async def add(self, check: CheckRecord) -> None: ...
    async def get(self, check_id: str) -> CheckRecord | None: ...
    async def save(self, check: CheckRecord) -> None: ...
    async def open_checks(self) -> list[CheckRecord]: ...


class EnrolmentsRepository(Protocol):
    async def add(self, e: Enrolment) -> None: ...
    async def get(self, enrolment_id: str) -> Enrolment | None: ...
    async def save(self, e: Enrolment, *, expected_version: int) -> None: ...
    async def page(
        self,
        *,
        region_prefix: str,
        status: str | None,
        programme: str | None,
        household_id: str | None,
        page: int,
        page_size: int,
    ) -> tuple[list[Enrolment], int]: ...
    async def due_for_recheck(self, *, region_prefix: str, before: dt.date) -> list[Enrolment]: ...
    async def open_in(self, *, region_prefix: str) -> list[Enrolment]: ...
    async def open_for_household(self, household_id: str) -> list[Enrolment]: ...


class PaymentsRepository(Protocol):
    async def add(self, order: PaymentOrder) -> bool:
        """False when the enrolment already has an order for the period (idempotent run)."""
        ...

    async def get(self, payment_id: str) -> PaymentOrder | None: ...
    async def mark_recorded(
        self, payment_id: str, *, decision_id: str, decision_state: str, amount: str, at: dt.datetime
    ) -> None: ...
    async def page(
        self, *, region_prefix: str, period: str | None, enrolment_id: str | None, page: int, page_size: int
    ) -> tuple[list[PaymentOrder], int]: ...


class Work(Protocol):
    """One use case = one transaction: the repositories, the events to publish with it, and the
    policy in force (read in the same transaction)."""

    @property
    def applications(self) -> ApplicationsRepository: ...
    @property
    def checks(self) -> ChecksRepository: ...
    @property
    def enrolments(self) -> EnrolmentsRepository: ...
    @property
    def payments(self) -> PaymentsRepository: ...

    def add_event(self, event: Event) -> None: ...
    async def policy(self, region_code: str, on: dt.date) -> ProgrammePolicy: ...
    async def commit(self, result: Any = None) -> None:
        """Commit the change; `result` is what the use case answers (kept with an idempotency key)."""
        ...


class EconomicCheck(Protocol):
    """A county's check system. `send` delivers the request (with the ID numbers the query needs,
    under the applicant's authorisation) and returns the system's reference if it gives one;
    `poll` returns the result once there is one (None while pending)."""

    kind: str

    async def send(self, check: CheckRecord, request: Mapping[str, Any]) -> str | None: ...
    async def poll(self, check: CheckRecord) -> CheckResult | None: ...
    async def forget(self, check: CheckRecord) -> None:
        """The result is stored: drop what the exchange still holds (request/result files)."""
        ...
