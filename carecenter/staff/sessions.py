"""A staff member's login sessions (opaque bearer tokens): the staff service ends them when an
account is deactivated or its password changes; `auth` opens and checks them."""

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Field, Session, SQLModel, col

from carecenter.fields import OptionalWholeNumber, WholeNumber, instant_field


class AuthSession(SQLModel, table=True):
    __tablename__ = "auth_session"

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    staff_id: WholeNumber = Field(foreign_key="staff.id", index=True)
    created_at: datetime = instant_field()
    last_seen_at: datetime = instant_field()
    expires_at: datetime = instant_field(description="Absolute limit, whatever the activity")
    revoked_at: datetime | None = instant_field(default=None)
    client_addr: str | None = Field(default=None, max_length=64)


def revoke_all_sessions(*, session: Session, staff_id: int, now: datetime) -> None:
    """End every open session of a staff member (deactivated, or password changed)."""
    session.exec(
        update(AuthSession)
        .where(col(AuthSession.staff_id) == staff_id, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )
