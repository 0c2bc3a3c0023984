"""Console sessions: the officer's JWT in an HttpOnly, SameSite=Strict cookie; CSRF tokens bound
to the session (HMAC of the token), or — on the sign-in forms, before there is a session — a
double-submit cookie; the security headers of every console answer."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "LOGIN_CSRF_COOKIE",
    "SESSION_COOKIE",
    "SessionKeys",
    "secure_headers",
]

SESSION_COOKIE = "ff_console"
LOGIN_CSRF_COOKIE = "ff_console_login"

#: No inline scripts or styles anywhere: the console's own JS and CSS files only.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'"
)


def secure_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    return response


class SessionKeys:
    """Derives CSRF tokens from a server secret, so no session store is needed."""

    def __init__(self, secret: str, *, secure_cookies: bool) -> None:
        self._key = hashlib.sha256(b"fangfan-console-csrf:" + secret.encode()).digest()
        self.secure_cookies = secure_cookies

    def csrf_for(self, token: str) -> str:
        return hmac.new(self._key, hashlib.sha256(token.encode()).digest(), hashlib.sha256).hexdigest()

    def check_csrf(self, token: str, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(self.csrf_for(token), sent or "")

    def set_session(self, response: Response, token: str, max_age: int) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=max(max_age, 0),
            path="/console",
            httponly=True,
            samesite="strict",
            secure=self.secure_cookies,
        )

    def clear_session(self, response: Response) -> None:
        response.delete_cookie(
            SESSION_COOKIE, path="/console", httponly=True, samesite="strict", secure=self.secure_cookies
        )

    @staticmethod
    def login_csrf_value(request: Request) -> str:
        """The double-submit value for the sign-in forms (reused while its cookie lives)."""
        return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)

    def set_login_csrf(self, response: Response, value: str) -> None:
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            value,
            max_age=3600,
            path="/console",
            httponly=True,
            samesite="strict",
            secure=self.secure_cookies,
        )

    @staticmethod
    def check_login_csrf(request: Request, sent: str | None) -> bool:
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
        return bool(cookie) and bool(sent) and hmac.compare_digest(cookie or "", sent or "")
