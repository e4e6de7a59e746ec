"""Login sessions (opaque bearer tokens) and failed login attempts."""

from datetime import datetime

from sqlmodel import Field, SQLModel

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


class LoginFailure(SQLModel, table=True):
    __tablename__ = "login_failure"

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, index=True)
    client_addr: str = Field(max_length=64, index=True)
    at: datetime = instant_field(index=True)


class Token(SQLModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_at: datetime
