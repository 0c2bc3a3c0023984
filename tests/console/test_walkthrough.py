"""The officer console in a real browser (Chromium through Playwright): a citizen's
self-application walked from the village's worklist to `monitored` by the village, township and
county officers; a refused action shows the API's rule; another village's officer sees none of it
(and a direct URL is 404); the dashboard's numbers are `/statistics`'."""

from __future__ import annotations

import re
from typing import Any

import pytest

from shared.identifiers import id_check_digit
from tests.console.conftest import RunningSystem, screenshot

pytestmark = [pytest.mark.sqlite_only, pytest.mark.slow]  # the demo system runs on its own SQLite files

VILLAGE = "341221001201"
OTHER_VILLAGE = "341221001200"
TOWNSHIP = "341221001"
COUNTY = "341221"


def _id(seq: int, birth: str = "19700101") -> str:
    first17 = f"{COUNTY}{birth}{seq:03d}"
    return first17 + id_check_digit(first17)


def _apply(running: RunningSystem) -> dict[str, Any]:
    head, spouse = _id(901), _id(902, "19720202")
    body = {
        "region_code": VILLAGE,
        "household": {
            "members": [
                {"id_number": head, "name": "张三", "relation": "head", "labor_capacity": "ordinary"},
                {
                    "id_number": spouse,
                    "name": "李四",
                    "relation": "spouse",
                    "labor_capacity": "weak",
                    "serious_illness": True,
                },
            ],
            "income": {"wage": "6000"},
        },
        "reason": "家庭成员患病，医疗支出大",
        "risk_types": ["illness"],
        "consent": {"commitment": True, "asset_query_authorized": True},
    }
    with running.api("citizen", VILLAGE, sub=head) as c:
        r = c.post("/applications", json=body, headers={"Idempotency-Key": "console-walk-1"})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _sign_in(page: Any, base: str, role: str, region: str) -> None:
    page.goto(base + "/console/login")
    form = page.get_by_test_id("dev-login")
    form.locator("select[name=role]").select_option(role)
    form.locator("input[name=region]").fill(region)
    form.get_by_role("button", name="开发登录").click()
    page.wait_for_url(re.compile(r".*/console/worklist$"))


def _sign_out(page: Any) -> None:
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(re.compile(r".*/console/login$"))


def _act(page: Any, action: str, **fields: Any) -> None:
    form = page.locator(f"form[data-action={action}]")
    for i, name in enumerate(fields.get("investigators", [])):
        form.locator("input[name=investigators]").nth(i).fill(name)
    if "note" in fields:
        form.locator("textarea[name=note]").fill(fields["note"])
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def _search(page: Any, base: str, id_number: str) -> list[str]:
    page.goto(base + "/console/search")
    page.locator("input[name=id_number]").fill(id_number)
    page.get_by_role("button", name="查询").click()
    page.wait_for_load_state()
    assert page.url.endswith("/console/search")
    return [str(a.get_attribute("href")) for a in page.get_by_test_id("results").locator("a").all()]


def _state(page: Any) -> str:
    return str(page.get_by_test_id("case-state").inner_text())


