"""What the local stand-ins of the providers' APIs share: an HTTP server on a free port in a thread."""

import contextlib
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class LocalApi:
    """Subclasses answer in `handle(request, method)`; `down` makes every request fail as an outage would."""

    thread_name = "fake-api"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down = False
        self.echo: Callable[[str], None] | None = None  # told of each message received (the demo prints it)
        self.auto_report = False  # push a delivery receipt a second after each SMS (the demo)
        self._server: ThreadingHTTPServer | None = None

    def received(self, what: str) -> None:
        if self.echo is not None:
            self.echo(what)

    @staticmethod
    def later(action: Callable[[], object], seconds: float = 1.0) -> None:
        """Run `action` in a second, as a provider's receipt comes after its answer; a failure is dropped."""

        def run() -> None:
            with contextlib.suppress(Exception):
                action()

        timer = threading.Timer(seconds, run)
        timer.daemon = True
        timer.start()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                fake.handle(self, "POST")

            def do_GET(self) -> None:
                fake.handle(self, "GET")

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name=self.thread_name, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        raise NotImplementedError

    @staticmethod
    def body_of(request: BaseHTTPRequestHandler) -> bytes:
        return request.rfile.read(int(request.headers.get("Content-Length") or 0))

    @staticmethod
    def reply(
        request: BaseHTTPRequestHandler, status: int, payload: Any, content_type: str = "application/json;charset=utf-8"
    ) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        try:
            request.send_response(status)
            request.send_header("Content-Type", content_type)
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            request.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
            pass
