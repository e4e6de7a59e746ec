"""The home code: a QR code printed from the resident's page and kept in the home (on the door,
in the care folder). Scanned at check-in and check-out, it shows the worker was inside the home,
where GPS indoors or in a dense town may be far off.

The code holds the resident's id, the printing's number and an HMAC of both under the
deployment's secret, so a code cannot be made up, and printing again or revoking makes every
earlier copy stop verifying. It is short enough to type from under the picture where the
tablet's camera cannot read it.
"""

import base64
import hashlib
import hmac
import re
from datetime import datetime

from sqlmodel import Field, Session, SQLModel

from carecenter.access import Actor
from carecenter.audit.service import record_event
from carecenter.fields import WholeNumber
from carecenter.residents.models import Resident
from carecenter.residents.service import get_resident

PREFIX = "CCH1"
CODE = re.compile(rf"^{PREFIX}-(\d{{1,12}})-(\d{{1,6}})-([A-Z2-7]{{12}})$")


def _mac(key: bytes, resident_id: int, version: int) -> str:
    digest = hmac.new(key, f"home-code:{resident_id}:{version}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:12]


def home_code(key: bytes, resident: Resident) -> str | None:
    """The code printed last for the resident (None before the first printing or once revoked)."""
    if not resident.home_code_active or resident.id is None:
        return None
    return f"{PREFIX}-{resident.id}-{resident.home_code_version}-{_mac(key, resident.id, resident.home_code_version)}"


def verifies(key: bytes, code: str, resident: Resident) -> bool:
    """The code is this resident's current one (spaces and case forgiven: it may have been typed)."""
    match = CODE.match(re.sub(r"\s+", "", code).upper())
    if match is None or not resident.home_code_active or resident.id is None:
        return False
    resident_id, version, mac = int(match[1]), int(match[2]), match[3]
    if resident_id != resident.id or version != resident.home_code_version:
        return False
    return hmac.compare_digest(mac, _mac(key, resident_id, version))


class HomeCodePublic(SQLModel):
    resident_id: WholeNumber
    version: WholeNumber = Field(description="The printing: an older copy no longer verifies")
    code: str | None = Field(description="What the QR code holds (also printed under it to type); none when revoked")


def print_code(*, session: Session, actor: Actor, resident_id: int, key: bytes, now: datetime) -> HomeCodePublic:
    """A new printing of the resident's home code: every earlier copy stops verifying (audited)."""
    resident = get_resident(session=session, actor=actor, resident_id=resident_id)
    resident.home_code_version += 1
    resident.home_code_active = True
    return _changed(session, actor, resident, "resident.home_code.print", key, now)


def revoke_code(*, session: Session, actor: Actor, resident_id: int, key: bytes, now: datetime) -> HomeCodePublic:
    """The card was lost or taken: no copy verifies until it is printed again (audited)."""
    resident = get_resident(session=session, actor=actor, resident_id=resident_id)
    resident.home_code_active = False
    return _changed(session, actor, resident, "resident.home_code.revoke", key, now)


def current_code(*, session: Session, actor: Actor, resident_id: int, key: bytes) -> HomeCodePublic:
    return _public(key, get_resident(session=session, actor=actor, resident_id=resident_id))


def _public(key: bytes, resident: Resident) -> HomeCodePublic:
    return HomeCodePublic(
        resident_id=resident.id or 0, version=resident.home_code_version, code=home_code(key, resident)
    )


def _changed(
    session: Session, actor: Actor, resident: Resident, action: str, key: bytes, now: datetime
) -> HomeCodePublic:
    session.add(resident)
    record_event(
        session=session,
        actor=actor,
        action=action,
        entity_type="resident",
        entity_id=resident.id,
        center_id=resident.center_id,
        now=now,
        changed_fields=["home_code_version", "home_code_active"],
    )
    return _public(key, resident)
