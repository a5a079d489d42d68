"""What every loopback stand-in of a vendor's HTTP API shares: a threaded server on 127.0.0.1
that tolerates clients hanging up, a quiet handler with TCP_NODELAY, and start/stop."""

from __future__ import annotations

import json
import socket
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Failure:
    """An answer to give instead of the normal one (status 0: hang up without answering)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class LoopbackHTTPServer(ThreadingHTTPServer):
    request_queue_size = 256  # the default 5 drops SYNs under a concurrent batch (1 s retransmits)
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # a client that hung up (cancel, timeout) is part of the tests, not a fault
        super().handle_error(request, client_address)


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle + delayed ACK add ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        return

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        """A JSON answer (no body for None)."""
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


class LoopbackServer:
    """Base of the stand-ins: subclasses set `handler_class` (a QuietHandler with `fake` = self)."""

    handler_class: type[QuietHandler]
    _httpd: LoopbackHTTPServer | None = None

    def start(self) -> Any:
        handler = type("Handler", (self.handler_class,), {"fake": self})
        self._httpd = LoopbackHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"
