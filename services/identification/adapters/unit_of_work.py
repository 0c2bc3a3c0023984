"""Identification's unit of work: one transaction (shared.db.UnitOfWork: session, outbox
events, commit) whose properties are the service's repositories and queries — what the use
cases see through the `Work` Protocols of `application/ports.py`."""

from __future__ import annotations

from services.identification.adapters.work_monitoring import MonitoringRepositories
from services.identification.adapters.work_registration import RegistrationRepositories
from shared.db import UnitOfWork

__all__ = ["IdentificationUnitOfWork"]


class IdentificationUnitOfWork(RegistrationRepositories, MonitoringRepositories, UnitOfWork):
    pass
