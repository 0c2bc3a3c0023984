"""The county check systems (居民家庭经济状况核对系统) behind `application.ports.EconomicCheck`:

- `HttpEconomicCheck`: `POST <url>/checks` with the request; the result comes back by callback
  (`POST /api/v1/social-assistance/economic-checks/{id}/result`) or by polling `GET <url>/checks/{id}`
  (200 with the result, 202 or `{"status": "pending"}` while pending);
- `FileEconomicCheck`: for counties without an API, the request is written to
  `<data_dir>/economic_check/<county>/requests/<check id>.json` and the result is read from
  `.../results/<check id>.json`; both files are removed once the result is stored.

Which county uses which: `FANGFAN_ECONOMIC_CHECK_COUNTIES` = JSON `{"341221": {"kind": "http",
"url": "https://…"}, …}`; a county not named uses the file drop-in."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from services.civil_affairs.domain.economic_check import CheckRecord, CheckResult

__all__ = ["CheckSystems", "FileEconomicCheck", "HttpEconomicCheck", "parse_result"]

log = logging.getLogger("fangfan.civil_affairs.economic_check")


def parse_result(body: Mapping[str, Any], *, default_reference: str = "") -> CheckResult:
    """A result as the county system (or its file) gives it; ValueError when it is not one."""
    if "passed" not in body or not isinstance(body["passed"], bool):
        raise ValueError("result needs a boolean `passed`")
    checked = body.get("checked_at") or dt.datetime.now(dt.UTC).isoformat()
    at = dt.datetime.fromisoformat(str(checked).replace("Z", "+00:00"))
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return CheckResult.from_doc(
        {
            "passed": body["passed"],
            "checked_at": at,
            "reference": str(body.get("reference") or default_reference),
            "assets_found": list(body.get("assets_found") or []),
            "income_found_annual": body.get("income_found_annual"),
            "note": body.get("note"),
        }
    )


@dataclass
class HttpEconomicCheck:
    url: str
    timeout_s: float = 10.0
    kind: str = "http"

    async def send(self, check: CheckRecord, request: Mapping[str, Any]) -> str | None:
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            r = await client.post(f"{self.url.rstrip('/')}/checks", json=dict(request))
            r.raise_for_status()
        try:
            ref = r.json().get("reference")
        except ValueError:
            ref = None
        return str(ref) if ref else None

    async def poll(self, check: CheckRecord) -> CheckResult | None:
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            r = await client.get(f"{self.url.rstrip('/')}/checks/{check.id}")
        if r.status_code in (202, 404):
            return None
        r.raise_for_status()
        body = r.json()
        if body.get("status") == "pending":
            return None
        return parse_result(body, default_reference=check.reference or "")

    async def forget(self, check: CheckRecord) -> None:
        return None


@dataclass
class FileEconomicCheck:
    root: Path  # <data_dir>/economic_check/<county>
    kind: str = "file"

    @property
    def requests(self) -> Path:
        return self.root / "requests"

    @property
    def results(self) -> Path:
        return self.root / "results"

    async def send(self, check: CheckRecord, request: Mapping[str, Any]) -> str | None:
        self.requests.mkdir(parents=True, exist_ok=True)
        self.results.mkdir(parents=True, exist_ok=True)
        final = self.requests / f"{check.id}.json"
        tmp = final.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(dict(request), ensure_ascii=False, indent=2), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(final)  # the county's reader never sees half a file
        return None

    async def poll(self, check: CheckRecord) -> CheckResult | None:
        f = self.results / f"{check.id}.json"
        if not f.exists():
            return None
        body = json.loads(f.read_text(encoding="utf-8"))
        return parse_result(body, default_reference=f.name)

    async def forget(self, check: CheckRecord) -> None:
        for f in (self.requests / f"{check.id}.json", self.results / f"{check.id}.json"):
            f.unlink(missing_ok=True)


class CheckSystems:
    """Which check system each county uses (configuration from the environment)."""

    def __init__(self, data_dir: Path, counties: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.data_dir = Path(data_dir)
        if counties is None:
            raw = os.environ.get("FANGFAN_ECONOMIC_CHECK_COUNTIES", "").strip()
            counties = json.loads(raw) if raw else {}
        self.counties = dict(counties)

    def for_county(self, county: str) -> HttpEconomicCheck | FileEconomicCheck:
        conf = self.counties.get(county) or {}
        if conf.get("kind") == "http" and conf.get("url"):
            return HttpEconomicCheck(url=str(conf["url"]), timeout_s=float(conf.get("timeout_s", 10.0)))
        return FileEconomicCheck(self.data_dir / "economic_check" / county)
