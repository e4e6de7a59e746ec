"""What a message is: a kind with parameters, put into words by the channel that sends it.

The outbox stores the kind, its parameters and the recipient's language. Twilio and the console
send the full text from the catalog (`text`); template providers (Aliyun, Tencent, WeChat) send
the code of a template the provider approved for that kind, with the parameters. Links are never
a parameter's value at a template provider (Aliyun and Tencent refuse a URL as a variable): the
parameter is the token, and the approved template holds the fixed base (`link`).
"""

from collections.abc import Mapping
from dataclasses import dataclass

from carecommon.i18n import gettext, language_of
from notifications.segments import count_segments
from notifications.templates import TEMPLATES

TOKEN = "token"  # noqa: S105 - the parameter that holds a link's token (the link is `public_url + link + token`)


@dataclass(frozen=True)
class MessageKind:
    name: str
    texts: tuple[str, ...]  # catalog entries, joined by a space: the full text
    params: tuple[str, ...]  # in the order a positional template ({1}, {2}, …) numbers them
    channel: str = "sms"  # "sms" or "voice"; WeChat sends the SMS kinds as template messages
    link: str | None = None  # the path before the token, for kinds that carry a link
    shrink: str | None = None  # the parameter shortened so that a critical text fits two segments
    tail: str | None = None  # a parameter of whole sentences added after the text when it is not empty
    proposed: str = ""  # the Chinese template text proposed to the providers: ${name} variables, never two in a row

    def check(self, params: Mapping[str, str]) -> None:
        missing, extra = set(self.params) - set(params), set(params) - set(self.params)
        if missing or extra:
            raise ValueError(f"{self.name}: missing {sorted(missing)}, unexpected {sorted(extra)}")


def _kind(*args: object, **kwargs: object) -> tuple[str, MessageKind]:
    kind = MessageKind(*args, **kwargs)  # type: ignore[arg-type]
    return kind.name, kind


