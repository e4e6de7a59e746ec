"""The dependencies of the JSON API and the pages, in one place: the database session, the clock,
who is calling, and what the app was built with (its context, taken apart)."""

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from carecenter.access import Actor
from carecenter.auth.deps import current_actor
from carecenter.context import AppContext, context_of, get_context, get_session, get_settings
from carecenter.media.store import MediaStore
from carecenter.messaging.outbound import AlertMessaging
from carecenter.settings import Settings
from carecenter.visits.rules import VisitRules
from carecenter.visits.sync import Tablet
from carecommon.clock import get_now
from notifications.channel import SmsChannel, get_channel

ContextDep = Annotated[AppContext, Depends(get_context)]


def assessment_dir(request: Request) -> str | None:
    """The folder of extra assessment forms the app was started with (CARECENTER_ASSESSMENT_DIR)."""
    return context_of(request).settings.assessment_dir


def get_visit_rules(context: ContextDep) -> VisitRules:
    return context.visit_rules


def get_messaging(context: ContextDep) -> AlertMessaging:
    return context.alert_messaging


def get_media(context: ContextDep) -> MediaStore:
    return context.media


def get_tablet(context: ContextDep) -> Tablet:
    """What applying a tablet's actions needs from the app."""
    return Tablet(
        rules=context.visit_rules,
        messaging=context.alert_messaging,
        store=context.media,
        max_photo_bytes=context.settings.media.media_max_bytes,
    )


SessionDep = Annotated[Session, Depends(get_session)]
NowDep = Annotated[datetime, Depends(get_now)]
ActorDep = Annotated[Actor, Depends(current_actor)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
VisitRulesDep = Annotated[VisitRules, Depends(get_visit_rules)]
MessagingDep = Annotated[AlertMessaging, Depends(get_messaging)]
MediaDep = Annotated[MediaStore, Depends(get_media)]
ChannelDep = Annotated[SmsChannel, Depends(get_channel)]
TabletDep = Annotated[Tablet, Depends(get_tablet)]
