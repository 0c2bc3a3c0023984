"""The repositories and queries of registration and its procedures (households, imports,
applications, assessments, cases, duplicates, negative flags, DCI), as properties of the
identification unit of work over its one session (`adapters/unit_of_work.py`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["RegistrationRepositories"]


class RegistrationRepositories:
    session: AsyncSession
