"""What a call says: TwiML built with the Twilio SDK's VoiceResponse, in the recipient's language.

The call speaks the message, then asks for one key (`<Gather>`): 1 = I'm going / I take charge,
2 = I cannot, 9 = say it again. The key comes back to our signed webhook (`GATHER_PATH`); the
call's end to another (`CALL_STATUS_PATH`). Twilio's `<Say>` takes the language as a locale.
"""

from twilio.twiml.voice_response import Gather, VoiceResponse

from carecommon.i18n import language_of
from notifications.templates import render

GATHER_PATH = "/webhooks/twilio/voice/gather"
CALL_STATUS_PATH = "/webhooks/twilio/voice/status"
SAY_LANGUAGE = {"zh-CN": "zh-CN", "en": "en-US"}
KEY_SECONDS = 8  # how long the call waits for a key after speaking


def say_language(language: str | None) -> str:
    return SAY_LANGUAGE[language_of(language)]


def call_twiml(script: str, language: str, gather_url: str) -> str:
    """The message and the keys, twice; no key at all ends the call (counted as not answered)."""
    response = VoiceResponse()
    for _ in range(2):
        gather = Gather(num_digits=1, action=gather_url, method="POST", timeout=KEY_SECONDS)
        gather.say(script, language=say_language(language))
        gather.say(render("call_keys", language), language=say_language(language))
        response.append(gather)
    response.say(render("call_goodbye", language), language=say_language(language))
    return str(response)


def closing_twiml(template: str, language: str) -> str:
    """A last sentence, then the call ends."""
    response = VoiceResponse()
    response.say(render(template, language), language=say_language(language))
    response.hangup()
    return str(response)
