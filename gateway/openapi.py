"""One API surface: the gateway's /openapi.json is merged from the services' own /openapi.json
(fetched at start, again while a service is missing, and on `?refresh=true`), keeping only paths
under /api/v1 that the gateway routes, plus the gateway's own routes and security schemes."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Iterable
from typing import Any

import aiohttp

from gateway import permissions
from gateway.routes import API_PREFIX
from shared.errors import DomainError

__all__ = ["OpenApiMerger", "merge"]

log = logging.getLogger("fangfan.gateway.openapi")
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_RETRY_MISSING_S = 5.0
SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT with the claims sub, role, region (dept for departments), exp.",
    },
    "apiKeyAuth": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "A key issued by an admin at /api/v1/admin/api-keys (machine clients).",
    },
}


def _routed(method: str, path: str) -> bool:
    try:
        permissions.match(method.upper(), path[len(API_PREFIX) :])
    except DomainError:
        return False
    return True


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/components/schemas/"):
                name = v.rsplit("/", 1)[1]
                out[k] = "#/components/schemas/" + renames.get(name, name)
            else:
                out[k] = _rename_refs(v, renames)
        return out
    if isinstance(node, list):
        return [_rename_refs(v, renames) for v in node]
    return node


def merge(docs: dict[str, dict[str, Any]], gateway_doc: dict[str, Any], *, title: str, version: str) -> dict[str, Any]:
    """Merge the services' documents (by service name) and the gateway's own. A component name
    defined differently by two services gets the service's prefix (`Subsidy_Page`)."""
    sections: dict[str, dict[str, Any]] = {}
    paths: dict[str, dict[str, Any]] = {}
    tags: dict[str, dict[str, Any]] = {}
    sources = [("gateway", gateway_doc), *sorted(docs.items())]
    for service, doc in sources:
        doc = copy.deepcopy(doc)
        renames: dict[str, str] = {}
        components = doc.get("components", {})
        for name, schema in components.get("schemas", {}).items():
            have = sections.setdefault("schemas", {})
            if name in have and have[name] != schema:
                renames[name] = f"{service.capitalize()}_{name}"
        doc = _rename_refs(doc, renames)
        for section, entries in doc.get("components", {}).items():
            if section == "securitySchemes":
                continue
            have = sections.setdefault(section, {})
            for name, value in entries.items():
                new = renames.get(name, name) if section == "schemas" else name
                if new in have and have[new] != value:
                    new = f"{service.capitalize()}_{name}"
                have.setdefault(new, value)
        for path, item in doc.get("paths", {}).items():
            if not path.startswith(API_PREFIX + "/"):
                continue
            for method, op in item.items():
                if method not in _METHODS or not _routed(method, path):
                    continue
                target = paths.setdefault(path, {})
                if method in target:
                    # /admin/policies lives in two services: one entry, routed by `service`.
                    continue
                op.setdefault("x-fangfan-service", service)
                target[method] = op
        for tag in doc.get("tags", []):
            tags.setdefault(tag["name"], tag)
    components_out: dict[str, Any] = {k: dict(sorted(v.items())) for k, v in sorted(sections.items()) if v}
    components_out["securitySchemes"] = SECURITY_SCHEMES
    out: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": (
                "fangfan (防返) public API, merged by the gateway from the services' own documents. "
                "Authenticate with a bearer JWT or an X-API-Key. Errors are application/problem+json."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}, {"apiKeyAuth": []}],
        "paths": dict(sorted(paths.items())),
        "components": components_out,
    }
    if tags:
        out["tags"] = list(tags.values())
    return out


class OpenApiMerger:
    """Holds the services' documents; fetches those still missing at most every 5 s."""

    def __init__(self, upstreams: dict[str, str], gateway_doc: Any, *, title: str, version: str) -> None:
        self.upstreams = upstreams
        self.gateway_doc = gateway_doc  # a callable returning the gateway's own document
        self.title = title
        self.version = version
        self.docs: dict[str, dict[str, Any]] = {}
        self._merged: dict[str, Any] | None = None
        self._last_try = 0.0
        self._lock = asyncio.Lock()

    async def refresh(
        self, http: aiohttp.ClientSession, *, only_missing: bool = False, only: Iterable[str] | None = None
    ) -> None:
        """Fetch the documents of every service, of those still missing, or of `only` those."""
        async with self._lock:
            self._last_try = time.monotonic()
            chosen = set(self.upstreams) if only is None else set(only)
            wanted = [s for s in self.upstreams if s in chosen and not (only_missing and s in self.docs)]

            async def fetch(service: str) -> tuple[str, dict[str, Any] | None]:
                try:
                    url = self.upstreams[service] + "/openapi.json"
                    async with http.get(url, timeout=aiohttp.ClientTimeout(total=3)) as r:
                        if r.status == 200:
                            return service, await r.json(content_type=None)
                        return service, None
                except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                    log.info("openapi of %s not available yet: %s", service, type(exc).__name__)
                    return service, None

            for service, doc in await asyncio.gather(*(fetch(s) for s in wanted)):
                if doc is not None:
                    self.docs[service] = doc
            self._merged = None

    async def document(self, http: aiohttp.ClientSession | None, *, refresh: bool = False) -> dict[str, Any]:
        if http is not None and (
            refresh or (len(self.docs) < len(self.upstreams) and time.monotonic() - self._last_try > _RETRY_MISSING_S)
        ):
            await self.refresh(http, only_missing=not refresh)
        if self._merged is None:
            self._merged = merge(self.docs, self.gateway_doc(), title=self.title, version=self.version)
            self._merged["info"]["x-fangfan-services"] = sorted(self.docs)
        return self._merged
