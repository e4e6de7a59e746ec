"""Every provider a deployment has set up, by name: a center may send through any of them."""

from notifications.senders import ConsoleSender, SmsSender, TemplateSender, TwilioSender
from notifications.settings import SmsSettings


def make_senders(settings: SmsSettings) -> dict[str, SmsSender | TemplateSender]:
    """Every provider whose settings are complete, by name: a center may use any of them."""
    ready = settings.configured_providers()
    senders: dict[str, SmsSender | TemplateSender] = {"console": ConsoleSender()}
    if "twilio" in ready:
        senders["twilio"] = TwilioSender(settings)
    # The Chinese providers' SDKs and WeChat's are imported only where they are set up: they cost
    # every process half a second at start, and WeChat's 10 MB.
    if "aliyun" in ready:
        from notifications.aliyun import AliyunSender

        senders["aliyun"] = AliyunSender(settings)
    if "tencent" in ready:
        from notifications.tencent import TencentSender

        senders["tencent"] = TencentSender(settings)
    if "wechat" in ready:
        from notifications.wechat import WeChatSender

        senders["wechat"] = WeChatSender(settings)
    return senders


def deployment_sender(
    settings: SmsSettings, senders: dict[str, SmsSender | TemplateSender]
) -> SmsSender | TemplateSender:
    """The sender of CARECENTER_SMS_PROVIDER: messages that name no provider go through it."""
    name = settings.sms_provider.value
    if name not in senders:
        problems = {"twilio": settings.twilio_problems, "aliyun": settings.aliyun_problems}.get(
            name, settings.tencent_problems
        )()
        raise ValueError(f"{name} is not configured: " + "; ".join(problems))
    return senders[name]
