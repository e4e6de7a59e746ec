"""Who carries a center's message on each channel, and its second path."""

from carecenter.centers.models import Center
from carecenter.messaging.outbound import providers
from notifications.models import MessageChannel
from notifications.settings import SmsProvider, SmsSettings


def test_the_center_names_its_providers_and_wechat_has_no_second_provider() -> None:
    settings = SmsSettings(sms_provider=SmsProvider.twilio, fallback_provider=SmsProvider.tencent)
    assert providers(settings, None, MessageChannel.sms) == (None, "tencent")  # None: the deployment's own
    center = Center(
        name="x", town="x", district="x", time_zone="Asia/Shanghai",
        sms_provider=SmsProvider.aliyun, voice_provider=SmsProvider.tencent,
    )  # fmt: skip
    assert providers(settings, center, MessageChannel.sms) == ("aliyun", "tencent")
    assert providers(settings, center, MessageChannel.voice) == ("tencent", None)  # the second is the same: none
    assert providers(settings, center, MessageChannel.wechat) == ("wechat", None)
