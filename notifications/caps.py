"""What each provider lets one number receive, as data, and whether the next message would pass.

A domestic provider refuses what is over its cap (and a refused call still counts at Aliyun), so a
throttled number is found here, before it is asked, and the escalation moves on to the next person
instead of redialling. Numbers the provider exempted on the center's request (the on-duty phones)
are set in CARECENTER_CAP_ALLOWLIST and not counted.

Sources (the providers' defaults; an account may have asked for others):
- Aliyun voice notifications: 1 call a minute, 5 an hour, 20 in 24 hours per callee, failed calls
  included (https://help.aliyun.com/document_detail/2680293.html).
- Aliyun notification SMS: 50 a day per signature, template and number (SMS throttling rules).
- Tencent SMS: the same text once in 30 seconds, 10 a day per number (SMS FAQ, security).
- Tencent voice notifications: 1 in 30 seconds, 2 in 10 minutes, 3 a day per callee
  (https://cloud.tencent.com/document/product/1128/38004).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from notifications.models import MessageChannel, SmsMessage


@dataclass(frozen=True)
class Cap:
    limit: int
    window: timedelta
    per: str = "number"  # "number", "kind" (per template), or "text" (the same text)
    words: str = ""  # how the cap reads on the message log

    def describe(self, provider: str) -> str:
        return f"{provider} allows {self.words} to one number"


CAPS: dict[tuple[str, str], tuple[Cap, ...]] = {
    ("aliyun", MessageChannel.voice): (
        Cap(1, timedelta(minutes=1), words="1 call a minute"),
        Cap(5, timedelta(hours=1), words="5 calls an hour"),
        Cap(20, timedelta(hours=24), words="20 calls in 24 hours"),
    ),
    ("aliyun", MessageChannel.sms): (Cap(50, timedelta(hours=24), per="kind", words="50 SMS a day per template"),),
    ("tencent", MessageChannel.sms): (
        Cap(1, timedelta(seconds=30), per="text", words="the same SMS once in 30 seconds"),
        Cap(10, timedelta(hours=24), words="10 SMS a day"),
    ),
    ("tencent", MessageChannel.voice): (
        Cap(1, timedelta(seconds=30), words="1 call in 30 seconds"),
        Cap(2, timedelta(minutes=10), words="2 calls in 10 minutes"),
        Cap(3, timedelta(hours=24), words="3 calls a day"),
    ),
}

_OUTBOX = SmsMessage.__table__  # type: ignore[attr-defined]


def over_cap(
    connection: sa.Connection,
    *,
    provider: str,
    channel: str,
    to: str,
    kind: str,
    body: str,
    now: datetime,
    allowlist: Sequence[str] = (),
) -> str | None:
    """Why the provider would refuse one more message to `to` now (None: it would not)."""
    caps = CAPS.get((provider, channel), ())
    if not caps or to in allowlist:
        return None
    for cap in caps:
        counted = sa.select(sa.func.count()).where(
            _OUTBOX.c.provider == provider,
            _OUTBOX.c.channel == channel,
            _OUTBOX.c.to_phone == to,
            _OUTBOX.c.sent_at > now - cap.window,
        )
        if cap.per == "kind":
            counted = counted.where(_OUTBOX.c.kind == kind)
        elif cap.per == "text":
            counted = counted.where(_OUTBOX.c.body == body)
        if connection.execute(counted).scalar_one() >= cap.limit:
            return cap.describe(provider)
    return None