ALERT = ("center", "code", "who", "what", "when", "where", TOKEN)
KINDS: Mapping[str, MessageKind] = dict(
    [
        _kind(
            "alert.critical",
            ("alert",),
            ALERT,
            link="/r/",
            shrink="where",
            proposed="${center}紧急告警#${code}：${who}，${what}，${when}，${where}。请点击处理：{public_url}/r/${token}",
        ),
        _kind(
            "alert.nearby",
            ("alert_nearby",),
            (*ALERT, "distance"),
            link="/r/",
            shrink="where",
            proposed="${center}紧急告警#${code}：${who}，${what}，${when}，${where}，距您${distance}米。"
            "请点击处理：{public_url}/r/${token}",
        ),
        _kind(
            "alert.escalated",
            ("alert_reminder",),
            ALERT,
            link="/r/",
            shrink="where",
            proposed="${center}告警#${code}仍未处理：${who}，${what}，自${when}起，${where}。"
            "请点击处理：{public_url}/r/${token}",
        ),
        _kind(
            "alert.outcome",
            ("alert_outcome",),
            ("center", "who", "what", "outcome"),
            proposed="${center}：${who}的${what}已处理，结果：${outcome}。",
        ),
        _kind(
            "alert.call",
            ("call_alert",),
            ("center", "what", "who", "ago", "where", "answered"),
            channel="voice",
            proposed="照护中心${center}紧急呼叫。${what}：${who}，${ago}。地址：${where}。${answered}"
            "您去处理请按1，无法前往请按2，立即呼叫下一级请按5。",
        ),
        _kind(
            "alert.call_nearby",
            ("call_alert", "call_distance"),
            ("center", "what", "who", "ago", "where", "answered", "distance"),
            channel="voice",
            proposed="照护中心${center}紧急呼叫。${what}：${who}，${ago}。地址：${where}。${answered}"
            "您距离约${distance}米。您去处理请按1，无法前往请按2，立即呼叫下一级请按5。",
        ),
        _kind(
            "visit.reminder",
            ("visit_reminder",),
            ("center", "who", "when", "where"),
            proposed="${center}提醒：${when}上门服务${who}，地址${where}。",
        ),
        _kind(
            "visit.late",
            ("visit_late",),
            ("center", "when", "who"),
            proposed="${center}：您${when}上门服务${who}尚未签到，请尽快前往或致电中心。",
        ),
        _kind(
            "visit.missed",
            ("visit_missed",),
            ("center", "worker", "when", "who", "minutes"),
            proposed="${center}漏访：${worker}于${when}上门服务${who}，${minutes}分钟后仍未签到。",
        ),
        _kind(
            "visit.concern",
            ("visit_concern",),
            ("center", "worker", "who"),
            proposed="${center}：${worker}在为${who}上门服务时报告了问题，请查看记录。",
        ),
        _kind(
            "family.visit_update",
            ("visit_completed",),
            ("center", "who", "when"),
            proposed="${center}：今天为${who}的上门服务已完成（${when}）。",
        ),
        _kind(
            "family.link",
            ("family_link",),
            ("center", "who", TOKEN),
            link="/f/",
            proposed="${center}：在此页面查看${who}的上门服务和告警（90天有效）：{public_url}/f/${token}",
        ),
        _kind(
            "medication.refused",
            ("medication_missed",),
            ("center", "who", "medicine", "outcome", "reason"),
            proposed="${center}用药提醒：${who}的${medicine}：${outcome}。${reason}请跟进。",
        ),
        _kind(
            "manager.digest",
            ("digest",),
            ("center", "summary"),
            proposed="${center}今日安排：${summary}",
        ),
        _kind(
            "manager.summary",
            ("manager_summary",),
            ("center", "planned", "completed", "missed", "alerts", "more"),
            tail="more",
            proposed="${center}今日：计划上门${planned}次，完成${completed}次，漏访${missed}次，告警${alerts}次。${more}",
        ),
        _kind(
            "incident.opened",
            ("incident_opened",),
            ("center", "count", "share", "since", "carrier"),
            proposed="${center}设备大面积失联：自${since}起共${count}台设备（占${share}%）无上报，"
            "最后上报网络：${carrier}，单台告警暂不发送，SOS和跌倒照常通知。",
        ),
        _kind(
            "incident.closed",
            ("incident_closed",),
            ("center", "back", "count", "still"),
            proposed="${center}设备失联已恢复：${count}台中${back}台恢复上报，仍有${still}台失联，将逐一告警。",
        ),
        _kind(
            "system.down",
            ("system_down",),
            ("what",),
            proposed="照护中心系统故障：${what}。告警可能无法送达，请立即检查。",
        ),
        _kind("system.recovered", ("system_recovered",), ("what",), proposed="照护中心系统已恢复：${what}。"),
        _kind("budget.summary", ("summary",), (), proposed="照护中心：过去一小时还有更多通知，详情请联系中心。"),
        _kind("test.sms", ("test",), (), proposed="照护中心测试短信：短信通道正常。"),
        _kind("test.call", ("test_call",), (), channel="voice", proposed="这是照护中心的测试电话，电话通道正常。"),
        # What a call says when a key is pressed (Aliyun's IVR call plays them; Twilio speaks the catalog).
        _kind(
            "call.taken",
            ("call_thanks_going",),
            (),
            channel="voice",
            proposed="您已接警，请尽快到达，其他人将收到通知。",
        ),
        _kind("call.passed", ("call_thanks_cannot",), (), channel="voice", proposed="谢谢，正在呼叫下一位。"),
        _kind("call.escalated", ("call_thanks_escalate",), (), channel="voice", proposed="正在呼叫下一级人员。"),
        _kind("text", (), ()),  # free text in `body`: Twilio and the console only (no provider approves it)
    ]
)


# The keys of an alert call and what the call says back (9 plays the alert again).
CALL_KEYS: Mapping[str, str] = {"1": "call.taken", "2": "call.passed", "5": "call.escalated"}
REPEAT_KEY = "9"


def kind_of(name: str) -> MessageKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown message kind {name!r}") from None


def render_text(kind: MessageKind, params: Mapping[str, str], language: str | None, public_url: str) -> str:
    """The full text of a message in `language`: what Twilio, the console and the message log show."""
    values = dict(params)
    if kind.link is not None:
        values["link"] = f"{public_url.rstrip('/')}{kind.link}{params[TOKEN]}"
    lang = language_of(language)
    tail = params.get(kind.tail, "") if kind.tail else ""

    def text(values: Mapping[str, str]) -> str:
        words = " ".join(gettext(TEMPLATES[name], lang).format(**values) for name in kind.texts)
        return f"{words} {tail}" if tail else words

    rendered = text(values)
    if kind.shrink is None:
        return rendered
    value = values[kind.shrink]
    while count_segments(rendered).segments > 2 and value:  # a critical text fits two segments
        value = value[:-1]
        rendered = text(values | {kind.shrink: value + "…"})
    return rendered
