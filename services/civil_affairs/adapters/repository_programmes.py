"""SQL for the dibao / 特困 procedure: the repositories behind `application.ports` (reached as
properties of `adapters.unit_of_work.CivilAffairsUnitOfWork`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.civil_affairs.adapters.orm_programmes import (
    applications,
    economic_checks,
    enrolment_payments,
    enrolments,
)
from services.civil_affairs.application.ports import PaymentOrder, StaleVersion
from services.civil_affairs.domain import enrolments as enrol_domain
from services.civil_affairs.domain.applications import Application, ApplicationState, Limits
from services.civil_affairs.domain.economic_check import CheckRecord, CheckResult
from services.civil_affairs.domain.enrolments import Enrolment
from services.civil_affairs.domain.programmes import CategoryDecision, HouseholdFacts, Programme
from shared.db import insert_ignoring_duplicates, utcnow

__all__ = ["SqlApplications", "SqlChecks", "SqlEnrolments", "SqlPayments"]


def _aware(v: dt.datetime) -> dt.datetime:
    return v if v.tzinfo else v.replace(tzinfo=dt.UTC)


def _dumps(d: Any) -> str:
    return json.dumps(d, ensure_ascii=False, default=str, separators=(",", ":"))


# --------------------------------------------------------------------------- applications


def _app_doc(a: Application) -> dict[str, Any]:
    return {
        "id": a.id,
        "programme": str(a.programme),
        "region_code": a.region_code,
        "household_id": a.household_id,
        "state": str(a.state),
        "submitted_at": a.submitted_at.isoformat(),
        "state_since": a.state_since.isoformat(),
        "facts": a.facts.to_doc(),
        "decision": a.decision.to_doc(),
        "limits": a.limits.to_doc(),
        "submitter_role": a.submitter_role,
        "submitter_index": a.submitter_index,
        "history": list(a.history),
        "notice_posted_on": a.notice_posted_on.isoformat() if a.notice_posted_on else None,
        "check": a.check,
        "version": a.version,
    }


def _decision(d: dict[str, Any]) -> CategoryDecision:
    return CategoryDecision(
        programme=Programme(d["programme"]),
        eligible=bool(d["eligible"]),
        rule=d["rule"],
        source=d["source"],
        explanation=d["explanation"],
        per_capita_income_annual=Decimal(d["per_capita_income_annual"]),
        covered=tuple(d.get("covered", ())),
        policy_id=d.get("policy_id", ""),
        policy_version=d.get("policy_version", ""),
        inputs=dict(d.get("inputs", {})),
    )


def _app(doc: str) -> Application:
    d = json.loads(doc)
    return Application(
        id=d["id"],
        programme=Programme(d["programme"]),
        region_code=d["region_code"],
        household_id=d["household_id"],
        state=ApplicationState(d["state"]),
        submitted_at=dt.datetime.fromisoformat(d["submitted_at"]),
        state_since=dt.date.fromisoformat(d["state_since"]),
        facts=HouseholdFacts.from_doc(d["facts"]),
        decision=_decision(d["decision"]),
        limits=Limits.from_doc(d["limits"]),
        submitter_role=d["submitter_role"],
        submitter_index=d["submitter_index"],
        history=tuple(d["history"]),
        notice_posted_on=dt.date.fromisoformat(d["notice_posted_on"]) if d.get("notice_posted_on") else None,
        check=d.get("check"),
        version=int(d["version"]),
    )


class SqlApplications:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, app: Application, sealed_members: Sequence[str]) -> None:
        now = utcnow()
        await self.s.execute(
            sa.insert(applications).values(
                id=app.id,
                household_id=app.household_id,
                region_code=app.region_code,
                programme=str(app.programme),
                state=str(app.state),
                submitter_index=app.submitter_index,
                deadline=app.deadline,
                sealed_members=json.dumps(list(sealed_members)),
                version=app.version,
                created_at=now,
                updated_at=now,
                doc=_dumps(_app_doc(app)),
            )
        )

    async def sealed_members(self, application_id: str) -> list[str]:
        raw = (
            await self.s.execute(sa.select(applications.c.sealed_members).where(applications.c.id == application_id))
        ).scalar_one_or_none()
        return list(json.loads(raw)) if raw else []

    async def get(self, application_id: str) -> Application | None:
        doc = (
            await self.s.execute(sa.select(applications.c.doc).where(applications.c.id == application_id))
        ).scalar_one_or_none()
        return _app(doc) if doc else None

    async def save(self, app: Application, *, expected_version: int) -> None:
        res = await self.s.execute(
            sa.update(applications)
            .where(applications.c.id == app.id, applications.c.version == expected_version)
            .values(
                state=str(app.state),
                household_id=app.household_id,
                deadline=app.deadline,
                version=app.version,
                updated_at=utcnow(),
                doc=_dumps(_app_doc(app)),
            )
        )
        if res.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleVersion(app.id)

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
    ) -> tuple[list[Application], int]:
        c = applications.c
        conds: list[Any] = []
        if region_prefix:
            conds.append(c.region_code.startswith(region_prefix, autoescape=True))
        if state:
            conds.append(c.state.in_([s.strip() for s in state.split(",") if s.strip()]))
        if programme:
            conds.append(c.programme == programme)
        if household_id:
            conds.append(c.household_id == household_id)
        if submitter_index is not None:
            conds.append(c.submitter_index == submitter_index)
        total = (await self.s.execute(sa.select(sa.func.count()).select_from(applications).where(*conds))).scalar_one()
        rows = (
            await self.s.execute(
                sa.select(c.doc)
                .where(*conds)
                .order_by(c.created_at.desc(), c.id)
                .limit(page_size)
                .offset((page - 1) * page_size)
            )
        ).scalars()
        return [_app(d) for d in rows], int(total)


# --------------------------------------------------------------------------- economic checks


def _check(r: Any) -> CheckRecord:
    return CheckRecord(
        id=r.id,
        application_id=r.application_id,
        county=r.county,
        adapter=r.adapter,
        status=r.status,
        requested_at=_aware(r.requested_at),
        due_on=r.due_on,
        request=json.loads(r.request),
        sent_at=_aware(r.sent_at) if r.sent_at else None,
        reference=r.reference,
        result=CheckResult.from_doc(json.loads(r.result)) if r.result else None,
    )


class SqlChecks:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, check: CheckRecord) -> None:
        await self.s.execute(
            sa.insert(economic_checks).values(
                id=check.id,
                application_id=check.application_id,
                county=check.county,
                adapter=check.adapter,
                status=check.status,
                requested_at=check.requested_at,
                sent_at=check.sent_at,
                due_on=check.due_on,
                reference=check.reference,
                request=_dumps(dict(check.request)),
                result=None,
                updated_at=utcnow(),
            )
        )

    async def get(self, check_id: str) -> CheckRecord | None:
        r = (await self.s.execute(sa.select(economic_checks).where(economic_checks.c.id == check_id))).first()
        return _check(r) if r else None

    async def save(self, check: CheckRecord) -> None:
        await self.s.execute(
            sa.update(economic_checks)
            .where(economic_checks.c.id == check.id)
            .values(
                status=check.status,
                sent_at=check.sent_at,
                reference=check.reference,
                result=_dumps(check.result.to_doc()) if check.result else None,
                updated_at=utcnow(),
            )
        )

    async def open_checks(self) -> list[CheckRecord]:
        rows = (
            await self.s.execute(
                sa.select(economic_checks)
                .where(economic_checks.c.status == "pending")
                .order_by(economic_checks.c.requested_at)
                .limit(500)
            )
        ).all()
        return [_check(r) for r in rows]


# --------------------------------------------------------------------------- enrolments


class SqlEnrolments:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, e: Enrolment) -> None:
        now = utcnow()
        await self.s.execute(
            sa.insert(enrolments).values(
                id=e.id,
                household_id=e.household_id,
                region_code=e.region_code,
                programme=str(e.programme),
                status=str(e.status),
                next_recheck_on=e.next_recheck_on,
                version=e.version,
                created_at=now,
                updated_at=now,
                doc=_dumps(enrol_domain.to_doc(e)),
            )
        )

    async def get(self, enrolment_id: str) -> Enrolment | None:
        doc = (
            await self.s.execute(sa.select(enrolments.c.doc).where(enrolments.c.id == enrolment_id))
        ).scalar_one_or_none()
        return enrol_domain.from_doc(json.loads(doc)) if doc else None

    async def save(self, e: Enrolment, *, expected_version: int) -> None:
        res = await self.s.execute(
            sa.update(enrolments)
            .where(enrolments.c.id == e.id, enrolments.c.version == expected_version)
            .values(
                status=str(e.status),
                next_recheck_on=e.next_recheck_on,
                version=e.version,
                updated_at=utcnow(),
                doc=_dumps(enrol_domain.to_doc(e)),
            )
        )
        if res.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleVersion(e.id)

    def _conds(self, region_prefix: str) -> list[Any]:
        return [enrolments.c.region_code.startswith(region_prefix, autoescape=True)] if region_prefix else []

    async def page(
        self,
        *,
        region_prefix: str,
        status: str | None,
        programme: str | None,
        household_id: str | None,
        page: int,
        page_size: int,
    ) -> tuple[list[Enrolment], int]:
        c = enrolments.c
        conds = self._conds(region_prefix)
        if status:
            conds.append(c.status.in_([s.strip() for s in status.split(",") if s.strip()]))
        if programme:
            conds.append(c.programme == programme)
        if household_id:
            conds.append(c.household_id == household_id)
        total = (await self.s.execute(sa.select(sa.func.count()).select_from(enrolments).where(*conds))).scalar_one()
        rows = (
            await self.s.execute(
                sa.select(c.doc)
                .where(*conds)
                .order_by(c.created_at, c.id)
                .limit(page_size)
                .offset((page - 1) * page_size)
            )
        ).scalars()
        return [enrol_domain.from_doc(json.loads(d)) for d in rows], int(total)

    async def due_for_recheck(self, *, region_prefix: str, before: dt.date) -> list[Enrolment]:
        c = enrolments.c
        rows = (
            await self.s.execute(
                sa.select(c.doc)
                .where(*self._conds(region_prefix), c.status.in_(["active", "suspended"]), c.next_recheck_on <= before)
                .order_by(c.next_recheck_on, c.id)
                .limit(1000)
            )
        ).scalars()
        return [enrol_domain.from_doc(json.loads(d)) for d in rows]

    async def open_in(self, *, region_prefix: str) -> list[Enrolment]:
        c = enrolments.c
        rows = (
            await self.s.execute(
                sa.select(c.doc)
                .where(*self._conds(region_prefix), c.status.in_(["active", "gradual_exit", "voluntary_exit"]))
                .order_by(c.id)
            )
        ).scalars()
        return [enrol_domain.from_doc(json.loads(d)) for d in rows]

    async def open_for_household(self, household_id: str) -> list[Enrolment]:
        c = enrolments.c
        rows = (
            await self.s.execute(sa.select(c.doc).where(c.household_id == household_id, c.status != "exited"))
        ).scalars()
        return [enrol_domain.from_doc(json.loads(d)) for d in rows]


# --------------------------------------------------------------------------- payment orders


def _order(r: Any) -> PaymentOrder:
    return PaymentOrder(
        id=r.id,
        enrolment_id=r.enrolment_id,
        period=r.period,
        kind=r.kind,
        household_id=r.household_id,
        region_code=r.region_code,
        status=r.status,
        inputs=json.loads(r.inputs),
        funding_source=r.funding_source,
        created_at=_aware(r.created_at),
        amount=r.amount,
        decision_id=r.decision_id,
        decision_state=r.decision_state,
        recorded_at=_aware(r.recorded_at) if r.recorded_at else None,
    )


class SqlPayments:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, order: PaymentOrder) -> bool:
        row = {
            "id": order.id,
            "enrolment_id": order.enrolment_id,
            "period": order.period,
            "kind": order.kind,
            "household_id": order.household_id,
            "region_code": order.region_code,
            "status": order.status,
            "inputs": _dumps(dict(order.inputs)),
            "funding_source": order.funding_source,
            "created_at": order.created_at,
        }
        stmt = insert_ignoring_duplicates(self.s.get_bind().dialect.name, enrolment_payments, [row]).returning(
            enrolment_payments.c.id
        )
        return (await self.s.execute(stmt)).first() is not None

    async def get(self, payment_id: str) -> PaymentOrder | None:
        r = (await self.s.execute(sa.select(enrolment_payments).where(enrolment_payments.c.id == payment_id))).first()
        return _order(r) if r else None

    async def mark_recorded(
        self, payment_id: str, *, decision_id: str, decision_state: str, amount: str, at: dt.datetime
    ) -> None:
        await self.s.execute(
            sa.update(enrolment_payments)
            .where(enrolment_payments.c.id == payment_id)
            .values(
                status="recorded", decision_id=decision_id, decision_state=decision_state, amount=amount, recorded_at=at
            )
        )

    async def page(
        self, *, region_prefix: str, period: str | None, enrolment_id: str | None, page: int, page_size: int
    ) -> tuple[list[PaymentOrder], int]:
        c = enrolment_payments.c
        conds: list[Any] = [c.region_code.startswith(region_prefix, autoescape=True)] if region_prefix else []
        if period:
            conds.append(c.period == period)
        if enrolment_id:
            conds.append(c.enrolment_id == enrolment_id)
        total = (
            await self.s.execute(sa.select(sa.func.count()).select_from(enrolment_payments).where(*conds))
        ).scalar_one()
        rows = (
            await self.s.execute(
                sa.select(enrolment_payments)
                .where(*conds)
                .order_by(c.period.desc(), c.id)
                .limit(page_size)
                .offset((page - 1) * page_size)
            )
        ).all()
        return [_order(r) for r in rows], int(total)
