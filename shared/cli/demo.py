"""`fangfan demo`: a walk through a running system (`fangfan up`), printing what each service
did. It grows with the services."""

from __future__ import annotations

import json
import sys
from typing import Any

import httpx

from shared.auth import make_token
from shared.settings import Settings


def _show(title: str, resp: httpx.Response) -> Any:
    print(f"\n== {title}: HTTP {resp.status_code}")
    try:
        body = resp.json()
    except ValueError:
        body = resp.text
    print(json.dumps(body, ensure_ascii=False, indent=2)[:2000])
    return body


def run_demo(settings: Settings, *, base_url: str | None = None) -> int:
    base = (base_url or f"http://127.0.0.1:{settings.gateway_port}").rstrip("/")
    county = make_token(sub="demo-county-officer", role="county", region="341221", settings=settings)
    with httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {county}"}) as c:
        ready = _show("gateway readiness (every service and its database and NATS)", c.get("/readyz"))
        if not isinstance(ready, dict) or ready.get("status") != "ok":
            print("the system is not ready: run `fangfan up` first", file=sys.stderr)
            return 1
    print("\nThe demo walks further as the services land (see README).")
    return 0
