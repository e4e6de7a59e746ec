"""WeChat template messages to family contacts, through `wechatpy` (a verified service account).

A template message names an approved template and fills its fields, each at most 20 characters
(WeChat's rule for template fields since 2023), and opens a page when tapped (the response or the
family page). Whether it reached the phone comes later, as a TEMPLATESENDJOBFINISH event.
Error codes: https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/Global_Return_Code.html
"""

from typing import Any

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage

from notifications.senders import Outgoing, ProviderError, SendError, SendResult, no_template, template_values
from notifications.settings import SmsSettings
from notifications.twilio_errors import Verdict

FIELD_LIMIT = 20


WECHAT_ERRORS: dict[int, ProviderError] = {
    -1: ProviderError(Verdict.retry, "WeChat is busy"),
    40001: ProviderError(Verdict.retry, "the access token was refused (fetched again next time)"),
    42001: ProviderError(Verdict.retry, "the access token expired"),
    40003: ProviderError(Verdict.unreachable, "this openid is not a follower of the account"),
    43004: ProviderError(Verdict.unreachable, "the family member no longer follows the account"),
    40037: ProviderError(Verdict.give_up, "the template id is not this account's"),
    47003: ProviderError(Verdict.give_up, "a field breaks the template's rules"),
    45009: ProviderError(Verdict.throttled, "the account's daily API limit is reached"),
    45047: ProviderError(Verdict.throttled, "too many messages to this family member"),
    40164: ProviderError(Verdict.give_up, "this server's address is not in the account's IP whitelist"),
}


class BaseUrlWeChatClient(WeChatClient):  # type: ignore[misc]  # wechatpy ships no type information
    """wechatpy's client with the API base (and the token URL, which wechatpy spells out) configurable."""

    def __init__(self, appid: str, secret: str, *, api_base: str, timeout: float) -> None:
        super().__init__(appid, secret, session=MemoryStorage(), timeout=timeout)
        self.api_base = api_base.rstrip("/")
        self.API_BASE_URL = f"{self.api_base}/cgi-bin/"

    def fetch_access_token(self) -> Any:
        return self._fetch_access_token(
            url=f"{self.api_base}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


class WeChatSender:
    name = "wechat"

    def __init__(self, settings: SmsSettings) -> None:
        problems = settings.wechat_problems()
        if problems:
            raise ValueError("WeChat is not configured: " + "; ".join(problems))
        assert settings.wechat_app_id is not None and settings.wechat_app_secret is not None
        self.client = BaseUrlWeChatClient(
            settings.wechat_app_id,
            settings.wechat_app_secret.get_secret_value(),
            api_base=settings.wechat_api_base,
            timeout=settings.provider_timeout_seconds,
        )

    def deliver(self, message: Outgoing) -> SendResult:
        if message.template is None:
            raise no_template(self.name, message.kind)
        if not message.to_openid:
            raise SendError(Verdict.give_up, "the contact has no WeChat bound")
        data = {field: {"value": value} for field, value in template_values(message, FIELD_LIMIT)}
        try:
            answer = self.client.message.send_template(message.to_openid, message.template.code, data, message.link)
        except WeChatClientException as exc:
            error = WECHAT_ERRORS.get(exc.errcode or 0) or ProviderError(
                Verdict.retry if exc.errcode is None else Verdict.give_up, f"WeChat refused it: {exc.errmsg}"
            )
            if exc.errcode in (40001, 42001):
                self.client.session.delete(f"{self.client.appid}_access_token")
            raise SendError(error.verdict, f"{exc.errcode}: {error.meaning}") from exc
        except requests.RequestException as exc:
            raise SendError(Verdict.retry, f"network error talking to WeChat: {type(exc).__name__}") from exc
        return SendResult(provider_sid=str(answer.get("msgid")), template_code=message.template.code)

    def create_binding_code(self, scene: str, expire_seconds: int) -> tuple[str, str]:
        """A temporary parametric QR code (QR_STR_SCENE): WeChat's ticket, and the URL the code holds."""
        answer = self.client.qrcode.create(
            {
                "expire_seconds": expire_seconds,
                "action_name": "QR_STR_SCENE",
                "action_info": {"scene": {"scene_str": scene}},
            }
        )
        return str(answer["ticket"]), str(answer["url"])
