"""What keeps a local viewer safe in a browser that also visits other sites.

- Host check: only `127.0.0.1`, `localhost` or `[::1]` (or the host it was told to bind) may be
  named in the Host header, so a DNS-rebinding page cannot read the store through the browser.
- CSRF: every form carries a token that the viewer process signed with a secret it made at start
  (HMAC-SHA256) and that equals the browser's SameSite=Strict cookie. A token the client chose
  proves nothing (cookies ignore ports, so another local web page could plant one), so an
  unsigned or foreign token is refused, as is a form from another origin or from `Origin: null`
  (a sandboxed frame, a file: page, a redirect chain hiding where it came from).
- Content-Security-Policy: scripts and styles only from the viewer itself, never inline, so even
  a template mistake cannot turn model text into a running script. Jinja2 autoescapes everything.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

CSRF_COOKIE = "debatelab_csrf"
CSRF_FIELD = "csrf"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


class CsrfTokens:
    """Tokens signed with this process's secret: `nonce.signature`. A restart makes a new secret,
    so pages from before it must be reloaded (the refusal says so)."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def _sign(self, nonce: str) -> str:
        return hmac.new(self._secret, nonce.encode(), hashlib.sha256).hexdigest()

    def issue(self) -> str:
        nonce = secrets.token_urlsafe(24)
        return f"{nonce}.{self._sign(nonce)}"

    def valid(self, token: str | None) -> bool:
        nonce, _, signature = (token or "").partition(".")
        return bool(nonce and signature) and hmac.compare_digest(signature, self._sign(nonce))


class SecurityHeaders(BaseHTTPMiddleware):
    """Adds the CSP and friends, and gives every visitor a signed CSRF cookie (a new one whenever the
    browser's cookie is missing or was not signed by this process)."""

    def __init__(self, app: ASGIApp, tokens: CsrfTokens) -> None:
        super().__init__(app)
        self.tokens = tokens

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        token = request.cookies.get(CSRF_COOKIE)
        fresh = not self.tokens.valid(token)
        request.state.csrf = self.tokens.issue() if fresh else token
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if fresh:
            response.set_cookie(CSRF_COOKIE, request.state.csrf, httponly=True, samesite="strict", path="/")
        return response


def csrf_problem(request: Request, form_token: object, tokens: CsrfTokens) -> str | None:
    """Why a write must be refused, or None when its token is ours and its origin is this viewer."""
    origin = request.headers.get("origin")
    if origin is not None and origin.strip().lower() == "null":
        return "a form from an opaque origin (Origin: null) may not write to this viewer; open the viewer's own page"
    if origin and origin.rstrip("/") != f"{request.url.scheme}://{request.url.netloc}":
        return f"a form from {origin} may not write to this viewer"
    cookie = request.cookies.get(CSRF_COOKIE)
    if not tokens.valid(cookie) or not isinstance(form_token, str) or not hmac.compare_digest(cookie or "", form_token):
        return ("the form's security token is not this viewer's (the page may be from before a restart of the "
                "viewer); reload the page and submit again")
    return None
