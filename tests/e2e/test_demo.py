"""The whole system in one process, through the gateway, over a real NATS: `fangfan demo`'s walk
takes a self-application to `monitored` and every service does its part."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.cli.demo import demo_system, walk

pytestmark = pytest.mark.sqlite_only  # the demo runs on its own SQLite files


async def test_demo_walks_a_household_to_monitored(tmp_path: Path) -> None:
    async with demo_system(tmp_path) as system:
        seen = await walk(system, households=120)
    assert seen["imported"]["rows_done"] == 120
    assert seen["application"]["status"] == "submitted"
    case = seen["case"]
    assert case["state"] == "monitored"
    assert [h["to"] for h in case["history"]][-7:] == [
        "submitted",
        "verification",
        "village_review",
        "public_notice",
        "township_review",
        "county_review",
        "monitored",
    ]
    event = seen["event"]
    assert event["type"] == "cn.fangfan.household.identified.v1"
    assert event["subject"] == seen["application"]["household_id"]
    assert seen["subsidy"]["amount"] == "4320.00"
    plans = seen["plans"]["items"]
    assert len(plans) == 1
    assert plans[0]["household_id"] == seen["application"]["household_id"]
    assert plans[0]["measures"]
    assert plans[0]["contact_person"] is not None
    inbox = seen["inbox"]["items"]
    assert any(i["kind"] == "application_status" and "已纳入监测" in i["body"] for i in inbox)
