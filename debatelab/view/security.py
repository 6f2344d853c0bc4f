"""What keeps a local viewer safe in a browser that also visits other sites.

- Host check: only `127.0.0.1`, `localhost` or `[::1]` (or the host it was told to bind) may be
  named in the Host header, so a DNS-rebinding page cannot read the store through the browser.
- CSRF: a random token lives in a SameSite=Strict cookie and in every form; a write whose form
  token does not equal the cookie, or whose Origin is another site, is refused with 403.
- Content-Security-Policy: scripts and styles only from the viewer itself, never inline, so even
  a template mistake cannot turn model text into a running script. Jinja2 autoescapes everything.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response

CSRF_COOKIE = "debatelab_csrf"
CSRF_FIELD = "csrf"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


class SecurityHeaders(BaseHTTPMiddleware):
    """Adds the CSP and friends, and gives every visitor a CSRF cookie on their first page."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        token = request.cookies.get(CSRF_COOKIE)
        fresh = token is None or len(token) < 32
        request.state.csrf = secrets.token_urlsafe(32) if fresh else token
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if fresh:
            response.set_cookie(CSRF_COOKIE, request.state.csrf, httponly=True, samesite="strict", path="/")
        return response


def csrf_problem(request: Request, form_token: str | None) -> str | None:
    """Why a write must be refused, or None when its token and origin are ours."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not form_token or not hmac.compare_digest(cookie, str(form_token)):
        return ("the form's security token does not match this browser's (the page may be from before a restart "
                "of the viewer); reload the page and submit again")
    origin = request.headers.get("origin")
    if origin and origin != "null" and origin.rstrip("/") != f"{request.url.scheme}://{request.url.netloc}":
        return f"a form from {origin} may not write to this viewer"
    return None
