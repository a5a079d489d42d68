"""Who may talk to the studio: an ASGI middleware in front of every request.

- Bound to loopback (the default), the server answers only requests whose Host names a
  loopback address, so a web page elsewhere cannot reach it through DNS rebinding.
- Bound to any other address it requires the random access token printed with the URL (as
  Jupyter does) on every request: `Authorization: Bearer TOKEN`, `X-Aimusic-Token`, or the
  cookie that opening `/?token=TOKEN` sets (the page then drops the token from its address).
- A request that carries an `Origin` other than the server's own is refused: another site's
  page cannot make a visitor's browser start jobs here.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from http.cookies import SimpleCookie
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qs, urlencode, urlsplit

COOKIE = "aimusic_studio_token"
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]], Awaitable[None]]


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_name(value: str) -> str:
    """The host part of a Host header or an origin's netloc ('[::1]:8765' -> '::1')."""
    return (urlsplit(f"//{value}").hostname or "").lower()


class Guard:
    def __init__(self, app: ASGIApp, token: str | None, loopback_only: bool) -> None:
        self.app = app
        self.token = token
        self.loopback_only = loopback_only

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if self.loopback_only and _host_name(host) not in LOOPBACK_NAMES:
            await self._refuse(scope, send, 403, "forbidden_host",
                               f"this studio answers on loopback only, not for host {host!r}")
            return
        origin = headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc.lower() != host.lower():
            await self._refuse(scope, send, 403, "forbidden_origin",
                               "requests from another site's page are refused")
            return
        if self.token is None:
            await self.app(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        offered = query.get("token", [None])[0]
        if offered is not None and scope["method"] == "GET" and not scope["path"].startswith("/api/"):
            if hmac.compare_digest(offered.encode(), self.token.encode()):
                # the token moves into an HttpOnly cookie and out of the address bar (and history)
                rest = {k: v for k, v in query.items() if k != "token"}
                location = scope["path"] + (f"?{urlencode(rest, doseq=True)}" if rest else "")
                await send({"type": "http.response.start", "status": 303, "headers": [
                    (b"location", location.encode()),
                    (b"set-cookie", f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode()),
                    (b"referrer-policy", b"no-referrer"), (b"content-length", b"0")]})
                await send({"type": "http.response.body", "body": b""})
                return
        if not self._authorised(headers):
            await self._refuse(scope, send, 401, "auth",
                               "this studio needs its access token: open the URL that `aimusic studio` printed "
                               "(it ends in ?token=...), or send Authorization: Bearer TOKEN")
            return
        await self.app(scope, receive, send)

    def _authorised(self, headers: dict[str, str]) -> bool:
        assert self.token is not None
        candidates = [headers.get("x-aimusic-token", "")]
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            candidates.append(auth[7:].strip())
        if "cookie" in headers:
            cookie = SimpleCookie()
            try:
                cookie.load(headers["cookie"])
            except Exception:  # a malformed Cookie header is no token, not an error
                cookie = SimpleCookie()
            if COOKIE in cookie:
                candidates.append(cookie[COOKIE].value)
        return any(c and hmac.compare_digest(c.encode(), self.token.encode()) for c in candidates)

    async def _refuse(self, scope: Scope, send: Any, status: int, kind: str, message: str) -> None:
        if scope["path"].startswith("/api/") or scope["path"] == "/openapi.json":
            body = json.dumps({"error": {"code": 77 if status == 401 else 64, "type": kind, "message": message,
                                         "field": None, "retryable": False, "permanent": True}}).encode()
            ctype = b"application/json"
        else:
            from html import escape

            body = (f"<!doctype html><meta charset=utf-8><title>aimusic studio</title>"
                    f"<h1>aimusic studio</h1><p role=alert id=message>{escape(message)}</p>").encode()
            ctype = b"text/html; charset=utf-8"
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
