"""Security headers on every response."""

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

# No inline script or style anywhere in the UI, so the policy needs no 'unsafe-inline'.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
# FastAPI's interactive docs load their assets from a CDN; they keep FastAPI's own defaults.
NO_CSP_PATHS = ("/docs", "/redoc")


def install_security_headers(app: FastAPI, *, public_url: str) -> None:
    https = public_url.startswith("https://")

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith(NO_CSP_PATHS):
            response.headers.setdefault("Content-Security-Policy", CSP)
        if https:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
