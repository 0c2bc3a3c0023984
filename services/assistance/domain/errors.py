"""The assistance domain's refusal: a rule that forbids an action, with its code and source."""

from __future__ import annotations

__all__ = ["RuleViolation"]


class RuleViolation(Exception):
    """An action the lifecycle or a rule does not allow; the API renders it as 409 with `code`."""

    def __init__(self, code: str, detail: str, source: str = "") -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.source = source
