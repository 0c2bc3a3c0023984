"""The console's pages. Each handler reads the officer's session, asks the public API (in process,
with the officer's token) and renders a template; nothing here decides what an officer may see
or do — a case outside the officer's region is the API's 404, a refused action its 409."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path
from typing import Any

import jwt
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from gateway.auth import JwtVerifier
from gateway.console.api import ApiAnswer, ConsoleApi
from gateway.console.charts import bar_chart
from gateway.console.labels import LABELS, label
from gateway.console.session import SESSION_COOKIE, SessionKeys, secure_headers
from shared.auth import Principal, make_token
from shared.errors import Unauthorized
from shared.settings import Settings

__all__ = ["make_router"]

_HERE = Path(__file__).parent
_STATIC = {
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
}
CST = dt.timezone(dt.timedelta(hours=8))
CONSOLE_ROLES = ("village", "township", "county", "province", "admin")
_OPEN_STATES = ("submitted", "verification", "village_review", "public_notice", "township_review", "county_review")
_REGION_RE = re.compile(r"^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12})$")
#: what each action asks for on the case page (the API checks it again)
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "advance": ("note",),
    "reject": ("reason",),
    "object": ("note",),
    "resolve_objection": ("objection_id", "note"),
    "propose_elimination": ("note", "measures_since"),
    "rollback": ("reason",),
    "clear": ("reason",),
}


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["label"] = label
    env.globals["LABELS"] = LABELS
    env.filters["day"] = lambda v: str(v)[:10] if v else "—"
    env.filters["when"] = lambda v: str(v)[:16].replace("T", " ") if v else "—"
    return env


class Console:
    def __init__(self, settings: Settings, verifier: JwtVerifier, gateway_state: Any) -> None:
        self.settings = settings
        self.verifier = verifier
        self.gateway = gateway_state
        self.development = settings.env == "development"
        self.keys = SessionKeys(settings.secret("internal_secret"), secure_cookies=settings.env == "production")
        self.templates = _env()

    # ------------------------------------------------------------------ plumbing

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.templates.get_template(name).render(request=request, development=self.development, **context)
        return secure_headers(HTMLResponse(html, status_code=status))  # type: ignore[return-value]

    @staticmethod
    def redirect(url: str) -> Response:
        return secure_headers(RedirectResponse(url, status_code=303))

    async def principal(self, request: Request) -> tuple[Principal, str] | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        try:
            principal = await self.verifier.verify(token, self.gateway.http)
        except Unauthorized:
            return None
        if principal.role not in CONSOLE_ROLES:
            return None
        return principal, token

    def page(self, request: Request, name: str, who: tuple[Principal, str], status: int = 200, **ctx: Any) -> Response:
        principal, token = who
        return self.render(request, name, status=status, me=principal, csrf=self.keys.csrf_for(token), **ctx)

    def api(self, request: Request, token: str) -> ConsoleApi:
        return ConsoleApi(request.app, token)

    def not_found(self, request: Request, who: tuple[Principal, str], what: str = "页面") -> Response:
        message = f"{what}不存在，或不在您的辖区内。"
        return self.page(request, "error.html", who, status=404, title="未找到", message=message)

    def stale_form(self, request: Request, who: tuple[Principal, str]) -> Response:
        return self.page(request, "error.html", who, status=403, title="表单已失效", message="请刷新页面后重试。")


def _today(answer: ApiAnswer | None) -> dt.date:
    """The services' today (they may run on a test or demo clock), else China's wall date."""
    if answer is not None and answer.ok and isinstance(answer.body, dict) and answer.body.get("as_of"):
        try:
            return dt.date.fromisoformat(str(answer.body["as_of"])[:10])
        except ValueError:
            pass
    return dt.datetime.now(CST).date()


def _urgency(due: Any, today: dt.date, overdue: bool | None = None) -> str:
    """CSS class for a deadline: `late` (past), `soon` (within 3 days), `ok`."""
    if overdue:
        return "late"
    if not due:
        return "ok"
    try:
        day = dt.date.fromisoformat(str(due)[:10])
    except ValueError:
        return "ok"
    if day < today:
        return "late"
    return "soon" if (day - today).days <= 3 else "ok"


def _token_max_age(token: str) -> int:
    exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    return int(exp - dt.datetime.now(dt.UTC).timestamp()) if isinstance(exp, int | float) else 3600


def make_router(settings: Settings, verifier: JwtVerifier, gateway_state: Any) -> APIRouter:
    console = Console(settings, verifier, gateway_state)
    router = APIRouter(prefix="/console", include_in_schema=False)

    # ------------------------------------------------------------------ static, sign-in

    @router.get("/static/{name}")
    async def static(name: str) -> Response:
        if name not in _STATIC:
            return secure_headers(Response(status_code=404))
        body = await asyncio.to_thread((_HERE / "static" / name).read_bytes)
        response = Response(body, media_type=_STATIC[name])
        secure_headers(response)
        response.headers["Cache-Control"] = "public, max-age=300"
        return response

    @router.get("")
    @router.get("/")
    async def home(request: Request) -> Response:
        who = await console.principal(request)
        return console.redirect("/console/worklist" if who else "/console/login")

    def _login_page(request: Request, error: str | None, status: int = 200) -> Response:
        csrf = console.keys.login_csrf_value(request)
        response = console.render(
            request, "login.html", status=status, me=None, csrf=csrf, error=error, roles=CONSOLE_ROLES
        )
        console.keys.set_login_csrf(response, csrf)
        return response

    @router.get("/login")
    async def login_form(request: Request) -> Response:
        return _login_page(request, None)

    async def _login_error(request: Request, message: str, status: int) -> Response:
        return _login_page(request, message, status)

    def _signed_in(token: str) -> Response:
        response = console.redirect("/console/worklist")
        console.keys.set_session(response, token, _token_max_age(token))
        return response

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        if not console.keys.check_login_csrf(request, str(form.get("csrf") or "")):
            return await _login_error(request, "表单已失效，请重试。", 403)
        token = str(form.get("token") or "").strip()
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        try:
            principal = await verifier.verify(token, gateway_state.http)
        except Unauthorized as exc:
            return await _login_error(request, f"令牌无效：{exc.code}", 401)
        if principal.role not in CONSOLE_ROLES:
            return await _login_error(request, "工作台只供村、乡镇、县、省级工作人员使用。", 403)
        return _signed_in(token)

    @router.post("/login/dev")
    async def login_dev(request: Request) -> Response:
        if not console.development:
            # development tokens exist only under `fangfan up` (FANGFAN_ENV=development)
            return console.render(
                request, "error.html", status=404, me=None, csrf="", title="未找到", message="此功能仅限开发环境。"
            )
        form = await request.form()
        if not console.keys.check_login_csrf(request, str(form.get("csrf") or "")):
            return await _login_error(request, "表单已失效，请重试。", 403)
        role = str(form.get("role") or "")
        region = str(form.get("region") or "").strip()
        if role not in CONSOLE_ROLES or (role != "admin" and not _REGION_RE.match(region)):
            return await _login_error(request, "请选择角色并填写 2/4/6/9/12 位行政区划代码。", 422)
        token = make_token(sub=f"dev-{role}-{region or 'all'}", role=role, region=region, settings=settings)
        return _signed_in(token)

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        who = await console.principal(request)
        form = await request.form()
        if who and not console.keys.check_csrf(who[1], str(form.get("csrf") or "")):
            return console.stale_form(request, who)
        response = console.redirect("/console/login")
        console.keys.clear_session(response)
        return response

    # ------------------------------------------------------------------ worklist

    @router.get("/worklist")
    async def worklist(request: Request) -> Response:
        who = await console.principal(request)
        if who is None:
            return console.redirect("/console/login")
        principal, token = who
        async with console.api(request, token) as api:
            sections = await _worklist(api, principal)
        return console.page(request, "worklist.html", who, sections=sections)

    # ------------------------------------------------------------------ case

    async def _case_page(
        request: Request, who: tuple[Principal, str], case_id: str, *, refused: dict[str, Any] | None, status: int
    ) -> Response:
        _, token = who
        async with console.api(request, token) as api:
            case = await api.get(f"/cases/{case_id}")
            if case.status == 404 or not case.ok:
                return console.not_found(request, who, "案件")
            data = await _household(api, str(case.body.get("household_id")))
        return console.page(
            request,
            "case.html",
            who,
            status=status,
            case=case.body,
            household=data["household"] if data else None,
            assessment=data["assessment"] if data else None,
            warnings=data["warnings"] if data else [],
            refused=refused,
            fields=ACTION_FIELDS,
            done=request.query_params.get("done"),
        )

    @router.get("/cases/{case_id}")
    async def case_page(request: Request, case_id: str) -> Response:
        who = await console.principal(request)
        if who is None:
            return console.redirect("/console/login")
        return await _case_page(request, who, case_id, refused=None, status=200)

    @router.post("/cases/{case_id}/actions")
    async def case_action(request: Request, case_id: str) -> Response:
        who = await console.principal(request)
        if who is None:
            return console.redirect("/console/login")
        form = await request.form()
        if not console.keys.check_csrf(who[1], str(form.get("csrf") or "")):
            return console.stale_form(request, who)
        body = _transition_body(form)
        async with console.api(request, who[1]) as api:
            answer = await api.post(f"/cases/{case_id}/transitions", body)
        if answer.ok:
            return console.redirect(f"/console/cases/{case_id}?done={body.get('action', '')}")
        if answer.status == 404:
            return console.not_found(request, who, "案件")
        return await _case_page(request, who, case_id, refused=answer.problem, status=answer.status)

    # ------------------------------------------------------------------ household

    @router.get("/households/{household_id}")
    async def household_page(request: Request, household_id: str) -> Response:
        who = await console.principal(request)
        if who is None:
            return console.redirect("/console/login")
        async with console.api(request, who[1]) as api:
            data = await _household(api, household_id)
        if data is None:
            return console.not_found(request, who, "农户")
        return console.page(request, "household.html", who, **data)

    @router.get("/search")
    async def search_form(request: Request) -> Response:
        who = await console.principal(request)
        if who is None:
            return console.redirect("/console/login")
        return console.page(request, "search.html", who, results=None, error=None)

    @router.post("/search")
    async def search(request: Request) -> Response:
        """By resident ID number: a POST form, so the number never appears in a URL or a log."""
        who = await console.principal(request)
        if who is None:
            return console.redirect("/console/login")
        form = await request.form()
        if not console.keys.check_csrf(who[1], str(form.get("csrf") or "")):
            return console.stale_form(request, who)
        id_number = str(form.get("id_number") or "").strip().upper()
        async with console.api(request, who[1]) as api:
            answer = await api.post("/households/search", {"id_number": id_number})
        if not answer.ok:
            detail = answer.problem.get("detail") or f"HTTP {answer.status}"
            return console.page(request, "search.html", who, results=None, error=detail)
        return console.page(request, "search.html", who, results=answer.items(), error=None)

    # ------------------------------------------------------------------ public notice

    @router.get("/notices")
    async def notice_page(request: Request, village: str | None = None) -> Response:
        who = await console.principal(request)
        if who is None:
            return console.redirect("/console/login")
        principal, token = who
        village = village or (principal.region if len(principal.region) == 12 else None)
        notice: Markup | None = None
        error = None
        if village:
            async with console.api(request, token) as api:
                answer = await api.get("/notices/public", village=village)
            if answer.ok:
                notice = Markup(_html_body(answer.content.decode()))  # the API's own (escaped) HTML
            else:
                error = answer.problem.get("detail") or f"HTTP {answer.status}"
        return console.page(request, "notice.html", who, village=village, notice=notice, error=error)

    # ------------------------------------------------------------------ dashboard and exports

    @router.get("/dashboard")
    async def dashboard(request: Request, region: str | None = None) -> Response:
        who = await console.principal(request)
        if who is None:
            return console.redirect("/console/login")
        principal, token = who
        region = region if region and _REGION_RE.match(region) else principal.region
        async with console.api(request, token) as api:
            stats = await _statistics(api, region)
        if stats is None:
            return console.not_found(request, who, "统计")
        return console.page(request, "dashboard.html", who, region=region, **stats)

    @router.get("/exports/{table}")
    async def export(request: Request, table: str, format: str = "csv", region: str | None = None) -> Response:
        """The API's CSV/XLSX exports, fetched with the officer's token (a link cannot carry it)."""
        who = await console.principal(request)
        if who is None:
            return console.redirect("/console/login")
        group_by = request.query_params.get("group_by", "region")
        path = {
            "statistics": "/statistics",
            "scale-risk": "/statistics/scale-risk",
            "income-drop": "/statistics/income-drop",
        }
        if table not in path or format not in ("csv", "xlsx"):
            return console.not_found(request, who, "导出")
        params: dict[str, Any] = {"format": format, "region": region}
        if table == "statistics":
            params["group_by"] = group_by
        async with console.api(request, who[1]) as api:
            answer = await api.request("GET", path[table], params=params)
        if not answer.ok:
            detail = answer.problem.get("detail") or f"HTTP {answer.status}"
            return console.page(request, "error.html", who, status=answer.status, title="无法导出", message=detail)
        response = Response(answer.content, media_type=answer.headers.get("content-type"))
        if "content-disposition" in answer.headers:
            response.headers["Content-Disposition"] = answer.headers["content-disposition"]
        return secure_headers(response)

    return router


# ---------------------------------------------------------------------- page data


def _transition_body(form: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"action": str(form.get("action") or "")}
    for name in ("note", "reason", "objection_id", "measures_since"):
        value = str(form.get(name) or "").strip()
        if value:
            body[name] = value
    investigators = [str(v).strip() for v in form.getlist("investigators") if str(v).strip()]
    if investigators:
        body["investigators"] = investigators
    version = str(form.get("version") or "").strip()
    if version.isdigit():
        body["version"] = int(version)
    return body


def _case_rows(answer: ApiAnswer, today: dt.date, *, due_key: str = "deadline") -> list[dict[str, Any]]:
    rows = []
    for item in answer.items():
        due = item.get(due_key)
        late = bool(item.get("overdue")) if due_key == "deadline" else None
        rows.append({**item, "due": due, "urgency": _urgency(due, today, late)})
    return rows


def _case_section(answer: ApiAnswer, today: dt.date, title: str, **extra: Any) -> dict[str, Any]:
    total = int((answer.body or {}).get("total", 0)) if answer.ok else 0
    return {"kind": "cases", "title": title, "rows": _case_rows(answer, today), "total": total, **extra}


async def _worklist(api: ConsoleApi, principal: Principal) -> list[dict[str, Any]]:
    """Each role's lists; the calls of one page go out together."""

    def cases(**params: Any) -> Any:
        return api.get("/cases", page_size=100, **params)

    role = principal.role
    if role == "village":
        visits, verify, review, notice, plans = await asyncio.gather(
            api.get("/visits/due"),
            cases(state="submitted,verification"),
            cases(state="village_review"),
            cases(state="public_notice"),
            api.get("/plans", status="open", limit=100),
        )
        today = _today(visits)
        on_notice = _case_section(notice, today, "公示中（含异议）", kind="notice")
        details = await asyncio.gather(*(api.get(f"/cases/{r['id']}") for r in on_notice["rows"][:30]))
        for row, d in zip(on_notice["rows"], details, strict=False):
            objections = (d.body or {}).get("objections", []) if d.ok else []
            row["open_objections"] = sum(1 for o in objections if o.get("open"))
            row["notice"] = (d.body or {}).get("notice") if d.ok else None
        on_notice["rows"].sort(key=lambda r: -r.get("open_objections", 0))
        return [
            _case_section(verify, today, "待核实的申请"),
            _case_section(review, today, "待村级评议"),
            on_notice,
            _visits(visits, today),
            _plans(plans, today),
        ]
    # the services' date (they may run on a demo clock): a schedule that ends before anything is due
    clock = api.get("/visits/due", until="1970-01-01")
    if role == "township":
        day, township, late, verify = await asyncio.gather(
            clock, cases(state="township_review"), cases(overdue=True), cases(state="submitted,verification")
        )
        today = _today(day)
        return [
            _case_section(township, today, "待乡镇审核"),
            _case_section(late, today, "逾期案件"),
            _case_section(verify, today, "待核实的申请"),
        ]
    if role == "county":
        day, county, elimination, scale = await asyncio.gather(
            clock,
            cases(state="county_review"),
            cases(procedure="elimination", state=",".join(_OPEN_STATES)),
            api.get("/statistics/scale-risk"),
        )
        today = _today(day)
        reviews = [r for r in _case_rows(county, today) if r.get("procedure") == "identification"]
        comparison = sorted(_case_rows(county, today, due_key="comparison_due"), key=lambda r: str(r["due"]))
        total = int((county.body or {}).get("total", 0)) if county.ok else 0
        return [
            {"kind": "cases", "title": "待县级审定", "rows": reviews, "total": len(reviews)},
            {"kind": "cases", "title": "部门比对到期", "due_label": "比对截止", "rows": comparison, "total": total},
            _case_section(elimination, today, "拟消除风险"),
            _scale_risk(scale),
        ]
    day, late, scale = await asyncio.gather(clock, cases(overdue=True), api.get("/statistics/scale-risk"))
    return [_case_section(late, _today(day), "逾期案件"), _scale_risk(scale)]


