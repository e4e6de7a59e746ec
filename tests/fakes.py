"""Stand-ins used only by the tests (the local fake of the Twilio API stays in notifications/:
the demo and the benchmarks use it too)."""

import threading
from dataclasses import dataclass, field

from notifications.senders import SendError, SendResult


@dataclass
class SentMessage:
    to: str
    body: str
    status_callback: str | None
    sid: str


@dataclass(frozen=True)
class PlacedCall:
    to: str
    script: str
    twiml: str
    status_callback: str | None
    sid: str


@dataclass
class FakeSender:
    """Records what it sent and the calls it placed; `fail_next` makes the next ones raise the given errors."""

    name: str = "fake"
    sent: list[SentMessage] = field(default_factory=list)
    calls: list[PlacedCall] = field(default_factory=list)
    failures: list[SendError] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, *errors: SendError) -> None:
        with self._lock:
            self.failures.extend(errors)

    def send(self, *, to: str, body: str, status_callback: str | None) -> SendResult:
        with self._lock:
            if self.failures:
                raise self.failures.pop(0)
            sid = f"FAKE{len(self.sent) + 1:08d}"
            self.sent.append(SentMessage(to=to, body=body, status_callback=status_callback, sid=sid))
            return SendResult(provider_sid=sid)

    def call(self, *, to: str, script: str, twiml: str, status_callback: str | None) -> SendResult:
        with self._lock:
            if self.failures:
                raise self.failures.pop(0)
            sid = f"FAKECALL{len(self.calls) + 1:08d}"
            self.calls.append(PlacedCall(to, script, twiml, status_callback, sid))
            return SendResult(provider_sid=sid)
