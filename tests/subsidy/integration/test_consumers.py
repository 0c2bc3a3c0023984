"""The assistance events over real NATS: a job placement proposes a transport allowance, a
public-welfare post wage record proposes the post subsidy — once, however often the event is
delivered; events that pay nothing make no decision; unusable payloads are dead-lettered."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import nats
import sqlalchemy as sa

from shared.events import Event, encode_event
from tests.helpers import collect_events

from .conftest import VILLAGE

URL = "/api/v1/subsidies/decisions"


def placement(person: str = "ref-1", **data: Any) -> Event:
    payload = {
        "person_ref": person,
        "household_id": "hh-p1",
        "region_code": VILLAGE,
        "work_location": "out_of_city_in_province",
        "contract_months": 12,
        "social_insurance": True,
        "epidemic_period": False,
        "stable_months": 0,
        "age": 62,
        "placed_on": "2020-05-10",
        **data,
    }
    return Event("assistance", "placement_recorded", "hh-p1", VILLAGE, payload, source="assistance")


async def publish(nats_url: str, *events: Event, times: int = 1) -> None:
    """Each event `times` times, without a message id, so JetStream keeps every copy and the
    consumer really receives the event more than once."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for _ in range(times):
            for ev in events:
                subject, payload = encode_event(ev)
                await js.publish(subject, payload)
    finally:
        await nc.close()


async def wait_for(client: Any, headers: dict[str, str], params: dict[str, str], n: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while True:
        items = (await client.get(URL, params=params, headers=headers)).json()["items"]
        if len(items) >= n or time.monotonic() > deadline:
            return items
        await asyncio.sleep(0.1)


async def ready(client: Any) -> Any:
    ctx = client.app.state.ctx
    await ctx.link.wait_ready(10)
    return ctx


async def test_a_placement_delivered_twice_makes_one_decision(client, as_role, settings) -> None:
    ctx = await ready(client)
    ev = placement()
    await publish(settings.nats_url, ev, times=2)
    items = await wait_for(client, as_role(), {"subject_id": "ref-1"}, 1)
    assert len(items) == 1
    d = items[0]
    assert d["kind"] == "transport_allowance"
    assert d["amount"] == "300.00"
    assert d["state"] == "calculated"
    assert d["household_id"] == "hh-p1"
    assert d["origin"] == "event"
    assert d["origin_event_id"] == ev.id
    assert d["funding_source"] == "county_finance"  # aged 62
    async with ctx.engine.connect() as conn:
        handled = (await conn.execute(sa.text("SELECT count(*) FROM inbox WHERE event_id = :e"), {"e": ev.id})).scalar()
    assert handled == 1
    consumer = next(c for c in ctx.consumers if c.name.endswith("placements"))
    deadline = time.monotonic() + 10
    while consumer.handled < 1 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # let the second copy arrive and be skipped
    assert len((await client.get(URL, params={"subject_id": "ref-1"}, headers=as_role())).json()["items"]) == 1
    events = await collect_events(settings.nats_url, "fangfan.subsidy.decision_calculated.>", count=1)
    assert events[0]["data"]["decision_id"] == d["id"]
    assert events[0]["data"]["subject_ref"] == "ref-1"


async def test_a_post_wage_record_proposes_the_post_subsidy(client, as_role, settings) -> None:
    await ready(client)
    data = {"person_ref": "ref-w", "household_id": "hh-w", "region_code": VILLAGE, "annual_wage": "7200", "year": 2020}
    ev = Event("assistance", "post_wage_recorded", "hh-w", VILLAGE, data, source="assistance")
    await publish(settings.nats_url, ev)
    items = await wait_for(client, as_role(), {"subject_id": "ref-w"}, 1)
    assert len(items) == 1
    assert items[0]["kind"] == "public_welfare_post"
    assert items[0]["amount"] == "4320.00"
    assert items[0]["as_of"] == "2020-12-31"


async def test_nothing_payable_or_refused_makes_no_decision_and_poison_is_dead_lettered(
    client, as_role, settings
) -> None:
    ctx = await ready(client)
    in_county = placement("ref-z", work_location="in_county")
    broken = placement("ref-b", contract_months="many")
    first = placement("ref-o")
    second = placement("ref-o", placed_on="2020-07-01")  # one-off: refused, acknowledged
    await publish(settings.nats_url, in_county, broken, first, second)
    items = await wait_for(client, as_role(), {"subject_id": "ref-o"}, 1)
    assert len(items) == 1
    deadline = time.monotonic() + 15
    dead: list[Any] = []
    while time.monotonic() < deadline and not dead:
        async with ctx.engine.connect() as conn:
            dead = (await conn.execute(sa.text("SELECT event_id, error FROM dead_letters"))).all()
        await asyncio.sleep(0.1)
    assert [row.event_id for row in dead] == [broken.id]
    assert "inputs.contract_months" in dead[0].error
    await asyncio.sleep(0.3)
    for ref in ("ref-z", "ref-b"):
        assert (await client.get(URL, params={"subject_id": ref}, headers=as_role())).json()["items"] == []
    assert len((await client.get(URL, params={"subject_id": "ref-o"}, headers=as_role())).json()["items"]) == 1