def _visits(answer: ApiAnswer, today: dt.date) -> dict[str, Any]:
    rows = [{**v, "urgency": _urgency(v.get("due_date"), today, v.get("overdue"))} for v in answer.items()]
    return {"kind": "visits", "title": "走访到期/逾期", "rows": rows, "total": len(rows)}


def _plans(answer: ApiAnswer, today: dt.date) -> dict[str, Any]:
    rows = [
        {**p, "urgency": _urgency(p.get("due_date"), today, p.get("overdue"))}
        for p in answer.items()
        if not p.get("drawn_up_on")
    ]
    rows.sort(key=lambda p: str(p.get("due_date")))
    return {"kind": "plans", "title": "帮扶计划待制定", "rows": rows, "total": len(rows)}


def _scale_risk(answer: ApiAnswer) -> dict[str, Any]:
    rows = [v for v in ((answer.body or {}).get("villages", []) if answer.ok else []) if v.get("flagged", True)]
    return {"kind": "villages", "title": "规模风险村", "rows": rows, "total": len(rows)}


async def _household(api: ConsoleApi, household_id: str) -> dict[str, Any] | None:
    """The overview endpoint when the identification service has it; else the same facts from
    the endpoints that hold them."""
    overview = await api.get(f"/households/{household_id}/overview")
    if overview.ok and isinstance(overview.body, dict) and overview.body.get("household"):
        body = overview.body
        risk = body.get("risk") or {}
        signal = risk.get("signal_warning")
        warnings = []
        if signal:
            warnings.append(
                {
                    "warning": signal.get("colour"),
                    "risk_types": signal.get("risk_types", []),
                    "at": signal.get("raised_at"),
                    "explanations": signal.get("explanations", []),
                }
            )
        return {
            "household": body["household"],
            "cases": _listish(body.get("cases")),
            "plans": _listish(body.get("plans")),
            "visits": _listish(body.get("visits")),
            "decisions": _listish(body.get("subsidy_decisions")),
            "warnings": warnings,
            "assessment": risk.get("assessment"),
            "unavailable": body.get("unavailable") or [],
        }
    household = await api.get(f"/households/{household_id}")
    if not household.ok:
        return None
    cases, plans, visits, decisions = await asyncio.gather(
        api.get("/cases", household_id=household_id),
        api.get("/plans", household_id=household_id),
        api.get("/visits", household_id=household_id),
        api.get("/subsidies/decisions", household_id=household_id),
    )
    warning = household.body.get("warning")
    return {
        "household": household.body,
        "cases": cases.items(),
        "plans": plans.items(),
        "visits": visits.items(),
        "decisions": decisions.items(),
        "warnings": [{"warning": warning}] if warning else [],
        "assessment": None,
        "unavailable": [],
    }


