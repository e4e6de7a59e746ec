"""Twilio error codes and what we do about them, as data.

https://www.twilio.com/docs/api/errors - the codes a Messages request or a status callback carries.
"""

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    retry = "retry"  # try the same message again later
    give_up = "give_up"  # this message will never go out; try the next contact
    unreachable = "unreachable"  # give up, and the number itself is no good
    throttled = "throttled"  # the provider's cap for this number is reached: someone else, or another provider


@dataclass(frozen=True)
class TwilioError:
    verdict: Verdict
    meaning: str


TWILIO_ERRORS: dict[int, TwilioError] = {
    20003: TwilioError(Verdict.give_up, "authentication failed: check the account SID and auth token"),
    20429: TwilioError(Verdict.retry, "too many requests"),
    21211: TwilioError(Verdict.unreachable, "invalid 'To' phone number"),
    21408: TwilioError(Verdict.give_up, "permission to send to this region is not enabled"),
    21610: TwilioError(Verdict.unreachable, "the recipient has unsubscribed (replied STOP)"),
    21612: TwilioError(Verdict.give_up, "this number cannot be reached from the sending number"),
    21614: TwilioError(Verdict.unreachable, "'To' is not a mobile number"),
    21635: TwilioError(Verdict.unreachable, "'To' is not a valid mobile number"),
    21617: TwilioError(Verdict.give_up, "the message body is too long"),
    30001: TwilioError(Verdict.retry, "queue overflow"),
    30002: TwilioError(Verdict.give_up, "account suspended"),
    30003: TwilioError(Verdict.unreachable, "unreachable destination handset"),
    30004: TwilioError(Verdict.give_up, "message blocked"),
    30005: TwilioError(Verdict.unreachable, "unknown destination handset"),
    30006: TwilioError(Verdict.unreachable, "landline or unreachable carrier"),
    30007: TwilioError(Verdict.give_up, "filtered by the carrier as spam"),
    30008: TwilioError(Verdict.retry, "unknown error from the carrier"),
    # Calls (Twilio's voice error codes)
    13223: TwilioError(Verdict.unreachable, "the number to call is not in a valid format"),
    13224: TwilioError(Verdict.unreachable, "the number to call is not a valid phone number"),
    13227: TwilioError(Verdict.give_up, "calls to this country are not enabled on the account"),
    21215: TwilioError(Verdict.give_up, "geographic permissions do not allow calling this number"),
    21217: TwilioError(Verdict.unreachable, "the number to call does not appear to be valid"),
}


def classify(code: int | None, http_status: int | None) -> TwilioError:
    """What to do about an error: by its Twilio code, else by its HTTP status."""
    if code is not None and code in TWILIO_ERRORS:
        return TWILIO_ERRORS[code]
    if http_status is not None and (http_status >= 500 or http_status == 429):
        return TwilioError(Verdict.retry, f"provider answered HTTP {http_status}")
    if http_status is not None and http_status in (401, 403):
        return TwilioError(Verdict.give_up, "the provider refused our credentials")
    return TwilioError(Verdict.give_up, f"the provider refused the message (code {code}, HTTP {http_status})")
