"""`fangfan demo` leaves the system so that every worklist of the console has something in it:
the demo's walk runs, then each role signs in to the console in the browser."""

from __future__ import annotations

import re
from typing import Any

import pytest

from shared.cli.demo import walk
from tests.console.conftest import RunningSystem, screenshot

pytestmark = [pytest.mark.sqlite_only, pytest.mark.slow]


def _sign_in(page: Any, base: str, role: str, region: str) -> None:
    page.goto(base + "/console/login")
    form = page.get_by_test_id("dev-login")
    form.locator("select[name=role]").select_option(role)
    form.locator("input[name=region]").fill(region)
    form.get_by_role("button", name="开发登录").click()
    page.wait_for_url(re.compile(r".*/console/worklist$"))


def test_every_worklist_has_something_after_the_demo(running: RunningSystem, browser: Any) -> None:
    assert running.system is not None
    seen = running.run(walk(running.system, households=150))
    assert seen["case"]["state"] == "monitored"
    village = seen["case"]["region_code"]
    regions = {"village": village, "township": village[:9], "county": village[:6], "province": village[:2]}
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    empty: dict[str, list[str]] = {}
    for role, region in regions.items():
        _sign_in(page, running.url, role, region)
        for section in page.get_by_test_id("section").all():
            title = section.locator("h2").inner_text()
            if section.locator("tbody tr").count() == 0:
                empty.setdefault(role, []).append(title)
        screenshot(page, f"worklist-{role}-demo")
        if role == "village":
            page.goto(running.url + "/console/notices")
            assert page.get_by_test_id("notice").locator("tbody tr").count() >= 1
            screenshot(page, "notice-demo")
        if role == "county":
            page.goto(running.url + "/console/dashboard")
            screenshot(page, "dashboard-demo")
        page.get_by_role("button", name="退出").click()
    assert empty == {}
    context.close()