def _listish(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict) and isinstance(value.get("items"), list):
        return list(value["items"])
    return list(value) if isinstance(value, list) else []


async def _statistics(api: ConsoleApi, region: str) -> dict[str, Any] | None:
    groups = ("region", "category", "low_income_category", "state", "warning")
    # one call: the service answers the five tables from one scan of the region's households
    # (four /statistics calls in turn were 3 scans and 4 round trips: bench/console_pages_bench.py)
    answer = await api.get("/statistics/summary", region=region)
    if answer.status == 404:
        return None
    tables = (answer.body or {}).get("groups", {}) if answer.ok else {}
    by = {g: list(tables.get(g) or []) for g in groups}
    low_income: dict[str, int] = {}  # code ("none": not low-income or not assessed) -> households
    for r in by["low_income_category"]:
        code = str(r.get("low_income_category") or "none")
        low_income[code] = low_income.get(code, 0) + int(r.get("households", 0))
    low_rows = [
        (label("low_income_category", code) if code != "none" else "非低收入/未评估", n, code)
        for code, n in sorted(low_income.items(), key=lambda kv: -kv[1])
    ]
    category: dict[str, int] = {}
    status: dict[str, int] = {}
    for r in by["category"]:
        n = int(r.get("households", 0))
        name = label("category", r.get("category")) if r.get("category") else "未分类"
        category[name] = category.get(name, 0) + n
        status[label("status", r.get("status"))] = status.get(label("status", r.get("status")), 0) + n
    states: dict[str, int] = {}
    overdue = 0
    for r in by["state"]:
        key = f"{label('procedure', r.get('procedure'))}·{label('state', r.get('state'))}"
        states[key] = states.get(key, 0) + int(r.get("cases", 0))
        overdue += int(r.get("overdue", 0))
    warnings = [
        (label("warning", r.get("warning")), int(r.get("households", 0)), str(r.get("warning"))) for r in by["warning"]
    ]
    regions = by["region"]
    totals = {
        "households": sum(int(r.get("households", 0)) for r in regions),
        "monitored": sum(int(r.get("monitored", 0)) for r in regions),
        "eliminated": sum(int(r.get("eliminated", 0)) for r in regions),
        "open_cases": sum(int(r.get("open_cases", 0)) for r in regions),
        "overdue": overdue,
    }
    return {
        "totals": totals,
        "regions": regions,
        "charts": {
            "category": Markup(bar_chart(sorted(category.items(), key=lambda kv: -kv[1]))),
            "low_income": Markup(bar_chart([(name, n) for name, n, _ in low_rows])),
            "status": Markup(bar_chart(sorted(status.items(), key=lambda kv: -kv[1]))),
            "state": Markup(bar_chart(list(states.items()))),
            "warning": Markup(bar_chart([(n, v) for n, v, _ in warnings], colours=[c for *_, c in warnings])),
            "region": Markup(bar_chart([(str(r.get("region")), int(r.get("monitored", 0))) for r in regions])),
        },
        "low_income": low_rows,
        "rows": by,
    }


def _html_body(document: str) -> str:
    """The <body> of the API's printable notice (its <style> is the console's print CSS's job)."""
    start = document.find("<body>")
    end = document.rfind("</body>")
    return document[start + 6 : end] if start >= 0 and end > start else ""
