"""Applications over HTTP against a real database and NATS: Idempotency-Key (replay, different
body, in progress, concurrent), consent, one open application per household, citizen scope."""

from __future__ import annotations

import asyncio
import datetime as dt

import sqlalchemy as sa

from services.identification.adapters.orm_cases import applications
from services.identification.api.applications import ApplicationCreate
from shared.auth import Principal
from shared.idempotency import request_hash, scope_for
from tests.identification.integration.test_cases_support import (
    OTHER_VILLAGE,
    TOWNSHIP,
    VILLAGE,
    Service,
    application,
    household,
    id_number,
    service,
)

__all__ = ["service"]


async def _count(svc: Service) -> int:
    engine = svc.client.app.state.ctx.engine  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(applications))).scalar_one())


async def test_citizen_self_application_and_who_sees_it(service: Service) -> None:
    head, spouse = id_number(), id_number("19850505")
    me = service.citizen(head)
    r = await service.apply(application(ids=[head, spouse]), me)
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) >= {"id", "status", "case_id", "household_id"}
    assert body["status"] == "submitted"
    assert head not in r.text
    app_id = body["id"]
    mine = await service.client.get(f"/api/v1/applications/{app_id}", headers=me)
    assert mine.status_code == 200, mine.text
    assert mine.json()["history"][0]["action"] == "submit"
    assert head not in mine.text  # the citizen's own ID number is masked in the history
    member = await service.client.get(f"/api/v1/applications/{app_id}", headers=service.citizen(spouse))
    assert member.status_code == 200
    stranger = await service.client.get(f"/api/v1/applications/{app_id}", headers=service.citizen(id_number()))
    assert stranger.status_code == 404
    assert (
        await service.client.get(f"/api/v1/applications/{app_id}", headers=service.headers("township", TOWNSHIP))
    ).status_code == 200
    other = await service.client.get(
        f"/api/v1/applications/{app_id}", headers=service.headers("village", OTHER_VILLAGE)
    )
    assert other.status_code == 404
    case = await service.case(body["case_id"], me)
    assert case.status_code == 200
    assert case.json()["allowed_actions"] == []
    refused = await service.act(body["case_id"], me, action="advance")
    assert refused.status_code == 409
    assert refused.json()["code"] == "role_not_allowed"


async def test_same_key_same_body_replays_different_body_is_422(service: Service) -> None:
    h = service.headers("village", VILLAGE)
    body = application()
    first = await service.apply(body, h, key="k-1")
    again = await service.apply(body, h, key="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    changed = dict(body, reason="另一个理由")
    r = await service.apply(changed, h, key="k-1")
    assert r.status_code == 422
    assert r.json()["code"] == "idempotency_key_reused"
    # keys are scoped by caller: another officer's "k-1" is a different request
    other = await service.apply(application(), service.headers("village", VILLAGE, sub="another-officer"), key="k-1")
    assert other.status_code == 201
    assert await _count(service) == 2
    missing = await service.client.post("/api/v1/applications", json=application(), headers=h)
    assert missing.status_code == 422


async def test_in_progress_key_is_409_and_concurrent_requests_create_one(service: Service) -> None:
    h = service.headers("village", VILLAGE)
    ctx = service.client.app.state.ctx  # type: ignore[attr-defined]
    table = ctx.tables["idempotency_keys"]
    principal = Principal(sub=f"test-village-{VILLAGE}", role="village", region=VILLAGE)
    body = application()
    async with ctx.uow() as uow:
        await uow.session.execute(
            sa.insert(table).values(
                scope=scope_for("POST /api/v1/applications", principal),
                key="running",
                request_hash=request_hash(ApplicationCreate.model_validate(body).model_dump(mode="json")),
                status=None,
                response=None,
                created_at=dt.datetime.now(dt.UTC),
            )
        )
        await uow.commit()
    r = await service.apply(body, h, key="running")
    assert r.status_code == 409
    assert r.json()["code"] == "idempotency_in_progress"
    results = await asyncio.gather(*(service.apply(body, h, key="same") for _ in range(4)))
    statuses = [x.status_code for x in results]
    assert statuses.count(201) >= 1
    assert set(statuses) <= {201, 409}, [x.text for x in results]
    assert len({x.json()["id"] for x in results if x.status_code == 201}) == 1
    assert await _count(service) == 1


async def test_consent_must_be_given(service: Service) -> None:
    h = service.headers("village", VILLAGE)
    r = await service.apply(application(consent={"commitment": True, "asset_query_authorized": False}), h)
    assert r.status_code == 422
    assert "consent.asset_query_authorized" in [e["path"] for e in r.json()["errors"]]
    r = await service.apply(application(consent={"asset_query_authorized": True}), h)
    assert r.status_code == 422
    assert "consent.commitment" in [e["path"] for e in r.json()["errors"]]
    assert await _count(service) == 0


async def test_second_open_application_for_the_household_is_409(service: Service) -> None:
    head, spouse = id_number(), id_number("19850505")
    h = service.headers("village", VILLAGE)
    first = await service.apply(application(ids=[head, spouse]), h)
    assert first.status_code == 201
    # the spouse applies as head of "another" household: matched by the blind index
    r = await service.apply(application(ids=[spouse, id_number()]), service.citizen(spouse))
    assert r.status_code == 409
    assert r.json()["code"] == "application_exists"
    assert r.json()["existing_application_id"] == first.json()["id"]
    numbered = await service.apply(application(household_number="HN-0001"), h)
    assert numbered.status_code == 201
    r = await service.apply(application(household_number="HN-0001"), h)
    assert r.status_code == 409
    assert r.json()["existing_application_id"] == numbered.json()["id"]


async def test_green_channel_needs_sudden_hardship(service: Service) -> None:
    h = service.headers("village", VILLAGE)
    ids = [id_number(), id_number("19850505")]
    body = application(household=household(ids), urgent=True, risk_types=["schooling"])
    body["household"]["members"][0]["serious_illness"] = False
    r = await service.apply(body, h)
    assert r.status_code == 409
    assert r.json()["code"] == "green_channel_not_applicable"
    ok = await service.apply(application(urgent=True, risk_types=["accident"]), h)
    assert ok.status_code == 201
    assert ok.json()["urgent"] is True


async def test_out_of_region_application_is_404(service: Service) -> None:
    r = await service.apply(application(OTHER_VILLAGE), service.headers("village", VILLAGE))
    assert r.status_code == 404
