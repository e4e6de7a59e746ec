"""The two kinds of sender the dispatcher hands an outbox row to, by the row's provider.

Text senders take the full text: Twilio (the official SDK), the console and the tests' fake
`send` an SMS and `call` with TwiML. Template senders (`TemplateSender`: Aliyun, Tencent and
WeChat, each in its own module) `deliver` an `Outgoing`, the kind with its parameters and the
template the provider approved. What a provider's refusal means (`SendError`'s verdict: retry,
give up, drop the number, throttled) is the same for both.
"""

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from notifications.settings import SmsSettings
from notifications.twilio_errors import TwilioError, Verdict, classify

log = logging.getLogger(__name__)
TWILIO_DEFAULT_BASE = "https://api.twilio.com"


@dataclass(frozen=True)
class SendResult:
    provider_sid: str
    template_code: str | None = None  # what a template provider sent


@dataclass(frozen=True)
class Outgoing:
    """One message as a template provider needs it: the kind, its parameters and the approved template."""

    id: int
    channel: str
    to: str  # E.164
    language: str
    kind: str
    params: dict[str, str]
    text: str  # the full text, for the log and for a provider that takes text
    template: "ApprovedTemplate | None"
    link: str | None  # the page the message points to (WeChat opens it)
    to_openid: str | None = None
    # An alert call's keys and the approved template each one plays back ("1" -> call.taken's).
    key_templates: tuple[tuple[str, "ApprovedTemplate"], ...] = ()


@dataclass(frozen=True)
class ApprovedTemplate:
    code: str
    fields: tuple[tuple[str, str], ...]  # (the template's variable, the kind's parameter), in order


@dataclass(frozen=True)
class ProviderError:
    """What a provider's error code means to us: whether to retry, give up, or drop the number."""

    verdict: Verdict
    meaning: str


class SendError(Exception):
    """A send that did not go through; `verdict` says whether to retry, give up, or drop the number."""

    def __init__(self, verdict: Verdict, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.verdict = verdict
        self.message = message
        self.code = code


class SmsSender(Protocol):
    """Sends one SMS (or places one call) and returns the provider's id, or raises SendError.
    Never called in a transaction.

    `status_callback` is the URL the provider should report delivery (or the call's end) to
    (None: no reports). A call speaks `twiml`; `script` is the same words for people to read.
    """

    name: str

    def send(self, *, to: str, body: str, status_callback: str | None) -> SendResult: ...

    def call(self, *, to: str, script: str, twiml: str, status_callback: str | None) -> SendResult: ...


@runtime_checkable
class TemplateSender(Protocol):
    """A provider that sends approved templates with parameters, never free text (Aliyun, Tencent, WeChat)."""

    name: str

    def deliver(self, message: Outgoing) -> SendResult: ...


class ConsoleSender:
    """The embedded default: writes each message to the log; the message log shows it as sent."""

    name = "console"

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def send(self, *, to: str, body: str, status_callback: str | None) -> SendResult:
        sid = f"CONSOLE{next(self._ids):08d}"
        log.warning("SMS to %s [%s]: %s", to, sid, body)
        return SendResult(provider_sid=sid)

    def call(self, *, to: str, script: str, twiml: str, status_callback: str | None) -> SendResult:
        sid = f"CONSOLECALL{next(self._ids):08d}"
        log.warning("CALL to %s [%s] would say: %s", to, sid, script)
        return SendResult(provider_sid=sid)


class BaseUrlHttpClient(TwilioHttpClient):  # type: ignore[misc]  # the SDK ships no type information
    """The SDK's own HTTP client with an explicit timeout, sending to `api_base` instead of api.twilio.com."""

    def __init__(self, *, api_base: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.api_base = api_base.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_DEFAULT_BASE):
            url = self.api_base + url[len(TWILIO_DEFAULT_BASE) :]
        return super().request(method, url, *args, **kwargs)


class TwilioSender:
    """Sends through the official `twilio` SDK; vendor errors become SendError with a verdict."""

    name = "twilio"

    def __init__(self, settings: SmsSettings) -> None:
        problems = settings.twilio_problems()
        if problems:
            raise ValueError("Twilio is not configured: " + "; ".join(problems))
        assert settings.twilio_auth_token is not None
        self.from_number = settings.twilio_from_number
        self.caller_id = settings.twilio_caller_id or settings.twilio_from_number
        self.messaging_service_sid = settings.twilio_messaging_service_sid
        self.client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            http_client=BaseUrlHttpClient(api_base=settings.twilio_api_base, timeout=settings.twilio_timeout_seconds),
        )

    def send(self, *, to: str, body: str, status_callback: str | None) -> SendResult:
        params: dict[str, Any] = {"to": to, "body": body}
        if self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        else:
            params["from_"] = self.from_number
        if status_callback:
            params["status_callback"] = status_callback
        return _created(lambda: self.client.messages.create(**params), "message")

    def call(self, *, to: str, script: str, twiml: str, status_callback: str | None) -> SendResult:
        """`client.calls.create` with the TwiML inline; the end of the call is reported to `status_callback`."""
        if not self.caller_id:
            raise SendError(Verdict.give_up, "no caller number: set CARECENTER_TWILIO_CALLER_ID (or FROM_NUMBER)")
        # Answering machine detection: a call a voicemail takes counts as not answered.
        params: dict[str, Any] = {
            "to": to,
            "from_": self.caller_id,
            "twiml": twiml,
            "timeout": RING_SECONDS,
            "machine_detection": "Enable",
        }
        if status_callback:
            params |= {
                "status_callback": status_callback,
                "status_callback_event": ["completed"],
                "status_callback_method": "POST",
            }
        return _created(lambda: self.client.calls.create(**params), "call")


RING_SECONDS = 30  # how long a call rings before it counts as not answered


def _created(create: Callable[[], Any], what: str) -> SendResult:
    """Run an SDK create call; vendor and network errors become SendError with a verdict."""
    try:
        resource = create()
    except TwilioRestException as exc:
        raise _send_error(classify(exc.code, exc.status), exc.code) from exc
    except TwilioException as exc:  # RFC 9457 service errors and the like
        code = getattr(exc, "code", None)
        raise _send_error(classify(code, getattr(exc, "status", None)), code) from exc
    except requests.RequestException as exc:  # timeouts, refused connections, TLS trouble
        raise SendError(Verdict.retry, f"network error talking to Twilio: {type(exc).__name__}") from exc
    if not resource.sid:
        raise SendError(Verdict.retry, f"Twilio answered without a {what} SID")
    return SendResult(provider_sid=resource.sid)


def _send_error(error: TwilioError, code: int | None) -> SendError:
    return SendError(error.verdict, error.meaning, code)


def shortened(value: str, limit: int) -> str:
    """A parameter value within a provider's length limit (an ellipsis where it was cut)."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def template_values(message: Outgoing, limit: int | None = None) -> list[tuple[str, str]]:
    """The template's variables with their values, in order, each within `limit` characters."""
    assert message.template is not None
    values = []
    for variable, param in message.template.fields:
        value = message.params.get(param, "")
        values.append((variable, shortened(value, limit) if limit else value))
    return values


def no_template(provider: str, kind: str) -> SendError:
    return SendError(
        Verdict.give_up,
        f"{provider} has no approved template for '{kind}': an admin adds it under Messages, Templates",
    )
