"""The proxy path for /api/v1, as raw ASGI (no FastAPI routing or per-request objects): rate limit
by IP, route table (404/405), authenticate (401), permission table (403), rate limit by principal,
body limit (413, counted while streaming), circuit breaker (503), forward over pooled keep-alive
connections with per-route timeouts, retry idempotent requests on connection errors, and stream
the answer back. The gateway's own routes (/admin/api-keys) continue to FastAPI."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from gateway import overview, permissions
from gateway.auth import Authenticator
from gateway.bodyguard import JsonDepthGuard, TooDeep, guard_for
from gateway.config import GatewayConfig
from gateway.ratelimit import TokenBuckets
from gateway.routes import API_PREFIX, limits_for, service_for
from shared.auth import PRINCIPAL_HEADER, PRINCIPAL_SIGNATURE_HEADER, Principal, sign_principal
from shared.errors import DomainError, FieldError, NotFound, PayloadTooLarge, ServiceUnavailable, Unprocessable
from shared.logging import request_id_var

__all__ = ["CircuitBreaker", "GatewayState", "GatewayTimeout", "ProxyMiddleware"]

log = logging.getLogger("fangfan.gateway")
PROBLEM_JSON = b"application/problem+json"
GATEWAY_OWN = API_PREFIX + "/admin/api-keys"
#: The gateway's own fan-out to the services' audit chains (gateway/audit.py).
AUDIT_PATH = API_PREFIX + "/audit"
#: Answers at most this big are read whole and sent in one piece; larger ones are streamed.
_SMALL_RESPONSE = 256 * 1024
_RETRY_METHODS = frozenset({"GET", "HEAD"})
_RETRIES = 2
_SKIP_AUTO_HEADERS = ("User-Agent", "Accept-Encoding", "Content-Type", "Accept")

_DROP_REQUEST = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
        b"authorization",
        b"x-api-key",
        b"x-request-id",
        b"traceparent",
        b"x-forwarded-for",
        PRINCIPAL_HEADER.encode(),
        PRINCIPAL_SIGNATURE_HEADER.encode(),
    }
)
_DROP_RESPONSE = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"upgrade",
        b"trailer",
        b"date",
        b"server",
        b"x-request-id",
        b"content-length",
    }
)
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$")


class CircuitBreaker:
    """Per service: after `failures` consecutive failures, open for `cooldown_s` (fail fast with
    503), then half-open: one probe goes through; its success closes, its failure reopens.

    Only upstream failures count: no connection, a timeout, or an answer 502/503/504. Any other
    answer — a 4xx, or a 500 (a bug to fix, often caused by one caller's input) — and an answer
    broken off after its status line or a client that went away never open it for everyone."""

    def __init__(self, service: str, failures: int, cooldown_s: float) -> None:
        self.service = service
        self.threshold = failures
        self.cooldown_s = cooldown_s
        self.failures = 0
        self.opened_at: float | None = None
        self.probing = False
        self._probes = itertools.count(1)
        self._probe = 0

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half_open" if time.monotonic() - self.opened_at >= self.cooldown_s else "open"

    def before(self) -> int:
        """Raises 503 while open; returns the probe's token when this request is the probe."""
        if self.opened_at is None:
            return 0
        waited = time.monotonic() - self.opened_at
        if waited < self.cooldown_s or self.probing:
            retry = max(1, int(self.cooldown_s - waited + 0.999)) if waited < self.cooldown_s else 1
            raise ServiceUnavailable(
                f"{self.service} is failing; not forwarding for a while", code="circuit_open", retry_after=retry
            )
        self.probing = True  # half-open: this request is the probe
        self._probe = next(self._probes)
        return self._probe

    def abandon(self, probe: int) -> None:
        """The probe ended without a verdict (its client went away, its body was refused): the
        next request may probe. Without this the circuit stayed open for good."""
        if probe and self.probing and self._probe == probe:
            self.probing = False

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.probing = False

    def failure(self) -> None:
        self.failures += 1
        if self.probing or self.failures >= self.threshold:
            if self.opened_at is None or self.probing:
                log.warning("circuit for %s opened after %d failures", self.service, self.failures)
            self.opened_at = time.monotonic()
        self.probing = False


@dataclass
class GatewayState:
    config: GatewayConfig
    authenticator: Authenticator
    internal_secret: str
    http: aiohttp.ClientSession | None = None
    breakers: dict[str, CircuitBreaker] = field(default_factory=dict)
    ip_buckets: TokenBuckets | None = None
    principal_buckets: TokenBuckets | None = None
    extra_buckets: dict[str, TokenBuckets] = field(default_factory=dict)
    timeouts: dict[float, aiohttp.ClientTimeout] = field(default_factory=dict)
    round_robin: dict[str, Iterator[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        c = self.config
        self.breakers = {s: CircuitBreaker(s, c.breaker_failures, c.breaker_cooldown_s) for s in c.upstreams}
        self.round_robin = {s: itertools.count() for s in c.upstreams}
        self.ip_buckets = TokenBuckets("per client IP", c.rate_ip)
        self.principal_buckets = TokenBuckets("per caller", c.rate_principal)
        self.extra_buckets = {
            "self_application": TokenBuckets("self-applications", c.rate_self_application),
            "export": TokenBuckets("exports", c.rate_export),
        }

    def timeout(self, total: float) -> aiohttp.ClientTimeout:
        t = self.timeouts.get(total)
        if t is None:
            t = self.timeouts[total] = aiohttp.ClientTimeout(total=total, sock_connect=2.0)
        return t


async def send_problem(send: Any, exc: DomainError, instance: str) -> None:
    body = json.dumps(exc.to_problem(instance=instance)).encode()
    headers = [(b"content-type", PROBLEM_JSON), (b"content-length", str(len(body)).encode())]
    if "retry_after" in exc.extra:
        headers.append((b"retry-after", str(exc.extra["retry_after"]).encode()))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class GatewayTimeout(DomainError):
    status, code, title = 504, "upstream_timeout", "Gateway timeout"


class _RouteInfo:
    """What the access log and metrics label the request with (a pattern, not the raw path)."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


class ProxyMiddleware:
    def __init__(self, app: Any, state: GatewayState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        try:
            await self._handle(scope, receive, send)
        except DomainError as exc:
            await send_problem(send, exc, scope["path"])
        finally:
            probe = scope.pop("fangfan.probe", None)
            if probe is not None:
                probe[0].abandon(probe[1])

    async def _handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        st = self.state
        full_path: str = scope["path"]
        path = full_path[len(API_PREFIX) :]
        method: str = scope["method"]
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        st.ip_buckets.take(ip)  # type: ignore[union-attr]

        rule = permissions.match(method, path)
        scope["route"] = _RouteInfo(API_PREFIX + rule.pattern)
        authorization = api_key = content_type = None
        content_length: int | None = None
        for k, v in scope["headers"]:
            if k == b"authorization":
                authorization = v.decode("latin-1")
            elif k == b"x-api-key":
                api_key = v.decode("latin-1")
            elif k == b"content-type":
                content_type = v.decode("latin-1")
            elif k == b"content-length":
                try:
                    content_length = int(v)
                except ValueError:
                    raise Unprocessable("bad Content-Length") from None
        principal = await st.authenticator.authenticate(authorization, api_key, st.http)
        query = scope.get("query_string", b"").decode("latin-1")
        permissions.check(rule, principal.role, path, query)
        key = f"{principal.role}:{principal.sub}"
        st.principal_buckets.take(key)  # type: ignore[union-attr]
        if rule.bucket and principal.role in rule.bucket_roles:
            st.extra_buckets[rule.bucket].take(key)
        if permissions.is_export(path, query):
            st.extra_buckets["export"].take(key)

        if method == "GET" and overview.is_overview(path):  # aggregated here, from the services' APIs
            await overview.serve(st, principal, path, send)
            return
        if full_path.startswith(GATEWAY_OWN) or full_path == AUDIT_PATH:
            scope["fangfan.principal"] = principal
            await self.app(scope, receive, send)
            return

        max_body, timeout = limits_for(method, path)
        if content_length is not None and content_length > max_body:
            raise PayloadTooLarge(f"request body over {max_body} bytes", max_bytes=max_body)
        # The first chunk of the body: a small body arrives whole and is sent as bytes.
        first = await receive()
        chunk: bytes = first.get("body", b"")
        more = bool(first.get("more_body"))
        if len(chunk) > max_body:
            raise PayloadTooLarge(f"request body over {max_body} bytes", max_bytes=max_body)
        # Nesting depth is bounded here, before any service parses the body (issue #20).
        depth = guard_for(content_type, st.config.max_json_depth) if method not in _RETRY_METHODS else None
        _check_depth(depth, chunk)
        if path == "/admin/policies" or path.startswith("/admin/policies/"):
            if more:
                chunk = await _read_rest(chunk, receive, max_body, depth)
                more = False
            service: str | None = _policy_service(method, query, chunk)
        else:
            service = service_for(path)
        if service is None or service not in st.config.upstreams:
            raise NotFound(f"no such route: {full_path}")

        breaker = st.breakers[service]
        probe = breaker.before()
        if probe:
            scope["fangfan.probe"] = (breaker, probe)
        headers = self._upstream_headers(scope, principal, ip, content_length if more else None)
        pool = st.config.replicas.get(service) or (st.config.upstreams[service],)
        first = next(st.round_robin[service])
        suffix = full_path + ("?" + query if query else "")
        body_state: dict[str, bool] = {}
        data: Any = _stream_body(chunk, receive, max_body, body_state, depth) if more else chunk
        http = st.http
        assert http is not None, "gateway not started"
        attempts = _RETRIES + 1 if method in _RETRY_METHODS and not more else 1
        if len(pool) > 1 and not more:
            # A refused connection means nothing was sent: another replica may take any method.
            attempts = max(attempts, len(pool))
        for attempt in range(attempts):
            url = pool[(first + attempt) % len(pool)] + suffix
            try:
                upstream = await http.request(
                    method,
                    url,
                    data=data if (data or method not in _RETRY_METHODS) else None,
                    headers=headers,
                    timeout=st.timeout(timeout),
                    allow_redirects=False,
                    skip_auto_headers=_SKIP_AUTO_HEADERS,
                )
                break
            except (aiohttp.ClientConnectionError, TimeoutError, _BodyTooLarge, _ClientGone) as exc:
                if body_state.get("too_large"):
                    raise PayloadTooLarge(f"request body over {max_body} bytes", max_bytes=max_body) from None
                if body_state.get("too_deep"):
                    raise _too_deep(st.config.max_json_depth) from None
                if body_state.get("client_gone"):
                    return
                timed_out = isinstance(exc, TimeoutError)
                unsent = isinstance(exc, aiohttp.ClientConnectorError)
                may_retry = method in _RETRY_METHODS or (unsent and len(pool) > 1)
                if attempt + 1 < attempts and not timed_out and may_retry:
                    await asyncio.sleep(0.05 * (attempt + 1))
                    continue
                breaker.failure()
                if timed_out:
                    raise GatewayTimeout(f"{service} did not answer within {timeout:g} s") from None
                raise ServiceUnavailable(f"{service} is unreachable", code="upstream_unavailable") from None
        started = False
        try:
            if upstream.status in (502, 503, 504):
                breaker.failure()
            else:
                breaker.success()
            out = [(k, v) for k, v in upstream.raw_headers if k.lower() not in _DROP_RESPONSE]
            size = upstream.content_length
            if method == "HEAD" or (size is not None and size <= _SMALL_RESPONSE):
                body = await upstream.read() if method != "HEAD" else b""
                out.append((b"content-length", str(len(body)).encode()))
                started = True
                await send({"type": "http.response.start", "status": upstream.status, "headers": out})
                await send({"type": "http.response.body", "body": body})
                return
            if size is not None:
                out.append((b"content-length", str(size).encode()))
            started = True
            await send({"type": "http.response.start", "status": upstream.status, "headers": out})
            async for part in upstream.content.iter_chunked(65536):
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        except (aiohttp.ClientError, TimeoutError) as exc:
            # The service answered (its status line is in): it is up. An answer broken off
            # afterwards fails this one request (often its own input), never everyone's: not
            # counted by the breaker (issue #20/#22: one caller's failure cut others off).
            if not started:
                if isinstance(exc, TimeoutError):
                    raise GatewayTimeout(f"{service} did not answer within {timeout:g} s") from None
                raise ServiceUnavailable(f"{service} broke off its answer", code="upstream_unavailable") from None
            # Headers are out already: all we can do is cut the answer short.
            log.warning("%s: upstream answer broken off: %s", service, type(exc).__name__)
            await send({"type": "http.response.body", "body": b""})
        finally:
            upstream.release()

    def _upstream_headers(
        self, scope: dict[str, Any], principal: Principal, ip: str, content_length: int | None
    ) -> list[tuple[str, str]]:
        traceparent = forwarded = ""
        out: list[tuple[str, str]] = []
        for k, v in scope["headers"]:
            if k in _DROP_REQUEST:
                if k == b"traceparent":
                    traceparent = v.decode("latin-1")
                elif k == b"x-forwarded-for":
                    forwarded = v.decode("latin-1")
                continue
            out.append((k.decode("latin-1"), v.decode("latin-1")))
        rid = request_id_var.get()
        raw, sig = sign_principal(principal, self.state.internal_secret, request_id=rid)
        if not _TRACEPARENT.match(traceparent):
            traceparent = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"
        out += [
            (PRINCIPAL_HEADER, raw),
            (PRINCIPAL_SIGNATURE_HEADER, sig),
            ("x-request-id", rid),
            ("traceparent", traceparent),
            ("x-forwarded-for", f"{forwarded}, {ip}" if forwarded else ip),
        ]
        if content_length is not None:
            out.append(("content-length", str(content_length)))
        return out


def _too_deep(limit: int) -> Unprocessable:
    return Unprocessable(
        f"the JSON body nests deeper than {limit} levels",
        code="json_too_deep",
        errors=[FieldError("body", f"nested deeper than {limit} levels", "json_depth")],
    )


def _check_depth(guard: JsonDepthGuard | None, chunk: bytes) -> None:
    if guard is not None:
        try:
            guard.feed(chunk)
        except TooDeep:
            raise _too_deep(guard.limit) from None


async def _read_rest(first: bytes, receive: Any, max_body: int, depth: JsonDepthGuard | None = None) -> bytes:
    parts = [first]
    total = len(first)
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            raise PayloadTooLarge("client went away")  # nobody will read the answer anyway
        part = msg.get("body", b"")
        total += len(part)
        if total > max_body:
            raise PayloadTooLarge(f"request body over {max_body} bytes", max_bytes=max_body)
        _check_depth(depth, part)
        parts.append(part)
        if not msg.get("more_body"):
            return b"".join(parts)


async def _stream_body(
    first: bytes, receive: Any, max_body: int, state: dict[str, bool], depth: JsonDepthGuard | None = None
) -> AsyncIterator[bytes]:
    """The client's body, chunk by chunk as it arrives, into the upstream request; stops (and the
    request fails) as soon as it passes `max_body` or nests deeper than the depth guard allows."""
    total = len(first)
    if first:
        yield first
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            state["client_gone"] = True
            raise _ClientGone()
        part = msg.get("body", b"")
        total += len(part)
        if total > max_body:
            state["too_large"] = True
            raise _BodyTooLarge()
        if depth is not None and part:
            try:
                depth.feed(part)
            except TooDeep:
                state["too_deep"] = True
                raise _BodyTooLarge() from None
        if part:
            yield part
        if not msg.get("more_body"):
            return


def _policy_service(method: str, query: str, body: bytes) -> str:
    """`/admin/policies` lives in several services; the `service` field (or query) says which."""
    svc: Any = ""
    if method in ("GET", "HEAD"):
        from urllib.parse import parse_qs

        svc = parse_qs(query).get("service", ["identification"])[0]
    else:
        try:
            doc = json.loads(body or b"{}")
            svc = doc.get("service", "") if isinstance(doc, dict) else ""
        except (ValueError, RecursionError):  # a deep body sent as text/*: not checked for depth
            svc = ""
    if svc not in ("identification", "subsidy", "civil_affairs"):
        raise Unprocessable(
            "service must be identification, subsidy or civil_affairs",
            errors=[FieldError("service", "must be identification, subsidy or civil_affairs", "enum")],
        )
    return str(svc)
