"""A family contact's standing link to the family page of one resident."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from carecenter.fields import OptionalWholeNumber, WholeNumber, instant_field


class FamilyLink(SQLModel, table=True):
    """Read-only, one resident, one contact; expires unless renewed; the manager can revoke it."""

    __tablename__ = "family_link"

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    center_id: WholeNumber = Field(foreign_key="center.id")
    resident_id: WholeNumber = Field(foreign_key="resident.id", index=True, ondelete="CASCADE")
    contact_id: WholeNumber = Field(foreign_key="family_contact.id", index=True, ondelete="CASCADE")
    created_by: OptionalWholeNumber = Field(default=None, foreign_key="staff.id")
    created_at: datetime = instant_field()
    expires_at: datetime = instant_field()
    revoked_at: datetime | None = instant_field(default=None)
    last_viewed_at: datetime | None = instant_field(default=None)


class FamilyLinkPublic(SQLModel):
    id: WholeNumber
    resident_id: WholeNumber
    contact_id: WholeNumber
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_viewed_at: datetime | None


class WeChatBinding(SQLModel, table=True):
    """A scan waiting for the family member's confirmation (then the contact holds the openid)."""

    __tablename__ = "wechat_binding"

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    contact_id: WholeNumber = Field(foreign_key="family_contact.id", index=True, ondelete="CASCADE")
    openid: str = Field(max_length=64)
    created_at: datetime = instant_field()
    confirmed_at: datetime | None = instant_field(default=None)