def test_a_self_application_walked_to_monitored_in_the_browser(running: RunningSystem, browser: Any) -> None:
    application = _apply(running)
    case_id, household_id = application["case_id"], application["household_id"]
    base = running.url
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a village cadre's phone
    page = context.new_page()
    errors: list[str] = []
    # CSP violations and script errors (a 409/404 answer's own "failed to load" line is expected)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load" not in m.text else 0)
    page.on("pageerror", lambda e: errors.append(str(e)))

    # the village officer sees the new self-application on the worklist
    _sign_in(page, base, "village", VILLAGE)
    screenshot(page, "worklist-village")
    section = page.get_by_test_id("section").filter(has_text="待核实的申请")
    link = section.locator(f"a[href='/console/cases/{case_id}']")
    assert link.count() == 1
    link.click()
    assert _state(page) == "已提交"
    actions = page.locator("form.action")
    assert sorted(actions.evaluate_all("fs => fs.map(f => f.dataset.action)")) == ["advance", "reject"]

    _act(page, "advance", note="开始入户核实")
    assert _state(page) == "入户核实"
    # the same name twice is not two investigators: the API's 409 rule is shown
    _act(page, "advance", investigators=["村干部 王", "村干部 王"], note="情况属实")
    refused = page.get_by_test_id("refused")
    assert "investigators_required" in refused.inner_text()
    assert _state(page) == "入户核实"
    screenshot(page, "case-refused")
    _act(page, "advance", investigators=["村干部 王", "镇干部 李"], note="情况属实")
    assert _state(page) == "村级评议"
    _act(page, "advance", note="民主评议通过")
    assert _state(page) == "公示"
    # the notice is running: advancing is not among the allowed actions yet
    assert page.locator("form[data-action=advance]").count() == 0
    page.goto(base + "/console/notices")
    notice = page.get_by_test_id("notice")
    assert "村级公示" in notice.inner_text()
    assert "341221********" in notice.inner_text()  # masked ID numbers only
    screenshot(page, "notice")

    running.advance_clock(8)  # the demo clock: the seven-day notice has run
    page.goto(base + f"/console/cases/{case_id}")
    _act(page, "advance", note="公示期满无异议")
    assert _state(page) == "乡镇审核"
    _sign_out(page)

    _sign_in(page, base, "township", TOWNSHIP)
    section = page.get_by_test_id("section").filter(has_text="待乡镇审核")
    section.locator(f"a[href='/console/cases/{case_id}']").click()
    _act(page, "advance", note="同意")
    assert _state(page) == "县级审定"
    _sign_out(page)

    desktop = browser.new_context(viewport={"width": 1280, "height": 900})
    page = desktop.new_page()
    _sign_in(page, base, "county", COUNTY)
    screenshot(page, "worklist-county")
    section = page.get_by_test_id("section").filter(has_text="待县级审定")
    section.locator(f"a[href='/console/cases/{case_id}']").click()
    screenshot(page, "case-county")
    _act(page, "advance", note="比对通过，同意纳入监测")
    assert _state(page) == "已纳入监测"
    assert page.get_by_test_id("done").is_visible()
    history = page.get_by_test_id("history").inner_text()
    for step in ("入户核实", "村级评议", "公示", "乡镇审核", "县级审定", "已纳入监测"):
        assert step in history

    # found by the head's ID number (a POST form: the number is in no URL)
    assert _search(page, base, _id(901)) == [f"/console/households/{household_id}"]
    assert _id(901) not in page.url
    page.goto(base + f"/console/households/{household_id}")
    assert page.get_by_test_id("household-status").inner_text() == "监测中"
    body = page.locator("main").inner_text()
    assert _id(901) not in body  # members masked
    assert "341221********" in body
    screenshot(page, "household")

    # the dashboard's numbers are the API's /statistics
    page.goto(base + "/console/dashboard")
    screenshot(page, "dashboard")
    with running.api("county", COUNTY) as c:
        regions = c.get("/statistics", params={"group_by": "region"}).json()["rows"]
        states = c.get("/statistics", params={"group_by": "state"}).json()["rows"]
        low = c.get("/statistics", params={"group_by": "low_income_category"}).json()["rows"]
    expected = {
        "t-households": sum(r["households"] for r in regions),
        "t-monitored": sum(r["monitored"] for r in regions),
        "t-open": sum(r["open_cases"] for r in regions),
        "t-overdue": sum(r["overdue"] for r in states),
    }
    shown = {k: int(page.get_by_test_id(k).inner_text()) for k in expected}
    assert shown == expected
    assert expected["t-monitored"] >= 1
    by_low: dict[str, int] = {}
    for r in low:
        code = r["low_income_category"] or "none"
        by_low[code] = by_low.get(code, 0) + r["households"]
    assert sum(by_low.values()) == expected["t-households"]
    shown_low = {code: int(page.get_by_test_id(f"li-{code}").inner_text()) for code in by_low}
    assert shown_low == by_low
    assert page.get_by_test_id("low-income").locator("svg rect").count() == len(by_low)
    table = page.get_by_test_id("regions").inner_text()
    for r in regions:
        assert r["region"] in table

    # an officer of the next village sees none of it; a direct URL is 404
    other = browser.new_context()
    page = other.new_page()
    _sign_in(page, base, "village", OTHER_VILLAGE)
    assert _search(page, base, _id(901)) == []
    assert page.locator(f"a[href='/console/cases/{case_id}']").count() == 0
    assert page.locator(f"a[href='/console/households/{household_id}']").count() == 0
    for url in (f"/console/cases/{case_id}", f"/console/households/{household_id}"):
        response = page.goto(base + url)
        assert response is not None
        assert response.status == 404
        assert "不在您的辖区内" in page.get_by_test_id("error").inner_text()
    assert errors == []  # no CSP violations or script errors on any page
    for ctx in (context, desktop, other):
        ctx.close()


def test_login_page_and_security_headers(running: RunningSystem, browser: Any) -> None:
    context = browser.new_context()
    page = context.new_page()
    response = page.goto(running.url + "/console/login")
    assert response is not None
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert "仅限开发环境" in page.locator("main").inner_text()
    screenshot(page, "login")
    _sign_in(page, running.url, "village", VILLAGE)
    cookie = next(c for c in context.cookies() if c["name"] == "ff_console")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    context.close()
