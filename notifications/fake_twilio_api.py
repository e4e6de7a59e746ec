"""A local stand-in for the Twilio Messages and Calls APIs, for tests and benchmarks (never the internet).

It checks what the real API checks first (account SID and auth token, an E.164 `To`, a body or
TwiML, a sender), answers with Twilio-shaped JSON, can be told to fail (HTTP 500, 429, an error
code, a timeout), and signs callbacks the way Twilio does: message status, a key pressed during
a call (to the `<Gather>` action), the end of a call.
"""

import base64
import html
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx
from twilio.request_validator import RequestValidator

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-f]{32})/(?P<kind>Messages|Calls)\.json$")
GATHER_ACTION = re.compile(r'<Gather [^>]*action="(?P<url>[^"]+)"')


def _rfc2822_now() -> str:
    """Twilio's date format in its JSON answers."""
    return datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


@dataclass(frozen=True)
class Failure:
    """One scripted failure: an HTTP status with a Twilio error code, or a stall longer than the client waits."""

    status: int = 500
    code: int | None = None
    stall_seconds: float = 0.0


@dataclass
class ReceivedMessage:
    sid: str
    to: str
    body: str
    sender: str
    status_callback: str | None
    form: dict[str, str]
    received_at: float = field(default_factory=time.monotonic)  # for latency measurements


@dataclass
class ReceivedCall:
    sid: str
    to: str
    sender: str
    twiml: str
    status_callback: str | None
    form: dict[str, str]
    received_at: float = field(default_factory=time.monotonic)


@dataclass
class FakeTwilioApi:
    account_sid: str = "AC" + "0" * 31 + "1"
    auth_token: str = "fake-auth-token"  # noqa: S105 - the stand-in's own made-up token
    received: list[ReceivedMessage] = field(default_factory=list)
    calls: list[ReceivedCall] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    echo: Callable[[str], None] | None = None  # told of each message received (the demo prints it)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> "FakeTwilioApi":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            # Keeps connections open as api.twilio.com does (HTTP/1.1): the SDK's session reuses
            # them, and a stand-in that closed each one would charge every message a new connection.
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms wait between

            def do_POST(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-twilio", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def fail_next(self, *failures: Failure) -> None:
        with self._lock:
            self.failures.extend(failures)

    def signed_callback(self, url: str, params: dict[str, str]) -> dict[str, str]:
        """The headers Twilio would send with a webhook POST of `params` to `url`."""
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        return {"X-Twilio-Signature": signature}

    def deliver_status(
        self, sid: str, status: str, *, error_code: int | None = None, post: Callable[..., Any] = httpx.post
    ) -> Any:
        """POST a signed status callback for message `sid` to the StatusCallback it was sent with."""
        message = next(m for m in self.received if m.sid == sid)
        assert message.status_callback, "that message asked for no status callbacks"
        params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "To": message.to, "From": message.sender}
        return self._callback(message.status_callback, params, error_code, post)

    def press(self, sid: str, digits: str, *, post: Callable[..., Any] = httpx.post) -> Any:
        """The called person presses `digits`: a signed POST to the call's `<Gather>` action."""
        call = next(c for c in self.calls if c.sid == sid)
        match = GATHER_ACTION.search(call.twiml)
        assert match, "that call asks for no key"
        url = html.unescape(match["url"])
        params = {"CallSid": sid, "Digits": digits, "To": call.to, "From": call.sender, "AccountSid": self.account_sid}
        return post(url, data=params, headers=self.signed_callback(url, params))

    def end_call(
        self, sid: str, status: str, *, error_code: int | None = None, post: Callable[..., Any] = httpx.post
    ) -> Any:
        """The call ends (`completed`, `no-answer`, `busy`, `failed`, `canceled`): the signed status callback."""
        call = next(c for c in self.calls if c.sid == sid)
        assert call.status_callback, "that call asked for no status callback"
        params = {"CallSid": sid, "CallStatus": status, "To": call.to, "From": call.sender}
        return self._callback(call.status_callback, params, error_code, post)

    def _callback(self, url: str, params: dict[str, str], error_code: int | None, post: Callable[..., Any]) -> Any:
        """A signed webhook POST, as Twilio sends them: the account, and the error code if any."""
        params = params | {"AccountSid": self.account_sid}
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return post(url, data=params, headers=self.signed_callback(url, params))

    # -- the API -------------------------------------------------------------------------------
    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(request.rfile.read(length).decode()))
        match = MESSAGES_PATH.match(request.path)
        if match is None:
            return self._error(request, 404, 20404, "The requested resource was not found")
        if not self._authorised(request.headers.get("Authorization", ""), match["sid"]):
            return self._error(request, 401, 20003, "Authenticate")
        with self._lock:
            failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            if failure.stall_seconds:
                time.sleep(failure.stall_seconds)
            return self._error(request, failure.status, failure.code or failure.status, "Scripted failure")
        if match["kind"] == "Calls":
            return self._call(request, match["sid"], form)
        to, body = form.get("To", ""), form.get("Body", "")
        sender = form.get("From") or form.get("MessagingServiceSid") or ""
        if not E164.match(to):
            return self._error(request, 400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not body:
            return self._error(request, 400, 21602, "Message body is required.")
        if not sender:
            return self._error(request, 400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required.")
        sid = "SM" + secrets.token_hex(16)
        with self._lock:
            self.received.append(ReceivedMessage(sid, to, body, sender, form.get("StatusCallback"), form))
        if self.echo is not None:
            self.echo(f"Twilio Messages to {to}: {body}")
        now = _rfc2822_now()
        self._json(
            request,
            201,
            {
                "sid": sid,
                "account_sid": match["sid"],
                "to": to,
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": body,
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "date_created": now,
                "date_updated": now,
                "date_sent": None,
                "error_code": None,
                "error_message": None,
                "price": None,
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{match['sid']}/Messages/{sid}.json",
            },
        )

    def _call(self, request: BaseHTTPRequestHandler, account: str, form: dict[str, str]) -> None:
        to, sender, twiml = form.get("To", ""), form.get("From", ""), form.get("Twiml", "")
        if not E164.match(to):
            return self._error(request, 400, 13224, f"The phone number you are attempting to call, {to}, is not valid.")
        if not sender:
            return self._error(request, 400, 21213, "A 'From' phone number is required.")
        if not (twiml or form.get("Url")):
            return self._error(request, 400, 21205, "A 'Url' or 'Twiml' parameter is required.")
        sid = "CA" + secrets.token_hex(16)
        with self._lock:
            self.calls.append(ReceivedCall(sid, to, sender, twiml, form.get("StatusCallback"), form))
        if self.echo is not None:
            self.echo(f"Twilio Calls to {to}")
        now = _rfc2822_now()
        self._json(
            request,
            201,
            {
                "sid": sid,
                "account_sid": account,
                "to": to,
                "from": sender,
                "status": "queued",
                "direction": "outbound-api",
                "date_created": now,
                "date_updated": now,
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{account}/Calls/{sid}.json",
            },
        )

    def _authorised(self, header: str, sid: str) -> bool:
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid == sid and secrets.compare_digest(password, self.auth_token)

    def _error(self, request: BaseHTTPRequestHandler, status: int, code: int, message: str) -> None:
        self._json(
            request,
            status,
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
        )

    @staticmethod
    def _json(request: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        try:
            request.send_response(status)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            request.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a stall)
            pass
