"""SQL of the DCI exchange: partners, transactions, subscriptions, outbound messages, and the
household search behind `/registry/search` (jurisdiction, filters, offset pages and the total)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.dci_orm import dci_outbound, dci_partners, dci_subscriptions, dci_transactions
from services.identification.adapters.households import get_household
from services.identification.adapters.orm import household_outcomes, households, members
from services.identification.adapters.orm_cases import risk_warnings
from services.identification.adapters.orm_loops import household_loops
from services.identification.adapters.registry import WARNING_COLOUR
from services.identification.application.stored import Outbound, Partner, Subscription, Transaction
from services.identification.domain.dci import HouseholdView, MemberView, SearchQuery
from shared.db import insert_ignoring_duplicates
from shared.pii import FieldCipher, mask_phone

__all__ = ["DciRepository", "Outbound", "Partner", "Subscription", "Transaction"]


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _utc(value: dt.datetime) -> dt.datetime:
    """Stored in UTC: SQLite keeps the wall time without its offset, read back as UTC."""
    return value.astimezone(dt.UTC)


def _utc_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _utc(v) if isinstance(v, dt.datetime) else v for k, v in values.items()}


_FROM = (
    households.outerjoin(household_outcomes, household_outcomes.c.household_id == households.c.id)
    .outerjoin(risk_warnings, risk_warnings.c.household_id == households.c.id)
    .outerjoin(household_loops, household_loops.c.household_id == households.c.id)
)


class DciRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # partners --------------------------------------------------------------------------------

    async def get_partner(self, sender_id: str) -> Partner | None:
        row = (await self.session.execute(sa.select(dci_partners).where(dci_partners.c.sender_id == sender_id))).first()
        return None if row is None else _partner(row)

    async def list_partners(self) -> list[Partner]:
        rows = (await self.session.execute(sa.select(dci_partners).order_by(dci_partners.c.sender_id))).all()
        return [_partner(r) for r in rows]

    async def put_partner(
        self, *, sender_id: str, name: str, client_sub: str, jwks: dict[str, Any], by: str, at: dt.datetime
    ) -> None:
        values = {"name": name, "client_sub": client_sub, "jwks": json.dumps(jwks), "updated_at": _utc(at)}
        done = await self.session.execute(
            sa.update(dci_partners).where(dci_partners.c.sender_id == sender_id).values(**values)
        )
        if not done.rowcount:  # type: ignore[attr-defined]
            await self.session.execute(
                sa.insert(dci_partners).values(sender_id=sender_id, created_by=by, created_at=_utc(at), **values)
            )

    # transactions ----------------------------------------------------------------------------

    async def find_transaction(self, sender_id: str, kind: str, transaction_id: str) -> Transaction | None:
        t = dci_transactions
        row = (
            await self.session.execute(
                sa.select(t).where(t.c.sender_id == sender_id, t.c.kind == kind, t.c.transaction_id == transaction_id)
            )
        ).first()
        return None if row is None else _transaction(row)

    async def get_transaction(self, correlation_id: str) -> Transaction | None:
        row = (
            await self.session.execute(sa.select(dci_transactions).where(dci_transactions.c.id == correlation_id))
        ).first()
        return None if row is None else _transaction(row)

    async def recent_transactions(self, sender_id: str, kind: str, *, limit: int = 500) -> list[Transaction]:
        t = dci_transactions
        rows = (
            await self.session.execute(
                sa.select(t)
                .where(t.c.sender_id == sender_id, t.c.kind == kind)
                .order_by(t.c.created_at.desc())
                .limit(limit)
            )
        ).all()
        return [_transaction(r) for r in rows]

    async def add_transaction(self, **values: Any) -> None:
        values["summary"] = json.dumps(values.get("summary") or {}, ensure_ascii=False)
        values.setdefault("updated_at", values["created_at"])
        await self.session.execute(sa.insert(dci_transactions).values(**_utc_values(values)))

    async def finish_transaction(
        self, correlation_id: str, *, status: str, summary: dict[str, Any], at: dt.datetime
    ) -> None:
        """The answer is in: its summary stays, the request (which may hold an ID number) goes."""
        await self.session.execute(
            sa.update(dci_transactions)
            .where(dci_transactions.c.id == correlation_id)
            .values(
                status=status, summary=json.dumps(summary, ensure_ascii=False), request_enc=None, updated_at=_utc(at)
            )
        )

    # subscriptions ---------------------------------------------------------------------------

    async def add_subscription(self, **values: Any) -> None:
        values["criteria"] = json.dumps(values.get("criteria") or {}, ensure_ascii=False)
        values.setdefault("updated_at", values["created_at"])
        await self.session.execute(sa.insert(dci_subscriptions).values(**_utc_values(values)))

    async def active_subscription(self, sender_id: str, reg_event_type: str, region: str) -> str | None:
        s = dci_subscriptions
        return (
            await self.session.execute(
                sa.select(s.c.code).where(
                    s.c.sender_id == sender_id,
                    s.c.reg_event_type == reg_event_type,
                    s.c.region == region,
                    s.c.status == "subscribe",
                )
            )
        ).scalar()

    async def subscriptions(self, codes: Sequence[str]) -> dict[str, Subscription]:
        rows = (
            await self.session.execute(sa.select(dci_subscriptions).where(dci_subscriptions.c.code.in_(list(codes))))
        ).all()
        return {r.code: _subscription(r) for r in rows}

    async def set_subscription_status(self, codes: Sequence[str], status: str, at: dt.datetime) -> None:
        await self.session.execute(
            sa.update(dci_subscriptions)
            .where(dci_subscriptions.c.code.in_(list(codes)))
            .values(status=status, updated_at=_utc(at))
        )

    async def subscribers_of(self, reg_event_type: str) -> list[Subscription]:
        s = dci_subscriptions
        rows = (
            await self.session.execute(
                sa.select(s).where(s.c.reg_event_type == reg_event_type, s.c.status == "subscribe").order_by(s.c.code)
            )
        ).all()
        return [_subscription(r) for r in rows]

    # outbound messages -----------------------------------------------------------------------

    async def queue_outbound(self, **values: Any) -> bool:
        """Insert one message to send; False when a message with this id is already queued."""
        dialect = self.session.get_bind().dialect.name
        row = _utc_values(
            {"status": "pending", "delivered_at": None, "event_id": None, "subscription_code": None, **values}
        )
        stmt = insert_ignoring_duplicates(dialect, dci_outbound, [row]).returning(dci_outbound.c.id)
        return (await self.session.execute(stmt)).first() is not None

    async def get_outbound(self, outbound_id: str) -> Outbound | None:
        row = (await self.session.execute(sa.select(dci_outbound).where(dci_outbound.c.id == outbound_id))).first()
        if row is None:
            return None
        return Outbound(row.id, row.action, row.receiver_id, row.url, bytes(row.message_enc), row.status)

    async def mark_delivered(self, outbound_id: str, at: dt.datetime) -> None:
        await self.session.execute(
            sa.update(dci_outbound)
            .where(dci_outbound.c.id == outbound_id)
            .values(status="delivered", delivered_at=_utc(at))
        )

    # households ------------------------------------------------------------------------------

    async def search_households(
        self, *, region: str, query: SearchQuery, id_number_index: str | None
    ) -> tuple[int, list[str]]:
        """(total, ids of the page) of the households within `region` ("" = everywhere) that
        match `query`, in its sort order (then by id)."""
        h = households
        where: list[Any] = []
        if region:
            where += [h.c.region_code >= region, h.c.region_code < region + ":"]  # ":" follows "9"
        if id_number_index is not None:
            where.append(
                h.c.id.in_(sa.select(members.c.household_id).where(members.c.id_number_index == id_number_index))
            )
        if query.household_id is not None:
            where.append(h.c.id == query.household_id)
        if query.household_number is not None:
            where.append(h.c.household_number == query.household_number)
        if query.statuses:
            where.append(h.c.status.in_(query.statuses))
        if query.category is not None:
            where.append(household_outcomes.c.category == query.category)
        if query.warning is not None:
            where.append(query.warning == WARNING_COLOUR)
        total = (await self.session.execute(sa.select(sa.func.count()).select_from(_FROM).where(*where))).scalar_one()
        column = h.c[query.sort_column]
        order = [column.desc() if query.sort_desc else column.asc(), h.c.id.asc()]
        ids = (
            await self.session.execute(
                sa.select(h.c.id)
                .select_from(_FROM)
                .where(*where)
                .order_by(*order)
                .offset(query.offset)
                .limit(query.page_size)
            )
        ).scalars()
        return int(total), list(ids)

    async def household_views(
        self, ids: Sequence[str], *, cipher: FieldCipher | None, reveal: bool
    ) -> list[HouseholdView]:
        """The households in `ids` order. Members' clear ID numbers and names only with `reveal`
        (read with the cipher); the phone masked unless `reveal`; nothing personal without cipher."""
        if not ids:
            return []
        times = {
            r.id: (r.created_at, r.updated_at)
            for r in (
                await self.session.execute(
                    sa.select(households.c.id, households.c.created_at, households.c.updated_at).where(
                        households.c.id.in_(list(ids))
                    )
                )
            ).all()
        }
        out: list[HouseholdView] = []
        for hid in ids:
            stored = await get_household(self.session, hid, cipher=cipher)
            if stored is None:
                continue
            created, updated = times.get(hid, (None, None))
            ms = tuple(
                MemberView(
                    position=m.position,
                    relation=m.relation,
                    sex=m.sex,
                    birth_date=m.birth_date,
                    disability_grade=m.disability_grade,
                    disability_kind=m.disability_kind,
                    id_number_masked=m.id_number_masked,
                    id_number=m.id_number if reveal else None,
                    name=m.name if reveal else None,
                )
                for m in stored.members
            )
            out.append(
                HouseholdView(
                    id=stored.id,
                    household_number=stored.household_number,
                    region_code=stored.region_code,
                    status=stored.status,
                    category=stored.category,
                    low_income_category=stored.low_income_category,
                    warning=stored.warning,
                    dibao_status=stored.dibao_status,
                    registered_on=_aware(created).date() if created else None,
                    updated_at=_aware(updated) if updated else None,
                    members=ms,
                    phone_masked=mask_phone(stored.phone) if stored.phone else None,
                    phone=stored.phone if reveal else None,
                )
            )
        return out


def _partner(row: Any) -> Partner:
    return Partner(
        row.sender_id, row.name, row.client_sub, json.loads(row.jwks), _aware(row.created_at), _aware(row.updated_at)
    )


def _transaction(row: Any) -> Transaction:
    return Transaction(
        id=row.id,
        sender_id=row.sender_id,
        transaction_id=row.transaction_id,
        kind=row.kind,
        status=row.status,
        caller_sub=row.caller_sub,
        caller_role=row.caller_role,
        caller_region=row.caller_region,
        sender_uri=row.sender_uri,
        request_enc=bytes(row.request_enc) if row.request_enc is not None else None,
        summary=json.loads(row.summary),
        created_at=_aware(row.created_at),
    )


def _subscription(row: Any) -> Subscription:
    return Subscription(
        code=row.code,
        sender_id=row.sender_id,
        owner_region=row.owner_region,
        region=row.region,
        reg_event_type=row.reg_event_type,
        notify_uri=row.notify_uri,
        status=row.status,
        transaction_id=row.transaction_id,
        created_at=_aware(row.created_at),
    )
