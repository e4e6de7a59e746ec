"""Security headers on every response, the request-size limit, and where a trailing slash leads.

These wrap everything FastAPI builds (`CareCenterAPI`), so that even the answers FastAPI's own
outer layers give (a 413 for an oversized body, a 500) carry the headers.
"""

import json
from typing import Any

from fastapi import FastAPI, Request
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from carecenter.errors import TOO_LARGE, request_language
from carecommon.i18n import gettext

# No inline script or style anywhere in the UI, so the policy needs no 'unsafe-inline'.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
# FastAPI's interactive docs load their assets from a CDN; they keep FastAPI's own defaults.
NO_CSP_PATHS = ("/docs", "/redoc")
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    """A plain ASGI middleware (Starlette's BaseHTTPMiddleware costs every request a task and a copy)."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app, self.https = app, https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = [
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "same-origin"),
        ]
        if not scope["path"].startswith(NO_CSP_PATHS):
            wanted.append(("Content-Security-Policy", CSP))
        if self.https:
            wanted.append(("Strict-Transport-Security", HSTS))
        if scope["path"].startswith("/api/"):
            wanted.append(("Cache-Control", "no-store"))  # answers name people: no cache keeps them

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ContentLengthLimit:
    """A request whose Content-Length is over the limit is answered 413, as JSON in the caller's language,
    before anything reads it (FastAPI's own limit still counts bodies sent without a length)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = Headers(scope=scope).get("content-length", "")
            if length.isdigit() and int(length) > self.max_bytes:
                language = request_language(Request(scope))
                body = json.dumps({"detail": gettext(TOO_LARGE, language).format(limit=self.max_bytes)}).encode()
                headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": 413, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


class NoTrailingSlash:
    """`GET /login/` goes to `/login` by a relative redirect: never to the host a request's Host header
    names (Starlette's own slash redirect builds an absolute URL from it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD") and len(path) > 1 and path.endswith("/"):
            query = scope.get("query_string", b"").decode("latin-1")
            target = "/" + path.strip("/") + (f"?{query}" if query else "")
            headers = [(b"location", target.encode("latin-1", "replace")), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 307, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


class CareCenterAPI(FastAPI):
    """FastAPI with our outermost layers around everything it builds."""

    def __init__(self, *, public_url: str, max_request_bytes: int, **kwargs: Any) -> None:
        self.https, self.max_request_bytes = public_url.startswith("https://"), max_request_bytes
        super().__init__(max_body_size=max_request_bytes, redirect_slashes=False, **kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        inner = NoTrailingSlash(ContentLengthLimit(super().build_middleware_stack(), max_bytes=self.max_request_bytes))
        return SecurityHeaders(inner, https=self.https)
