"""Everything the messaging channel's web endpoints need, built once by the app that includes them.

`notifications` cannot import the app's own context (it is the layer below), so the channel is
bound to the app here, by the composition root, and read back by the webhooks' dependency.
"""

from dataclasses import dataclass

import sqlalchemy as sa
from fastapi import FastAPI, Request

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


def bind_channel(app: FastAPI, channel: SmsChannel) -> None:
    app.state.sms_channel = channel


def get_channel(request: Request) -> SmsChannel:
    channel: SmsChannel = request.app.state.sms_channel
    return channel
