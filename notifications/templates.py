"""Every SMS text, in zh-CN and en, in one place.

PIPL minimum necessary: who, what kind of alert, when, where, the link. Never a diagnosis,
a medication or an ID number. Critical alert texts are fitted into two segments by shortening
the place, the only part that can be long.
"""

from collections.abc import Mapping

from notifications.segments import count_segments

DEFAULT_LANGUAGE = "zh-CN"
LANGUAGES = ("zh-CN", "en")

TEMPLATES: Mapping[str, Mapping[str, str]] = {
    "alert": {
        "zh-CN": "【{center}】紧急#{code}：{who}{what}，{when}，{where}。请立即处理：{link}",
        "en": "[{center}] URGENT #{code}: {who} - {what} at {when}, {where}. Respond: {link}",
    },
    "alert_reminder": {
        "zh-CN": "【{center}】仍未处理#{code}：{who}{what}（{when}起），{where}。请立即处理：{link}",
        "en": "[{center}] STILL OPEN #{code}: {who} - {what} since {when}, {where}. Respond: {link}",
    },
    "alert_outcome": {
        "zh-CN": "【{center}】{who}的{what}已处理：{outcome}。",
        "en": "[{center}] {who} - {what} has been handled: {outcome}.",
    },
    "alert_info": {
        "zh-CN": "【{center}】提示：{who}{what}，{when}。",
        "en": "[{center}] Notice: {who} - {what}, {when}.",
    },
    "visit_reminder": {
        "zh-CN": "【{center}】提醒：{when}上门服务{who}，{where}。",
        "en": "[{center}] Reminder: visit {who} at {when}, {where}.",
    },
    "visit_completed": {
        "zh-CN": "【{center}】{who}今天的上门服务已完成（{when}）。",
        "en": "[{center}] Today's home visit to {who} was completed ({when}).",
    },
    "visit_late": {
        "zh-CN": "【{center}】您{when}的上门服务{who}尚未签到，请尽快前往或联系中心。",
        "en": "[{center}] Your {when} visit to {who} has no check-in yet; please go now or call the center.",
    },
    "visit_missed": {
        "zh-CN": "【{center}】漏访：{worker}{when}的上门服务{who}超过30分钟未签到。",
        "en": "[{center}] Missed visit: {worker}'s {when} visit to {who} has no check-in after 30 minutes.",
    },
    "visit_concern": {
        "zh-CN": "【{center}】{worker}上门{who}时反映情况，请查看记录。",
        "en": "[{center}] {worker} raised a concern during the visit to {who}; please check the record.",
    },
    "manager_summary": {
        "zh-CN": "【{center}】今日：计划{planned}次，完成{completed}次，漏访{missed}次，告警{alerts}次。",
        "en": "[{center}] Today: {planned} visits planned, {completed} completed, {missed} missed, {alerts} alerts.",
    },
    "digest": {
        "zh-CN": "【{center}】今日安排：{summary}",
        "en": "[{center}] Today: {summary}",
    },
    "summary": {
        "zh-CN": "【CareCenter】近一小时还有通知未逐条发送，如需了解请联系服务中心。",
        "en": "[CareCenter] More notifications arrived in the past hour; please contact the center for details.",
    },
    "test": {
        "zh-CN": "【CareCenter】测试短信：短信通道工作正常。",
        "en": "[CareCenter] Test message: the SMS channel works.",
    },
    "reply_help": {
        "zh-CN": "CareCenter：回复1或“收到”确认告警，回复“退订”停止接收，回复“订阅”恢复。",
        "en": "CareCenter: reply 1 or OK to acknowledge an alert, STOP to unsubscribe, START to resubscribe.",
    },
    "reply_opted_out": {
        "zh-CN": "CareCenter：您已退订短信通知。回复“订阅”可恢复。",
        "en": "CareCenter: you will receive no more messages. Reply START to resubscribe.",
    },
    "reply_opted_in": {
        "zh-CN": "CareCenter：您已恢复接收短信通知。",
        "en": "CareCenter: you will receive messages again.",
    },
    "reply_acknowledged": {
        "zh-CN": "CareCenter：已确认，谢谢。{who}{what}由您负责处理。",
        "en": "CareCenter: acknowledged, thank you. You are handling {who} - {what}.",
    },
    "reply_nothing_pending": {
        "zh-CN": "CareCenter：您目前没有待确认的告警。",
        "en": "CareCenter: you have no alert waiting for acknowledgement.",
    },
}


def language_or_default(language: str | None) -> str:
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def render(name: str, language: str | None, **params: str) -> str:
    """The text of template `name` in `language` (zh-CN when unknown)."""
    return TEMPLATES[name][language_or_default(language)].format(**params)


def render_within(name: str, language: str | None, *, max_segments: int, shrink: str, **params: str) -> str:
    """Render, shortening `params[shrink]` (with an ellipsis) until the text fits `max_segments`."""
    value = params[shrink]
    text = render(name, language, **params)
    while count_segments(text).segments > max_segments and value:
        value = value[:-1]
        text = render(name, language, **(params | {shrink: value + "…"}))
    return text
