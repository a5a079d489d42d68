"""A hostile RunComfy: the loopback stand-in, with answers a broken or malicious service gives.

    with HostileRunComfy(token=TOKEN, behaviour="junk_status") as server: ...

Behaviours (`HostileRunComfy.BEHAVIOURS`): a status that is not a string or names no known
state, a status body nested 100 000 deep, an HTML page where JSON or audio should be, a file
that trickles a byte at a time, error answers echoing the token in other encodings (raw,
URL-encoded, JSON-escaped, base64 of `user:token`), and a body larger than it says.
"""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import quote, urlsplit

from fakes.runcomfy_server import RunComfyServer, _Handler as _RunComfyHandler

HTML = b"<!doctype html><html><head><title>502 Bad Gateway</title></head><body><h1>oops</h1></body></html>"


def echoes(token: str) -> list[str]:
    """The token as a careless server might echo it back."""
    return [token, quote(token, safe=""), json.dumps(token)[1:-1].replace("/", "\\/"),
            base64.b64encode(f"user:{token}".encode()).decode()]


class _Hostile(_RunComfyHandler):
    def _raw(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        fake = self.fake
        path = urlsplit(self.path).path
        behaviour = fake.behaviour
        if path.startswith("/v1/requests/") and path.endswith("/status"):
            fake.status_calls += 1
            if behaviour == "junk_status":
                return self._send(200, {"status": {"state": ["in", "progress"]}, "queue_position": "x"})
            if behaviour == "unknown_status":
                return self._send(200, {"status": "thinking-about-it"})
            if behaviour == "deep_status":
                return self._raw(200, b'{"status": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
            if behaviour == "html_status":
                return self._raw(200, HTML, "text/html")
            if behaviour == "echo_status":
                detail = " ".join(echoes(fake.token))
                return self._send(500, {"error_code": 500001, "message": f"internal error for {detail}"})
        if path.startswith("/v1/requests/") and path.endswith("/result") and behaviour == "echo_result":
            detail = " ".join(echoes(fake.token))
            return self._send(200, {"status": "failed", "error": {"message": f"token {detail} rejected"}})
        if path.startswith("/files/"):
            if behaviour == "html_file":
                return self._raw(200, HTML, "text/html")
            if behaviour == "trickle_file":
                self.send_response(200)
                self.send_header("Content-Type", "audio/wav")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                try:
                    for _ in range(100_000):
                        self.wfile.write(b"\0")
                        self.wfile.flush()
                        time.sleep(fake.trickle_delay)
                except OSError:
                    return
                return
            if behaviour == "short_file":
                self.send_response(200)
                self.send_header("Content-Type", "audio/wav")
                self.send_header("Content-Length", "5000")
                self.end_headers()
                self.wfile.write(b"RIFF")
                self.close_connection = True
                return
        return super().do_GET()


class HostileRunComfy(RunComfyServer):
    BEHAVIOURS = ("junk_status", "unknown_status", "deep_status", "html_status", "echo_status",
                  "echo_result", "html_file", "trickle_file", "short_file")
    handler_class = _Hostile

    def __init__(self, token: str, behaviour: str, **kwargs) -> None:
        super().__init__(token, **kwargs)
        self.behaviour = behaviour
        self.trickle_delay = 0.05
