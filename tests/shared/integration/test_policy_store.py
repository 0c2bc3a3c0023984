"""The policy store refuses, when a version is written, a combination the service's loaders would
refuse: the new version layered with those already in force, in every region of its scope and on
every day another version of that scope starts or ends within its period."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal
from shared.db import make_engine
from shared.errors import Unprocessable
from shared.policy import ResolvedPolicy, parse_policy_document
from shared.policy_store import PolicyStore, PolicyVersionCreate, policy_versions_table

pytestmark = pytest.mark.sqlite_only

ADMIN = Principal(sub="admin-1", role="admin", region="")


def _shipped(vid: str, prefix: str, start: str, end: str | None = None, **params: object) -> object:
    return parse_policy_document(
        {
            "id": vid,
            "service": "demo",
            "region_prefix": prefix,
            "effective_from": start,
            "effective_to": end,
            "version": "1",
            "source": "test",
            "parameters": {k: {"value": v, "source": "test"} for k, v in params.items()},
        }
    )


def _low_not_above_high(resolved: ResolvedPolicy) -> list[tuple[str, str]]:
    low, high = resolved.get("low"), resolved.get("high")
    if low is not None and high is not None and Decimal(low) > Decimal(high):
        return [("low", f"must not exceed high ({high})")]
    return []


async def _store(tmp_path: Path, *shipped: object) -> tuple[PolicyStore, object]:
    metadata = sa.MetaData()
    table = policy_versions_table(metadata)
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    store = PolicyStore(
        service="demo",
        shipped=shipped,  # type: ignore[arg-type]
        table=table,
        known_parameters={"low", "high", "tiers"},
        validate_resolved=_low_not_above_high,
    )
    return store, engine


def _body(prefix: str, start: str, end: str | None = None, **params: object) -> PolicyVersionCreate:
    return PolicyVersionCreate(
        service="demo",
        region_prefix=prefix,
        effective_from=dt.date.fromisoformat(start),
        effective_to=None if end is None else dt.date.fromisoformat(end),
        parameters=params,
        source="县政府通知",
    )


async def _add(store: PolicyStore, engine: object, body: PolicyVersionCreate) -> object:
    async with engine.begin() as conn:  # type: ignore[attr-defined]
        session = AsyncSession(bind=conn)
        return await store.add(session, body, ADMIN)


async def test_a_combination_refused_in_the_region_itself(tmp_path: Path) -> None:
    store, engine = await _store(tmp_path, _shipped("prov", "34", "2020-01-01", low=1, high=5))
    with pytest.raises(Unprocessable) as refused:
        await _add(store, engine, _body("341221", "2021-01-01", low=6))
    assert [(e["path"], e["message"]) for e in refused.value.extra["errors"]] == [
        ("parameters.low", "must not exceed high (5)")
    ]
    added = await _add(store, engine, _body("341221", "2021-01-01", low=5))
    assert added.parameters["low"].value == Decimal(5)  # type: ignore[attr-defined]


async def test_a_combination_refused_in_a_more_specific_region_and_on_a_later_day(tmp_path: Path) -> None:
    store, engine = await _store(
        tmp_path,
        _shipped("prov", "34", "2020-01-01", low=1, high=9),
        _shipped("county", "341221", "2022-01-01", high=3),
    )
    with pytest.raises(Unprocessable) as refused:
        await _add(store, engine, _body("34", "2021-01-01", low=4))
    [error] = refused.value.extra["errors"]
    assert error["path"] == "parameters.low"
    assert error["message"] == "must not exceed high (3) (in force for 341221 on 2022-01-01)"
    # the same version ending before the county's starts is fine
    await _add(store, engine, _body("34", "2021-01-01", "2021-12-31", low=4))


async def test_numbers_inside_structured_values_are_decimals_and_survive_storage(tmp_path: Path) -> None:
    store, engine = await _store(tmp_path, _shipped("prov", "34", "2020-01-01", low=1, high=9))
    await _add(
        store, engine, _body("341221", "2021-01-01", tiers=[{"from": 1, "share": 0.3}, {"from": 6, "share": "0.33"}])
    )
    store.invalidate()
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        versions = await store.versions(AsyncSession(bind=conn))
    [added] = [v for v in versions if v.region_prefix == "341221"]
    assert added.parameters["tiers"].value == [
        {"from": 1, "share": Decimal("0.3")},
        {"from": 6, "share": Decimal("0.33")},
    ]
