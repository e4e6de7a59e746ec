"""Everything the SMS channel's web endpoints need, kept on `app.state.sms`."""

from dataclasses import dataclass

import sqlalchemy as sa
from fastapi import Request

from notifications.dispatcher import Dispatcher
from notifications.events import SmsEvents
from notifications.settings import SmsSettings


@dataclass
class SmsChannel:
    engine: sa.Engine
    settings: SmsSettings
    public_url: str
    link_secret: bytes
    dispatcher: Dispatcher
    events: SmsEvents


def get_channel(request: Request) -> SmsChannel:
    channel: SmsChannel = request.app.state.sms
    return channel
