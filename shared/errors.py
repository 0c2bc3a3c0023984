"""The error hierarchy every service renders as RFC 9457 problem+json.

DomainError (status, code)
 ├── NotFound            404  not_found         (also: outside the caller's jurisdiction)
 ├── Unauthorized        401  unauthorized
 ├── Forbidden           403  forbidden          (role may not use this route at all)
 ├── Conflict            409  conflict / a rule code
 ├── Unprocessable       422  validation_failed  (with `errors` [{path, message}])
 ├── PayloadTooLarge     413  payload_too_large
 └── ServiceUnavailable  503  service_unavailable
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "Conflict",
    "DomainError",
    "FieldError",
    "Forbidden",
    "NotFound",
    "PayloadTooLarge",
    "ServiceUnavailable",
    "Unauthorized",
    "Unprocessable",
    "problem",
]

PROBLEM_TYPE_BASE = "https://fangfan.example/problems/"


class DomainError(Exception):
    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        return problem(self.status, self.code, self.detail, title=self.title, instance=instance, **self.extra)


class NotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class Unauthorized(DomainError):
    status, code, title = 401, "unauthorized", "Unauthorized"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Forbidden"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class PayloadTooLarge(DomainError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class ServiceUnavailable(DomainError):
    status, code, title = 503, "service_unavailable", "Service unavailable"


class FieldError(dict[str, Any]):
    """One validation error: `path` (JSON-pointer-like list rendered as dotted string)."""

    def __init__(self, path: str, message: str, type_: str = "invalid") -> None:
        super().__init__(path=path, message=message, type=type_)


class Unprocessable(DomainError):
    status, code, title = 422, "validation_failed", "Validation failed"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        code: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail, code=code, errors=list(errors or []), **extra)


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    instance: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title or code.replace("_", " ").capitalize(),
        "status": status,
        "code": code,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return body
