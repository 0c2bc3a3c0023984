"""The assistance unit of work: the shared one (one session, outbox on commit) with the
repositories and read queries of `application/ports.py` over its session."""

from __future__ import annotations

from shared.db import UnitOfWork

from .employment_repo import EmploymentRepository
from .job_offers_repo import JobOffersRepository
from .queries import AssistanceReads
from .repository import (
    AlertRepository,
    ContactRepository,
    HouseholdRepository,
    MeasureRepository,
    PlanRepository,
    VisitRepository,
)

__all__ = ["AssistanceUnitOfWork", "assistance_work"]


class AssistanceUnitOfWork(UnitOfWork):
    """`application.ports.Work` over SQLAlchemy (set as `ServiceSpec.unit_of_work`)."""

    @property
    def households(self) -> HouseholdRepository:
        return HouseholdRepository(self.session)

    @property
    def plans(self) -> PlanRepository:
        return PlanRepository(self.session)

    @property
    def measures(self) -> MeasureRepository:
        return MeasureRepository(self.session)

    @property
    def contacts(self) -> ContactRepository:
        return ContactRepository(self.session)

    @property
    def visits(self) -> VisitRepository:
        return VisitRepository(self.session)

    @property
    def employment(self) -> EmploymentRepository:
        return EmploymentRepository(self.session)

    @property
    def job_offers(self) -> JobOffersRepository:
        return JobOffersRepository(self.session)

    @property
    def alerts(self) -> AlertRepository:
        return AlertRepository(self.session)

    @property
    def reads(self) -> AssistanceReads:
        return AssistanceReads(self.session)


def assistance_work(uow: UnitOfWork) -> AssistanceUnitOfWork:
    """The unit of work the service context hands out (typed as the shared base class there) as
    the assistance one it is."""
    if not isinstance(uow, AssistanceUnitOfWork):
        raise TypeError(f"expected the assistance unit of work, got {type(uow).__name__}")
    return uow
