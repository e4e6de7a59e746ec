"""Response links: a short signed token per alert and recipient, answered on a tiny mobile page.

They work where two-way SMS does not (mainland China numbers). A token is the link's row id and
an HMAC of it: it cannot be guessed, names exactly one alert and recipient, and expires.
"""

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from notifications.models import LinkRole, ResponseLink, ResponseLinkAnswer

_ID_BYTES = 6
_MAC_BYTES = 12


RESPONSE_LINK = b"response-link:"  # what a token is for: a token for one kind of link opens no other


def _mac(secret: bytes, raw_id: bytes, purpose: bytes) -> bytes:
    return hmac.new(secret, purpose + raw_id, hashlib.sha256).digest()[:_MAC_BYTES]


def sign_link_id(link_id: int, secret: bytes, purpose: bytes = RESPONSE_LINK) -> str:
    raw_id = link_id.to_bytes(_ID_BYTES, "big")
    return base64.urlsafe_b64encode(raw_id + _mac(secret, raw_id, purpose)).decode().rstrip("=")


def verify_link_token(token: str, secret: bytes, purpose: bytes = RESPONSE_LINK) -> int | None:
    """The link id a token names, or None if it was not signed by us (for this purpose)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) != _ID_BYTES + _MAC_BYTES:
        return None
    raw_id, mac = raw[:_ID_BYTES], raw[_ID_BYTES:]
    if not hmac.compare_digest(mac, _mac(secret, raw_id, purpose)):
        return None
    return int.from_bytes(raw_id, "big")


def response_link_values(
    *,
    alert_id: int,
    role: LinkRole,
    phone: str,
    language: str,
    now: datetime,
    valid_for: timedelta,
    recipient_ref: str | None = None,
) -> dict[str, Any]:
    """A new link's columns: for one INSERT of many (an alert's stage), or `ResponseLink(**…)`
    (its id, and so its token, exist once it is written)."""
    return {
        "alert_id": alert_id,
        "role": role,
        "phone": phone,
        "language": language,
        "recipient_ref": recipient_ref,
        "created_at": now,
        "expires_at": now + valid_for,
    }


def link_token(link: ResponseLink, secret: bytes) -> str:
    """The token of a response link; the page is at `/r/<token>`."""
    assert link.id is not None
    return sign_link_id(link.id, secret)


def link_url(public_url: str, link: ResponseLink, secret: bytes) -> str:
    return f"{public_url.rstrip('/')}/r/{link_token(link, secret)}"


def last_answer(session: Session, link: ResponseLink) -> str | None:
    """The latest answer given through this link, if any."""
    return session.exec(
        select(ResponseLinkAnswer.answer)
        .where(ResponseLinkAnswer.link_id == link.id)
        .order_by(col(ResponseLinkAnswer.id).desc())
    ).first()
